import Crypto
import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Backup and restore (#21)", .serialized)
struct BackupCommandTests {
    /// The stores of one installation in a folder, as `serve` lays them out, with the master key in the environment.
    struct Installation {
        let folder: URL
        let keyLine = KeyRing.generateKeyLine()
        var dataPath: String { folder.appendingPathComponent("var/madoguchi.sqlite").path }
        var keyStorePath: String { folder.appendingPathComponent("var/keys/keystore.sqlite").path }
        var environment: [String: String] {
            ["MADOGUCHI_MASTER_KEY": keyLine, "MADOGUCHI_DATABASE_URL": "sqlite:" + dataPath, "MADOGUCHI_KEYSTORE_URL": "sqlite:" + keyStorePath]
        }
        var ring: KeyRing { get throws { try KeyRing(fileText: keyLine) } }

        /// Runs `body` with the vault open on the stores (closed afterwards, as a stopped server leaves them).
        func withVault<R: Sendable>(_ body: (InquiryVault, Policy) async throws -> R) async throws -> R {
            let logger = Logger(label: "test")
            let data = try await Database.open(.sqlite(path: dataPath), logger: logger)
            let keyStore = try await Database.open(.sqlite(path: keyStorePath), logger: logger)
            do {
                try await Migrations.apply(to: data)
                try await Migrations.apply(to: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
                data.useAuditKey(try ring.auditKey)
                let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
                let result = try await body(
                    InquiryVault(database: data, keys: SubjectKeyStore(database: keyStore, ring: try ring, poolSize: 0)),
                    policy
                )
                await data.close()
                await keyStore.close()
                return result
            } catch {
                await data.close()
                await keyStore.close()
                throw error
            }
        }

        func submit(_ email: String, name: String) async throws -> InquiryReceipt {
            try await withVault { vault, policy in
                let submission = InquirySubmission(
                    serviceID: "agent",
                    values: ["name": name, "email": email, "topic": "service", "message": "転職の相談をしたいです。"],
                    consentToOptionalPurposes: false
                )
                guard case let .success(valid) = policy.validate(submission) else { throw TestDatabaseError("invalid submission") }
                return try await vault.submit(valid, policy: policy)
            }
        }

        /// The person's name, opened with their key; nil when they or their key are gone.
        func name(of receipt: InquiryReceipt) async throws -> String? {
            try await withVault { vault, _ -> String? in
                guard let key = try await vault.keys.key(subjectID: receipt.subjectID) else { return nil }
                let sealed = try await vault.database.read { db in
                    try await db.raw("SELECT sealed FROM inquiry_fields WHERE inquiry_id = \(bind: receipt.id) AND field_id = 'name'").first(
                        decodingColumn: "sealed",
                        as: Data.self
                    )
                }
                return try sealed.map { try SealedField.open($0, key: key, context: "inquiry/\(receipt.id)/name", for: .personalAccess) }
            }
        }

        func count(_ sql: String) async throws -> Int {
            try await withVault { vault, _ in
                try await vault.database.read { db in try await db.raw(SQLQueryString(sql)).first(decodingColumn: "n", as: Int.self) ?? -1 }
            }
        }
    }

    @Test(
        "#21, R-DSR-5: the restore drill — back up, erase a person, restore: the erased person stays erased, everyone else is whole; a copy without its master key or keys is refused; a key-store restore destroys the keys erased since"
    )
    func drill() async throws {
        let site = Installation(folder: try Fixtures.temporaryDirectory())
        let taro = try await site.submit("taro@example.jp", name: "山田 太郎")
        let hanako = try await site.submit("hanako@example.jp", name: "佐藤 花子")
        let backups = site.folder.appendingPathComponent("backups").path

        let backup = try await Command.run(["backup", backups], environment: site.environment)
        #expect(backup.status == 0, "\(backup.stderr)")
        let dataCopy = backup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(dataCopy.hasPrefix(backups + "/madoguchi-") && dataCopy.hasSuffix(".sqlite"))
        #expect((try FileManager.default.attributesOfItem(atPath: dataCopy)[.posixPermissions] as? Int) == 0o600, "owner only")
        let keysBackup = try await Command.run(["keys", "backup", backups], environment: site.environment)
        #expect(keysBackup.status == 0, "\(keysBackup.stderr)")
        let keyCopy = keysBackup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // Taro is erased after the backups were made.
        _ = try await site.withVault { vault, _ in
            try await SubjectRights(vault: vault).erase(subjectID: taro.subjectID, actor: "test", source: "request")
        }
        #expect(try await site.name(of: taro) == nil)

        // A copy restored under another master key is refused, and nothing changes.
        let stranger = try await Command.run(
            ["restore", dataCopy],
            environment: site.environment.merging(["MADOGUCHI_MASTER_KEY": KeyRing.generateKeyLine()]) { $1 }
        )
        #expect(stranger.status == 1 && stranger.stderr.contains("does not verify with this master key"), "\(stranger.stderr)")
        // A key store that holds none of its people's keys is refused too.
        let otherKeys = site.folder.appendingPathComponent("other-keystore.sqlite").path
        let empty = try await Database.open(.sqlite(path: otherKeys), logger: Logger(label: "test"))
        try await Migrations.apply(to: empty, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
        await empty.close()
        let mismatched = try await Command.run(["restore", dataCopy, "--keystore", "sqlite:" + otherKeys], environment: site.environment)
        #expect(mismatched.status == 1 && mismatched.stderr.contains("holds none of the keys"), "\(mismatched.stderr)")
        #expect(try await site.count("SELECT COUNT(*) AS n FROM subjects") == 1, "nothing changed by a refusal")
        let damaged = site.folder.appendingPathComponent("damaged.sqlite").path
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: damaged))
        #expect(try await Command.run(["restore", damaged], environment: site.environment).status != 0)

        // The restore: Taro's rows came back with the backup, unreadable, and are erased again; Hanako is whole.
        let restored = try await Command.run(["restore", dataCopy], environment: site.environment)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("erased again 1 people erased after the backup was made"), "\(restored.stdout)")
        #expect(try await site.name(of: hanako) == "佐藤 花子")
        #expect(try await site.name(of: taro) == nil)
        #expect(try await site.count("SELECT COUNT(*) AS n FROM subjects WHERE id = '\(taro.subjectID)'") == 0)
        #expect(try await site.count("SELECT COUNT(*) AS n FROM inquiries WHERE subject_id = '\(taro.subjectID)'") == 0)
        #expect(try await site.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'backup.restore'") == 1)
        let kept = try FileManager.default.contentsOfDirectory(atPath: site.folder.appendingPathComponent("var").path)
            .filter { $0.hasPrefix("madoguchi.sqlite.before-restore-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
        #expect(kept.count == 1, "the previous file is kept: \(kept)")
        let verified = try await Command.run(["audit", "verify"], environment: site.environment)
        #expect(verified.status == 0, "\(verified.stderr)")

        // The key-store backup still holds Taro's key: restoring it destroys that key again.
        let keysRestored = try await Command.run(["keys", "restore", keyCopy], environment: site.environment)
        #expect(keysRestored.status == 0, "\(keysRestored.stderr)")
        #expect(keysRestored.stdout.contains("destroyed again 1 keys"), "\(keysRestored.stdout)")
        #expect(try await site.name(of: hanako) == "佐藤 花子")
        let keyRows = try await site.withVault { vault, _ in
            try await vault.keys.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM subject_keys WHERE subject_id = \(bind: taro.subjectID)").first(
                    decodingColumn: "n",
                    as: Int.self
                )
            }
        }
        #expect(keyRows == 0)

        // PostgreSQL has its own tools; a server on the file stops a restore (the lock).
        let serving = try ServerLock.acquire(databasePath: site.dataPath)
        let whileServing = try await Command.run(["restore", dataCopy], environment: site.environment)
        #expect(whileServing.status == 3 && whileServing.stderr.contains("another madoguchi serve"), "\(whileServing.stderr)")
        withExtendedLifetime(serving) {}
        let postgres = try await Command.run(["backup", backups, "--database", "postgres://u:p@127.0.0.1:1/x"])
        #expect(postgres.status == 2 && postgres.stderr.contains("pg_dump"), "\(postgres.stderr)")
    }
}

