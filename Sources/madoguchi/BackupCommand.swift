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
        let path = try await Database.using(location, logger: logger) { try await SQLiteBackup.write($0, into: directory, prefix: "madoguchi") }
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
        let restored = try await Database.using(try keyStore.location(), logger: logger) { keyStore in
            try await SQLiteBackup.restoreData(from: file, to: target, keyStore: keyStore, ring: ring, logger: logger)
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
        subcommands: [Backup.self, Restore.self, Add.self, Rotate.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "鍵ファイルに新しいマスター鍵を加えます(鍵の交換の 1 段目)。 / Add a new master key to the key file (rotation, step 1).",
            discussion:
                "新しい行を鍵ファイルの末尾に加えます(0600、書き換えは一度に)。古い行は残ります。次に、動いているサーバーを 1 台ずつ再起動して新しい鍵を読ませ(新しく来た人の鍵はそれで包まれます)、madoguchi keys rotate で古い鍵で包まれた本人の鍵を包み直します。鍵ファイルはこの後もう一度バックアップしてください。\nAppends a new line to the key file (0600, replaced at once); the old lines stay. Then restart the running servers one at a time so that they read it (new people's keys are wrapped by it), and run madoguchi keys rotate to re-wrap the person keys wrapped by older lines. Back the key file up again afterwards."
        )

        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "madoguchi.keys")
            guard Environment.value("MADOGUCHI_MASTER_KEY") == nil else {
                throw StoreUnavailable(
                    ja:
                        "マスター鍵が MADOGUCHI_MASTER_KEY で渡されています。鍵ファイルに加えることはできません: 新しい鍵を作り(openssl rand -base64 32)、その変数の渡し方(秘密の管理)の側で改行で区切って末尾に加えてください",
                    en:
                        "the master key comes from MADOGUCHI_MASTER_KEY, not a file this command can add to: make a key (openssl rand -base64 32) and append it, on its own line, where that variable is kept"
                )
            }
            let path = keys.path
            let before = try keys.ring(logger: logger)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let line = KeyRing.generateKeyLine()
            let updated = (text.hasSuffix("\n") || text.isEmpty ? text : text + "\n") + line + "\n"
            let ring = try KeyRing(fileText: updated)
            // Written beside the file and renamed over it: the key file is whole at every moment.
            let temporary = path + ".adding"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(updated.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw StoreUnavailable(ja: "\(temporary) を書けません", en: "cannot write \(temporary)")
            }
            let descriptor = open(temporary, O_RDONLY)
            if descriptor >= 0 {
                _ = fsync(descriptor)
                close(descriptor)
            }
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: temporary)
                throw StoreUnavailable(ja: "\(path) を置き換えられません(\(reason))", en: "cannot replace \(path): \(reason)")
            }
            Bilingual.say(
                "新しいマスター鍵 \(ring.current.id) を \(path) に加えました(鍵 \(before.masterKeys.count) → \(ring.masterKeys.count) 行)。サーバーを 1 台ずつ再起動してから madoguchi keys rotate を実行してください。鍵ファイルをもう一度バックアップしてください",
                "added master key \(ring.current.id) to \(path) (\(before.masterKeys.count) → \(ring.masterKeys.count) lines); restart the servers one at a time, then run madoguchi keys rotate; back the key file up again"
            )
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "本人の鍵を今のマスター鍵で包み直します(鍵の交換の 2 段目)。 / Re-wrap the person keys with the current master key (rotation, step 2).",
            discussion:
                "サーバーを止めずに実行できます。500 件ずつ、それぞれ一つのトランザクションで包み直すので、途中で止まっても、もう一度実行すれば続きから進みます。動いているサーバーのどれかが新しい鍵をまだ読んでいなければ、何もせずに終了コード 1(再起動してから、もう一度)。最後に、どの本人の鍵も包んでいない古い行を示します。\nRuns while the servers run. Re-wraps 500 keys at a time, each batch in its own transaction: when it stops midway, running it again goes on. When a running server has not read the new key yet, it does nothing and exits 1 (restart it, then run this again). At the end it names the old lines that no person key uses any more."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keyStore: KeyStoreOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "madoguchi.keys")
            let ring = try keys.ring(logger: logger)
            let current = ring.current
            let outcome = try await Database.using(try database.location(), logger: logger) { data in
                try await Migrations.refusePending(in: data)
                let lacking = try await KeyRotation.holdersLacking(current.id, in: data)
                guard lacking == 0 else {
                    throw KeyRotation.Refusal(
                        ja: "動いているサーバー \(lacking) 台が新しいマスター鍵 \(current.id) をまだ読んでいません。再起動してから(1 分ほどで反映されます)、もう一度実行してください",
                        en:
                            "\(lacking) running server(s) have not read the new master key \(current.id) yet; restart them, wait a minute, and run this again"
                    )
                }
                data.useAuditKey(ring.auditKey)
                return try await Database.using(try keyStore.location(), logger: logger) { keyStore in
                    let count = try await KeyRotation.rewrap(keyStore, ring: ring)
                    try await data.transaction { db in
                        try await AuditLog.append(
                            AuditEvent(actor: "cli", action: "keys.rotate", detail: "master-key=\(current.id) rewrapped=\(count)"),
                            in: db,
                            kind: data.kind
                        )
                    }
                    return (count: count, usage: try await KeyRotation.usage(of: keyStore))
                }
            }
            Bilingual.say(
                "本人の鍵 \(outcome.count) 件をマスター鍵 \(current.id) で包み直しました",
                "re-wrapped \(outcome.count) person keys with master key \(current.id)"
            )
            for (index, master) in ring.masterKeys.enumerated() where master.id != current.id {
                let used = outcome.usage[master.id] ?? 0
                let role = index == 0 ? "(1 行目: 派生鍵の元なので残します)" : used == 0 ? "(もう使われていません: 鍵ファイルから消せます)" : ""
                let roleEn =
                    index == 0
                    ? " (line 1: the root of the derived keys, it stays)" : used == 0 ? " (no longer used: it can be removed from the key file)" : ""
                Bilingual.say(
                    "\(index + 1) 行目のマスター鍵 \(master.id): 本人の鍵 \(used) 件\(role)",
                    "line \(index + 1), master key \(master.id): \(used) person keys\(roleEn)"
                )
            }
        }
    }

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
            let path = try await Database.using(location, logger: logger) { try await SQLiteBackup.write($0, into: directory, prefix: "keystore") }
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
            let restored = try await Database.using(try database.location(), logger: logger) { data in
                try await Migrations.refusePending(in: data)
                return try await SQLiteBackup.restoreKeys(from: file, to: target, data: data, ring: ring, logger: logger)
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

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract:
            "データと鍵の保管庫を、コピーから戻した後にそろえ直します(サーバーを止めて)。 / Bring the data and the key store back in step after either was restored from a copy (with the servers stopped).",
        discussion:
            "pg_restore・スナップショット・ポイントインタイムリカバリなど、madoguchi restore 以外の方法で戻した後に使います。鍵がもうない人(コピーの後で消去された人)をもう一度消去し、データが参照しない鍵(コピーの後で消去された人の鍵)をもう一度破棄します。鍵の保管庫にデータの人たちの鍵が一つもないとき(組み合わせの誤り)と、サーバーが動いているときは、何も変えずに断ります。--dry-run は数を出すだけで、そろえる必要があれば終了コード 1 です。\nUse it after restoring by any means other than madoguchi restore: pg_restore, a snapshot, point-in-time recovery. Everyone whose key is gone (erased after the copy was made) is erased again, and every key the data no longer refers to (the keys of people erased after the copy) is destroyed again. It refuses, changing nothing, when the key store holds none of the data's people's keys (the wrong pair) and while a server is running. --dry-run only counts, and exits 1 when something is out of step."
    )

    @Flag(name: .customLong("dry-run"), help: "数えるだけで、何も変えません。\nOnly count; change nothing.")
    var dryRun = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var keyStore: KeyStoreOptions
    @OptionGroup var keys: KeyOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "madoguchi.reconcile")
        let ring = try keys.ring(logger: logger)
        let dataLocation = try database.location()
        let keyLocation = try keyStore.location()
        // SQLite: the same lock `serve` takes; PostgreSQL: the servers' own announcements (below).
        var locks: [ServerLock] = []
        for case let .sqlite(path) in [dataLocation, keyLocation] where !dryRun { locks.append(try ServerLock.acquire(databasePath: path)) }
        let dryRun = dryRun
        let plan = try await Database.using(dataLocation, logger: logger) { data in
            data.useAuditKey(ring.auditKey)
            try await Migrations.refusePending(in: data)
            return try await Database.using(keyLocation, logger: logger) { keyStore in
                try await Migrations.refusePending(in: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
                let store = SubjectKeyStore(database: keyStore, ring: ring, poolSize: 0)
                try await Reconciliation.checkBelongTogether(data: data, keys: store)
                if !dryRun { try await Reconciliation.refuseWhileServing(data: data) }
                let plan = try await Reconciliation.plan(data: data, keys: store)
                if !dryRun {
                    try await Reconciliation.apply(plan, data: data, keys: store, actor: "reconcile", action: "store.reconcile", detail: "")
                }
                return plan
            }
        }
        withExtendedLifetime(locks) {}
        if dryRun {
            Bilingual.say(
                "鍵がもうない人: \(plan.keyless.count) 人、データが参照しない鍵: \(plan.unreferenced.count) 件(何も変えていません)",
                "people whose key is gone: \(plan.keyless.count); keys nothing refers to: \(plan.unreferenced.count) (nothing changed)"
            )
            if !plan.isEmpty { throw ExitCode(ExitStatus.finding) }
            return
        }
        Bilingual.say(
            "鍵がもうない \(plan.keyless.count) 人をもう一度消去し、データが参照しない鍵 \(plan.unreferenced.count) 件をもう一度破棄しました",
            "erased again \(plan.keyless.count) people whose key was gone; destroyed again \(plan.unreferenced.count) keys nothing refers to"
        )
    }
}
