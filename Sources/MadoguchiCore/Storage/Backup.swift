import Foundation
import Logging
import SQLKit

/// Backups of the SQLite files, and restoring them so that erasure survives a restore (#21).
///
/// The data and the key store are backed up apart (`madoguchi backup`, `madoguchi keys backup`): a data backup holds
/// only sealed fields, useless without the keys; a key-store backup brings back the keys of everyone erased after it
/// was made, so it is kept short. Restoring either one re-applies what happened since: after a data restore, everyone
/// in it whose key is gone is erased again (their rows came back, unreadable); after a key-store restore, every key
/// the current data no longer refers to is destroyed again.
public enum SQLiteBackup {
    /// Why a backup or a restore was refused.
    public typealias Refusal = OperatorRefusal

    /// Copies `database` (SQLite) online into a new file in `directory`, named `PREFIX-YYYYMMDDTHHMMSSZ.sqlite`, readable by
    /// its owner only; returns the file's path. The folder is made if missing; an existing file is never replaced.
    public static func write(_ database: Database, into directory: String, prefix: String, at now: Date = Date()) async throws -> String {
        guard database.kind == .sqlite else {
            throw Refusal(
                ja: "PostgreSQL のバックアップは pg_dump で取ってください(docs/operations.md の「バックアップ」)",
                en: "back PostgreSQL up with pg_dump (docs/operations.md, \"Backups\")"
            )
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stamp = Self.stamp(now)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(prefix)-\(stamp).sqlite").path
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Refusal(ja: "\(path) はすでにあります(上書きしません)", en: "\(path) already exists (never replaced)")
        }
        // The copy is readable by its owner only from the moment SQLite creates it.
        let previous = umask(0o077)
        defer { umask(previous) }
        try await database.vacuum(into: path)
        return path
    }