extension BackupCommandTests {
    @Test(
        "#21, R-DSR-5: reconcile after a restore by other means (pg_restore, snapshots): the people whose key is gone are erased again, keys nothing refers to destroyed again; refused for the wrong pair, while serving, on an unmigrated store; --dry-run counts (exit 1)",
        arguments: TestDatabase.available
    )
    func reconcile(_ kind: TestDatabase) async throws {
        let dataStore = try await kind.makeLocation()
        let keyStore = try await kind.makeLocation()
        let environment = [
            "MADOGUCHI_MASTER_KEY": KeyRing.generateKeyLine(), "MADOGUCHI_DATABASE_URL": dataStore.url, "MADOGUCHI_KEYSTORE_URL": keyStore.url,
        ]
        let unmigrated = try await Command.run(["reconcile"], environment: environment)
        // SQLite: no file yet (never made by this command); PostgreSQL: an empty schema.
        #expect(
            unmigrated.status == 3 && (unmigrated.stderr.contains("run madoguchi migrate first") || unmigrated.stderr.contains("does not exist")),
            "\(unmigrated.stderr)"
        )
        #expect(try await Command.run(["migrate"], environment: environment).status == 0)

        let ring = try KeyRing(fileText: try #require(environment["MADOGUCHI_MASTER_KEY"]))
        let logger = Logger(label: "test")
        let data = try await Database.open(dataStore.location, logger: logger)
        let keys = try await Database.open(keyStore.location, logger: logger)
        data.useAuditKey(ring.auditKey)
        let vault = InquiryVault(database: data, keys: SubjectKeyStore(database: keys, ring: ring, poolSize: 0))
        let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
        func submit(_ email: String, _ name: String) async throws -> InquiryReceipt {
            let submission = InquirySubmission(
                serviceID: "agent",
                values: ["name": name, "email": email, "topic": "service", "message": "転職の相談をしたいです。"],
                consentToOptionalPurposes: false
            )
            guard case let .success(valid) = policy.validate(submission) else { throw TestDatabaseError("invalid submission") }
            return try await vault.submit(valid, policy: policy)
        }
        let taro = try await submit("taro@example.jp", "山田 太郎")
        let jiro = try await submit("jiro@example.jp", "鈴木 次郎")
        let hanako = try await submit("hanako@example.jp", "佐藤 花子")
        // What older copies hold: Taro's person row (in a data dump) and Jiro's key (in a key-store dump).
        let taroRow = try #require(
            try await data.read { db in try await db.raw("SELECT email_index FROM subjects WHERE id = \(bind: taro.subjectID)").first() }
        )
        let jiroKey = try #require(
            try await keys.read { db in
                try await db.raw("SELECT master_key_id, wrapped FROM subject_keys WHERE subject_id = \(bind: jiro.subjectID)").first()
            }
        )
        for person in [taro, jiro] {
            try await SubjectRights(vault: vault).erase(subjectID: person.subjectID, actor: "test", source: "request")
        }
        // The restores by other means bring both back.
        try await data.transaction { db in
            try await db.raw(
                """
                INSERT INTO subjects (id, email_index, created_at)
                VALUES (\(bind: taro.subjectID), \(bind: try taroRow.decode(column: "email_index", as: String.self)), '2026-12-01T00:00:00Z')
                """
            ).run()
        }
        try await keys.transaction { db in
            try await db.raw(
                """
                INSERT INTO subject_keys (subject_id, master_key_id, wrapped, created_at)
                VALUES (\(bind: jiro.subjectID), \(bind: try jiroKey.decode(column: "master_key_id", as: String.self)),
                    \(bind: try jiroKey.decode(column: "wrapped", as: Data.self)), '2026-12-01T00:00:00Z')
                """
            ).run()
        }

        let counted = try await Command.run(["reconcile", "--dry-run"], environment: environment)
        #expect(counted.status == 1 && counted.stdout.contains("people whose key is gone: 1; keys nothing refers to: 1"), "\(counted.stdout)")
        // A running server (heard from a minute ago) holds it back.
        try await KeyRotation.announce(data, holder: "running", ring: ring, at: Date().addingTimeInterval(-60))
        let serving = try await Command.run(["reconcile"], environment: environment)
        #expect(serving.status == 1 && serving.stderr.contains("server(s) were running"), "\(serving.stderr)")
        try await KeyRotation.leave(data, holder: "running")
        // The wrong key store (none of the people's keys) is refused, and nothing changes.
        let other = try await kind.makeLocation()
        #expect(try await Command.run(["migrate", "--keystore", other.url], environment: environment).status == 0)
        let wrongPair = try await Command.run(["reconcile", "--keystore", other.url], environment: environment)
        #expect(wrongPair.status == 1 && wrongPair.stderr.contains("holds none of the keys"), "\(wrongPair.stderr)")
        try await other.cleanUp()

        let done = try await Command.run(["reconcile"], environment: environment)
        #expect(
            done.status == 0 && done.stdout.contains("erased again 1 people whose key was gone; destroyed again 1 keys nothing refers to"),
            "\(done.stdout) \(done.stderr)"
        )
        let left = try await data.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM subjects WHERE id = \(bind: taro.subjectID)").first(decodingColumn: "n", as: Int.self)
        }
        #expect(left == 0)
        #expect(try await vault.keys.key(subjectID: jiro.subjectID) == nil)
        #expect(try await vault.keys.key(subjectID: hanako.subjectID) != nil, "everyone else is whole")
        #expect(try await AuditLog.entries(in: data).filter { $0.event.action == "store.reconcile" }.count == 1)
        #expect(try await AuditLog.verify(data) == .intact(entries: try await AuditLog.entries(in: data).count))
        #expect(try await Command.run(["reconcile", "--dry-run"], environment: environment).status == 0, "in step now")
        await data.close()
        await keys.close()
        try await dataStore.cleanUp()
        try await keyStore.cleanUp()
    }
}

