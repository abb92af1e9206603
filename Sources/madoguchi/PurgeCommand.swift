import ArgumentParser
import Foundation
import MadoguchiCore
import MadoguchiServer

/// `madoguchi purge`: erases the people no purpose needs any more (R-RET-1); `--dry-run` only lists them.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract:
            "保存期間の過ぎた方(どの利用目的にももう必要のない方)を消去します。 / Erase the people whose data no purpose needs any more.",
        discussion:
            "1 人 1 行: 本人 ID、最後のお問い合わせ、保存期間の終わり。消去は請求による消去と同じ手順です(鍵の破棄、監査記録)。サーバーも 1 時間ごとに同じことをします。\nOne line each: subject id, last inquiry, end of retention. Erasure takes the same path as an erasure request (keys destroyed, audited). The server does the same every hour."
    )

    @Flag(name: .customLong("dry-run"), help: "消去せず、対象を挙げるだけにします。\nList who would go, erase nothing.")
    var dryRun = false

    @Option(
        help:
            "ポリシーファイル(保存期間)。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file (its retention). Env: MADOGUCHI_POLICY. Default: examples/policy.yaml"
    )
    var policy: String?

    @OptionGroup var keyStore: KeyStoreOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var keys: KeyOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let loaded = try loadPolicy(policy)
        let logger = try logging.makeLogger(label: "madoguchi.purge")
        if dryRun {
            // Listing needs no key.
            let people = try await Database.using(try database.location(), logger: logger) {
                try await RetentionPurge.expired(policy: loaded, in: $0)
            }
            report(people, erased: false)
            return
        }
        let keyStoreLocation = try keyStore.location()
        // A missing or unreadable key file ends the command with exit 3 (`MadoguchiCommand.status(reporting:)`).
        let ring = try keys.ring(logger: logger)
        let (people, erased): ([RetentionPurge.Expired], Bool) = try await Database.using(try database.location(), logger: logger) { data in
            data.useAuditKey(ring.auditKey)
            return try await Database.using(keyStoreLocation, logger: logger) { keyStore in
                let purge = RetentionPurge(vault: InquiryVault(database: data, keys: SubjectKeyStore(database: keyStore, ring: ring)))
                guard let done = try await purge.run(policy: loaded, holder: "cli-\(UUID().uuidString)") else {
                    throw Bilingual.refusal("別のサーバーが消去を実行中です。しばらくしてからもう一度どうぞ", "another server is purging now; try again later")
                }
                return (done, true)
            }
        }
        report(people, erased: erased)
    }

    private func report(_ people: [RetentionPurge.Expired], erased: Bool) {
        for person in people {
            print("\(person.subjectID) \(person.lastInquiry.formatted(.iso8601)) \(person.neededUntil.formatted(.iso8601))")
        }
        if erased {
            Bilingual.say("\(people.count) 人を消去しました", "erased \(people.count) people")
        } else if people.isEmpty {
            Bilingual.say("保存期間の過ぎた方はいません", "nobody is past retention")
        }
    }
}
