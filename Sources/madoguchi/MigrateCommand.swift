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
            "足りない段階を順に、それぞれ一つのトランザクションで適用します。もう一度実行しても何も変わりません。鍵の保管庫も作ります(--keystore か MADOGUCHI_KEYSTORE_URL を指定したとき、またはデータが既定の場所のときは既定の var/keys/keystore.sqlite)。\nApplies every missing step in order, each in a transaction; running it again changes nothing. Also makes the key store's schema (when --keystore or MADOGUCHI_KEYSTORE_URL is given, or at the default var/keys/keystore.sqlite when the data is at its default)."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var keyStore: KeyStoreOptions
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
        // The key store: named, or the default beside the default data; any other layout names its own.
        let given = keyStore.url ?? Environment.value("MADOGUCHI_KEYSTORE_URL")
        guard given != nil || location == .defaultSQLite else {
            Bilingual.say(
                "鍵の保管庫は指定されていないので作りませんでした(--keystore postgres://… で作れます。serve も起動時に作ります)",
                "no key store given, none made (make it with --keystore postgres://…; serve also makes it at start)"
            )
            return
        }
        let keyLocation = try keyStore.location()
        let keys = try await Database.using(keyLocation, logger: logger, createIfMissing: true) {
            try await Migrations.apply(to: $0, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
        }
        Bilingual.say(
            "\(keyLocation)(鍵の保管庫): スキーマの版は \(keys.current) です",
            "\(keyLocation) (key store): schema is at version \(keys.current)"
        )
    }
}