@Suite("Key rotation on the command line (#21)", .serialized)
struct KeyRotationCommandTests {
    @Test("keys add appends a master key line (0600) and keys rotate re-wraps; a server without the new key holds it back (exit 1)")
    func addAndRotate() async throws {
        let site = BackupCommandTests.Installation(folder: try Fixtures.temporaryDirectory())
        let keyFile = site.folder.appendingPathComponent("var/keys/master.key").path
        try FileManager.default.createDirectory(atPath: site.folder.appendingPathComponent("var/keys").path, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: keyFile, contents: Data((site.keyLine + "\n").utf8), attributes: [.posixPermissions: 0o600]))
        let environment = site.environment.filter { $0.key != "MADOGUCHI_MASTER_KEY" }.merging(["MADOGUCHI_KEY_FILE": keyFile]) { $1 }
        let taro = try await site.submit("taro@example.jp", name: "山田 太郎")

        let fromEnvironment = try await Command.run(["keys", "add"], environment: site.environment.merging(["MADOGUCHI_KEY_FILE": keyFile]) { $1 })
        #expect(fromEnvironment.status == 3 && fromEnvironment.stderr.contains("MADOGUCHI_MASTER_KEY"), "\(fromEnvironment.stderr)")
        let added = try await Command.run(["keys", "add"], environment: environment)
        #expect(added.status == 0, "\(added.stdout) \(added.stderr)")
        let lines = try String(contentsOfFile: keyFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && lines[0] == Substring(site.keyLine))
        #expect((try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int) == 0o600)
        let rotated = try KeyRing(fileText: lines.joined(separator: "\n"))