    static func stamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// Checks that the SQLite file at `path` is whole (`integrity_check`) and no newer than this binary's schema
    /// (`migrations`, `table`).
    static func checkFile(_ path: String, migrations: [Migration], table: String, logger: Logger) async throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Refusal(ja: "バックアップ \(path) がありません", en: "the backup \(path) does not exist")
        }
        try await Database.with(.sqlite(path: path), logger: logger) { copy in
            let result = try await copy.read { db in
                try await db.raw("PRAGMA integrity_check").first(decodingColumn: "integrity_check", as: String.self)
            }
            guard result == "ok" else {
                throw Refusal(ja: "バックアップ \(path) が壊れています(\(result ?? "?"))", en: "the backup \(path) is damaged: \(result ?? "?")")
            }
            let exists = try await copy.read { db in try await Migrations.tableExists(table, in: db, kind: .sqlite) }
            guard exists else {
                throw Refusal(ja: "\(path) は Madoguchi のバックアップではありません(\(table) がありません)", en: "\(path) is not a Madoguchi backup (no \(table))")
            }
            try await Migrations.refuseNewer(copy, migrations: migrations, table: table)
        }
    }

    /// Puts the file `backup` in place of the SQLite database at `target`: the backup is copied beside the target and
    /// synced, the target's log is folded in, the target (with its log files) is kept as
    /// `TARGET.before-restore-STAMP`, and the copy takes its name. Returns the kept file's path (nil when there was no
    /// target). Nothing is deleted.
    static func swap(backup: String, target: String, at now: Date, logger: Logger) async throws -> String? {
        let manager = FileManager.default
        let directory = URL(fileURLWithPath: target).deletingLastPathComponent().path
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let incoming = target + ".restoring"
        if manager.fileExists(atPath: incoming) { try manager.removeItem(atPath: incoming) }
        try manager.copyItem(atPath: backup, toPath: incoming)
        try sync(incoming)
        var kept: String?
        if manager.fileExists(atPath: target) {
            // Fold the write-ahead log into the file, so the kept copy is whole on its own.
            let current = try await Database.open(.sqlite(path: target), logger: logger)
            _ = try? await current.checkpoint()
            await current.close()
            let aside = target + ".before-restore-" + stamp(now)
            try manager.moveItem(atPath: target, toPath: aside)
            for suffix in ["-wal", "-shm"] where manager.fileExists(atPath: target + suffix) {
                try manager.moveItem(atPath: target + suffix, toPath: aside + suffix)
            }
            kept = aside
        }
        try manager.moveItem(atPath: incoming, toPath: target)
        try sync(directory)
        return kept
    }

    private static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = fsync(descriptor)
    }

    /// What a restore did.
    public struct Restored: Sendable, Equatable {
        /// The previous file, kept beside it.
        public var kept: String?
        /// People in the backup whose keys were gone (erased since the backup was made): erased again.
        public var erasedAgain: Int
        /// Keys destroyed again because no current data refers to them (a key-store restore).
        public var keysDestroyed: Int
    }

    /// Restores the data database at `target` from `backup`. The backup must be whole, no newer than this binary, and
    /// made under this master key (its audit chain verifies with `ring`); the key store must hold the keys of its people
    /// (when it holds none of them, the two do not belong together and nothing is changed). Then the data is migrated,
    /// and everyone in it whose key is gone is erased again. No server may run on the file (`ServerLock`).
    public static func restoreData(
        from backup: String,
        to target: String,
        keyStore: Database,
        ring: KeyRing,
        logger: Logger,
        at now: Date = Date()
    ) async throws -> Restored {
        try await checkFile(backup, migrations: Migrations.all, table: "madoguchi_schema", logger: logger)
        try await Database.with(.sqlite(path: backup), logger: logger) { copy in
            copy.useAuditKey(ring.auditKey)
            if case let .broken(sequence, _) = try await AuditLog.verify(copy) {
                throw Refusal(
                    ja: "バックアップの監査ログが \(sequence) 件目からこのマスター鍵で確かめられません。別のマスター鍵の下で作られたか、書き換えられています。合うマスター鍵ファイルを --key-file で指定してください",
                    en:
                        "the backup's audit log does not verify with this master key from entry \(sequence): it was made under another master key, or altered; give the matching key file with --key-file"
                )
            }
            try await Reconciliation.checkBelongTogether(data: copy, keys: SubjectKeyStore(database: keyStore, ring: ring, poolSize: 0))
        }
        let kept = try await swap(backup: backup, target: target, at: now, logger: logger)
        return try await Database.with(.sqlite(path: target), logger: logger) { data in
            data.useAuditKey(ring.auditKey)
            try await Migrations.apply(to: data)
            let keys = SubjectKeyStore(database: keyStore, ring: ring, poolSize: 0)
            // Only the people come back out of step here; the key store's keys are as they were.
            let plan = Reconciliation.Plan(keyless: try await Reconciliation.keylessPeople(in: data, keys: keys), unreferenced: [])
            try await Reconciliation.apply(
                plan,
                data: data,
                keys: keys,
                actor: "restore",
                action: "backup.restore",
                detail: "file=\(URL(fileURLWithPath: backup).lastPathComponent) ",
                at: now
            )
            return Restored(kept: kept, erasedAgain: plan.keyless.count, keysDestroyed: 0)
        }
    }

    /// Restores the key store at `target` from `backup`. The backup must be whole and its keys wrapped by a master key
    /// of `ring`. Then every key the current data does not refer to is destroyed again: the keys of everyone erased
    /// after the backup was made (and keys made ahead and never used). No server may run on the file.
    public static func restoreKeys(
        from backup: String,
        to target: String,
        data: Database,
        ring: KeyRing,
        logger: Logger,
        at now: Date = Date()
    ) async throws -> Restored {
        try await checkFile(backup, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema", logger: logger)
        try await Database.with(.sqlite(path: backup), logger: logger) { copy in
            let sample = try await copy.read { db in
                try await db.raw("SELECT subject_id FROM subject_keys ORDER BY created_at DESC LIMIT 50").all(
                    decodingColumn: "subject_id",
                    as: String.self
                )
            }
            if !sample.isEmpty {
                let read = try await SubjectKeyStore(database: copy, ring: ring, poolSize: 0).readableKeys(subjectIDs: sample)
                if read.keys.isEmpty {
                    throw Refusal(
                        ja: "バックアップの鍵をこのマスター鍵で開けません(\(sample.count) 件を確かめました)。合うマスター鍵ファイルを --key-file で指定してください",
                        en: "this master key opens none of the backup's keys (\(sample.count) checked); give the matching key file with --key-file"
                    )
                }
            }
        }
        let kept = try await swap(backup: backup, target: target, at: now, logger: logger)
        return try await Database.with(.sqlite(path: target), logger: logger) { keyStore in
            try await Migrations.apply(to: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
            let keys = SubjectKeyStore(database: keyStore, ring: ring, poolSize: 0)
            // Only keys come back out of step here: the data's people keep theirs.
            let plan = Reconciliation.Plan(keyless: [], unreferenced: try await Reconciliation.unreferencedKeys(data: data, keys: keys))
            data.useAuditKey(ring.auditKey)
            try await Reconciliation.apply(
                plan,
                data: data,
                keys: keys,
                actor: "restore",
                action: "keys.restore",
                detail: "file=\(URL(fileURLWithPath: backup).lastPathComponent) ",
                at: now
            )
            return Restored(kept: kept, erasedAgain: 0, keysDestroyed: plan.unreferenced.count)
        }
    }
}
