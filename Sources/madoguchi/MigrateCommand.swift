import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import MadoguchiServer
import Synchronization

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "データベースのスキーマを作る・更新します。 / Create or update the database schema.",
        discussion:
            "足りない段階を順に、それぞれ一つのトランザクションで適用します。もう一度実行しても何も変わりません。\nApplies every missing step in order, each in a transaction; running it again changes nothing."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let location = try database.location()
        let logger = try logging.makeLogger(label: "madoguchi.migrate")
        let report = try await Database.using(location, logger: logger, createIfMissing: true) { try await Migrations.apply(to: $0) }
        let steps = report.applied.map(String.init).joined(separator: ", ")
        if report.applied.isEmpty {
            Bilingual.say("\(location): スキーマは最新です(版 \(report.current))", "\(location): schema is up to date (version \(report.current))")
        } else {
            Bilingual.say(
                "\(location): \(steps) を適用しました。スキーマの版は \(report.current) です",
                "\(location): applied \(steps); schema is at version \(report.current)"
            )
        }
    }
}