        // A running server still on the old key: nothing is re-wrapped.
        let data = try await Database.open(.sqlite(path: site.dataPath), logger: .init(label: "test"))
        try await KeyRotation.announce(data, holder: "old-server", ring: try site.ring)
        let held = try await Command.run(["keys", "rotate"], environment: environment)
        #expect(held.status == 1 && held.stderr.contains("have not read the new master key"), "\(held.stderr)")
        try await KeyRotation.announce(data, holder: "old-server", ring: rotated)
        await data.close()
        let done = try await Command.run(["keys", "rotate"], environment: environment)
        #expect(
            done.status == 0 && done.stdout.contains("re-wrapped 1 person keys with master key \(rotated.current.id)"),
            "\(done.stdout) \(done.stderr)"
        )
        #expect(
            done.stdout.contains("line 1, master key \(rotated.masterKeys[0].id): 0 person keys (line 1: the root of the derived keys, it stays)")
        )
        // Taro's key opens with the rotated key file (the old line alone no longer does).
        let keyStore = try await Database.open(.sqlite(path: site.keyStorePath), logger: .init(label: "test"))
        let opened = try await SubjectKeyStore(database: keyStore, ring: rotated, poolSize: 0).key(subjectID: taro.subjectID)
        let oldOnly = try? await SubjectKeyStore(database: keyStore, ring: try site.ring, poolSize: 0).key(subjectID: taro.subjectID)
        await keyStore.close()
        #expect(opened != nil && oldOnly == nil)
        let again = try await Command.run(["keys", "rotate"], environment: environment)
        #expect(again.status == 0 && again.stdout.contains("re-wrapped 0 person keys"))
        #expect(try await Command.run(["audit", "verify"], environment: environment).status == 0)
    }
}
