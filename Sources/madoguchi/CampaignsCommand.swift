import ArgumentParser
import Foundation
import MadoguchiCore

struct CampaignsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaigns",
        abstract: "配信(メールマガジン・お知らせ)の状況を示します。 / Show how campaigns are going.",
        subcommands: [Status.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "配信ごとの状態と、送信・対象外・待ち・失敗の数。 / Each campaign's state with sent, skipped, waiting and failed counts.",
            discussion:
                "ID を挙げるとその配信だけを示します。一行に: ID 状態 送信 対象外 待ち 件名。\nWith an ID, that campaign only. One a line: ID STATUS SENT SKIPPED WAITING SUBJECT."
        )

        @Argument(help: "配信の ID(省略するとすべて)。\nA campaign id (all when left out).")
        var id: String?

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let lines = try await Database.using(try database.location(), logger: try logging.makeLogger(label: "madoguchi.campaigns")) { db in
                let campaigns: [Campaign]
                if let id {
                    guard let campaign = try await CampaignDesk.campaign(id: id, in: db) else {
                        throw Bilingual.refusal("配信 '\(id)' はありません", "there is no campaign '\(id)'")
                    }
                    campaigns = [campaign]
                } else {
                    campaigns = try await CampaignDesk.list(in: db)
                }
                var lines: [String] = []
                for campaign in campaigns {
                    let progress = try await CampaignDesk.progress(id: campaign.id, in: db)
                    lines.append(
                        "\(campaign.id) \(campaign.status.rawValue) \(progress.sent) \(progress.skipped) \(progress.queued) \(progress.failed) \(campaign.subject)"
                    )
                }
                return lines
            }
            if lines.isEmpty { Bilingual.say("配信はまだありません", "no campaigns yet") }
            for line in lines { print(line) }
        }
    }
}
