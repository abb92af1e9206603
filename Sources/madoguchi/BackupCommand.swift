import ArgumentParser
import Foundation
import Logging
import MadoguchiCore
import MadoguchiServer

/// The path of a SQLite location, or a usage error naming the PostgreSQL procedure.
private func sqlitePath(_ location: DatabaseLocation, option: String) throws -> String {
    guard case let .sqlite(path) = location else {
        throw Bilingual.refusal(
            "\(option): PostgreSQL は pg_dump と pg_restore で扱ってください(docs/operations.md の「バックアップ」)",
            "\(option): use pg_dump and pg_restore for PostgreSQL (docs/operations.md, \"Backups\")"
        )
    }
    return path
}

/// Runs a backup or restore step; a refusal (a damaged backup, another master key) is said and ends with exit 1.
private func refusing<R>(_ body: () async throws -> R) async throws -> R {
    do {
        return try await body()
    } catch let refusal as SQLiteBackup.Refusal {
        Bilingual.warn("madoguchi: \(refusal.ja)", "madoguchi: \(refusal.en)")
        throw ExitCode(ExitStatus.finding)
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "データ(SQLite)の一貫したコピーを取ります。 / Take a consistent copy of the data (SQLite).",
        discussion:
            "サーバーを動かしたまま取れます。DIR に madoguchi-日時.sqlite を作り(所有者だけが読める)、そのパスを出します。鍵の保管庫は入りません(madoguchi keys backup で別に、短い保存期間で)。PostgreSQL は pg_dump で。\nSafe while the server runs. Writes DIR/madoguchi-STAMP.sqlite (readable by its owner only) and prints its path. The key store is not in it (madoguchi keys backup, on its own shorter schedule). PostgreSQL: pg_dump."
    )

    @Argument(help: "バックアップを置くフォルダー。\nThe folder for the backup.")
    var directory: String

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let location = try database.location()
        _ = try sqlitePath(location, option: "--database")
        let logger = try logging.makeLogger(label: "madoguchi.backup")
        let path = try await refusing {
            try await Database.using(location, logger: logger) { try await SQLiteBackup.write($0, into: directory, prefix: "madoguchi") }
        }
        print(path)
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "データをバックアップから戻します(サーバーを止めて)。 / Restore the data from a backup (with the server stopped).",
        discussion:
            "バックアップが壊れていないこと、このマスター鍵の下で作られたこと(監査ログで確かめます)、鍵の保管庫にその人たちの鍵があることを確かめてから入れ替えます。今のファイルは FILE.before-restore-日時 として残します。バックアップの後で消去された人(鍵がもうない人)は、もう一度消去します。戻した後、スキーマは新しくします。\nChecks that the backup is whole, was made under this master key (its audit log verifies) and that the key store holds its people's keys, then puts it in place. The current file is kept as FILE.before-restore-STAMP. Everyone erased after the backup was made (whose key is gone) is erased again. The schema is brought up to date."
    )

    @Argument(help: "madoguchi backup が作ったファイル。\nA file made by madoguchi backup.")
    var file: String

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var keyStore: KeyStoreOptions
    @OptionGroup var keys: KeyOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let target = try sqlitePath(try database.location(), option: "--database")
        let logger = try logging.makeLogger(label: "madoguchi.restore")
        let ring = try keys.ring(logger: logger)
        // No server may run on the file while it is replaced.
        let lock = try ServerLock.acquire(databasePath: target)
        let restored = try await refusing {
            try await Database.using(try keyStore.location(), logger: logger) { keyStore in
                try await SQLiteBackup.restoreData(from: file, to: target, keyStore: keyStore, ring: ring, logger: logger)
            }
        }
        withExtendedLifetime(lock) {}
        Bilingual.say("\(file) を \(target) に戻しました", "restored \(file) to \(target)")
        if let kept = restored.kept { Bilingual.say("それまでのファイル: \(kept)", "the previous file: \(kept)") }
        Bilingual.say(
            "バックアップの後で消去された \(restored.erasedAgain) 人を、もう一度消去しました",
            "erased again \(restored.erasedAgain) people erased after the backup was made"
        )
    }
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "鍵の保管庫を扱います。 / Work with the key store.",
        subcommands: [Backup.self, Restore.self]
    )

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "鍵の保管庫(SQLite)の一貫したコピーを取ります。 / Take a consistent copy of the key store (SQLite).",
            discussion:
                "サーバーを動かしたまま取れます。DIR に keystore-日時.sqlite を作り、そのパスを出します。このコピーは、その後で消去された人の鍵を持ち続けます: 短い期間だけ残し(例: 7 日)、データのバックアップとは別の場所に置いてください。\nSafe while the server runs. Writes DIR/keystore-STAMP.sqlite and prints its path. The copy keeps the keys of people erased after it was made: keep it briefly (say 7 days), apart from the data backups."
        )

        @Argument(help: "バックアップを置くフォルダー。\nThe folder for the backup.")
        var directory: String

        @OptionGroup var keyStore: KeyStoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let location = try keyStore.location()
            _ = try sqlitePath(location, option: "--keystore")
            let logger = try logging.makeLogger(label: "madoguchi.keys")
            let path = try await refusing {
                try await Database.using(location, logger: logger) { try await SQLiteBackup.write($0, into: directory, prefix: "keystore") }
            }
            print(path)
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "鍵の保管庫をバックアップから戻します(サーバーを止めて)。 / Restore the key store from a backup (with the server stopped).",
            discussion:
                "バックアップの鍵をこのマスター鍵で開けることを確かめてから入れ替え(今のファイルは FILE.before-restore-日時 として残します)、今のデータが参照しない鍵(バックアップの後で消去された人の鍵など)をもう一度破棄します。\nChecks that this master key opens the backup's keys, puts it in place (the current file is kept as FILE.before-restore-STAMP), then destroys again every key the current data no longer refers to (the keys of people erased after the backup was made, among others)."
        )

        @Argument(help: "madoguchi keys backup が作ったファイル。\nA file made by madoguchi keys backup.")
        var file: String

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keyStore: KeyStoreOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let target = try sqlitePath(try keyStore.location(), option: "--keystore")
            let logger = try logging.makeLogger(label: "madoguchi.keys")
            let ring = try keys.ring(logger: logger)
            let lock = try ServerLock.acquire(databasePath: target)
            let restored = try await refusing {
                try await Database.using(try database.location(), logger: logger) { data in
                    try await Migrations.refusePending(in: data)
                    return try await SQLiteBackup.restoreKeys(from: file, to: target, data: data, ring: ring, logger: logger)
                }
            }
            withExtendedLifetime(lock) {}
            Bilingual.say("\(file) を \(target) に戻しました", "restored \(file) to \(target)")
            if let kept = restored.kept { Bilingual.say("それまでのファイル: \(kept)", "the previous file: \(kept)") }
            Bilingual.say(
                "今のデータが参照しない鍵 \(restored.keysDestroyed) 件を、もう一度破棄しました",
                "destroyed again \(restored.keysDestroyed) keys the current data no longer refers to"
            )
        }
    }
}
