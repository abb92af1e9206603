import ArgumentParser
import Foundation
import MadoguchiCore

/// `madoguchi requests`: the request queue for operators and cron (R-DSR-3).
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "個人データについての請求を扱います。 / Work with requests about personal data.",
        subcommands: [Due.self]
    )

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "期限切れか今日が期限の未完了の請求を、急ぐものから挙げます。 / List open requests that are overdue or due today, the most urgent first.",
            discussion:
                "1 件 1 行: 期限、overdue|due-today|on-time、番号、種類、受付から 14 日を過ぎたものは past-14-days:日付(個人情報保護法第39条)。--check を付けると、期限切れか 14 日を過ぎたものが一つでもあれば終了コード 1(cron や監視用)。\nOne line each: due date, overdue|due-today|on-time, number, type, and past-14-days:DATE for one open more than two weeks after receipt (APPI Art. 39). With --check, exits 1 when any request is overdue or past the two weeks (for cron and monitoring)."
        )

        @Option(help: "この日の時点で数えます(YYYY-MM-DD)。既定: 日本時間の今日\nCount as of this day (YYYY-MM-DD). Default: today in Japan")
        var today: String?

        @Flag(help: "期限切れか受付から 14 日を過ぎた請求があれば終了コード 2 で終わります。\nExit 2 when any request is overdue or past two weeks from receipt.")
        var check = false

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let day: LocalDate
            if let today {
                guard let parsed = LocalDate(iso: today) else {
                    throw Bilingual.refusal(
                        "--today: '\(today)' は日付ではありません。YYYY-MM-DD の形で書いてください",
                        "--today: '\(today)' is not a date; write YYYY-MM-DD"
                    )
                }
                day = parsed
            } else {
                day = LocalDate(japanAt: Date())
            }
            let queue = try await Database.using(try database.location(), logger: try logging.makeLogger(label: "madoguchi.requests")) {
                try await RightsRequestDesk.queue(in: $0)
            }
            let urgent = queue.filter { [.overdue, .dueToday].contains($0.urgency(on: day)) || $0.pastLegalMarker(on: day) }
            if urgent.isEmpty {
                Bilingual.say("\(day) に期限切れ・期限当日の請求はありません", "no requests overdue or due on \(day)")
            }
            for entry in urgent {
                // Past the two weeks from receipt (APPI Art. 39) is said on the line, with the day it passed.
                let marker = entry.pastLegalMarker(on: day) ? " past-14-days:\(entry.legalMarker.map(\.description) ?? "-")" : ""
                print("\(entry.due.map(\.description) ?? "-") \(entry.urgency(on: day).rawValue) \(entry.number) \(entry.type.rawValue)\(marker)")
            }
            if check && urgent.contains(where: { $0.urgency(on: day) == .overdue || $0.pastLegalMarker(on: day) }) {
                throw ExitCode(ExitStatus.finding)
            }
        }
    }
}
