import Crypto
import Foundation
import SQLKit

/// Rotating the master key online (#21): a new key line is added to the key file (`madoguchi keys add`), the servers
/// are restarted one by one to read it, and `madoguchi keys rotate` re-wraps every person key under it — in batches,
/// each its own transaction, so a crash leaves nothing half-done and running it again goes on where it stopped. Data
/// is never re-encrypted: only the wrapping of each person's key changes.
///
/// Each running server says which master keys it holds (`key_ring_holders`, every minute): a rotation waits until
/// every server seen in the last minutes holds the new key, because a server without it could not unwrap a re-wrapped
/// key.
public enum KeyRotation {
    /// Migration 27: which master keys each running server holds.
    public static let migration = Migration(
        version: 27,
        name: "key ring holders",
        portable: [
            """
            CREATE TABLE key_ring_holders (
                holder TEXT PRIMARY KEY,
                key_ids TEXT NOT NULL,
                seen_at {timestamp} NOT NULL
            )
            """
        ]
    )

    /// How often a server says which keys it holds, and how long a server not heard from counts as running.
    public static let announceInterval: Duration = .seconds(60)
    public static let holderLifetime: TimeInterval = 180

    /// Records that `holder` (one server process) holds the master keys of `ring`.
    public static func announce(_ database: Database, holder: String, ring: KeyRing, at now: Date = Date()) async throws {
        let ids = ring.masterKeys.map(\.id).joined(separator: ",")
        let kind = database.kind
        try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO key_ring_holders (holder, key_ids, seen_at) VALUES (\(bind: holder), \(bind: ids), \(Timestamp.bind(now, kind)))
                ON CONFLICT (holder) DO UPDATE SET key_ids = excluded.key_ids, seen_at = excluded.seen_at
                """
            ).run()
        }
    }

    /// Removes `holder` (a server stopping).
    public static func leave(_ database: Database, holder: String) async throws {
        try await database.transaction { db in
            try await db.delete(from: "key_ring_holders").where("holder", .equal, holder).run()
        }
    }

    /// Servers heard from within `holderLifetime` that do not hold the master key `keyID`.
    public static func holdersLacking(_ keyID: String, in database: Database, at now: Date = Date()) async throws -> Int {
        let kind = database.kind
        let since = now.addingTimeInterval(-holderLifetime)
        let rows = try await database.read { db in
            try await db.raw("SELECT key_ids FROM key_ring_holders WHERE seen_at > \(Timestamp.bind(since, kind))").all(
                decodingColumn: "key_ids",
                as: String.self
            )
        }
        return rows.filter { !$0.split(separator: ",").contains(Substring(keyID)) }.count
    }

    /// How many person keys each master key wraps.
    public static func usage(of keyStore: Database) async throws -> [String: Int] {
        let rows = try await keyStore.read { db in
            try await db.raw("SELECT master_key_id, COUNT(*) AS n FROM subject_keys GROUP BY master_key_id").all()
        }
        var usage: [String: Int] = [:]
        for row in rows { usage[try row.decode(column: "master_key_id", as: String.self)] = try row.decode(column: "n", as: Int.self) }
        return usage
    }

    /// Why a rotation stopped.
    public typealias Refusal = OperatorRefusal

    /// Re-wraps every person key not wrapped by `ring.current`, `batch` at a time (each batch one transaction; a key
    /// changed meanwhile is left for the next pass). Returns how many were re-wrapped. Throws `Refusal` when a key is
    /// wrapped by a master key the ring does not hold (nothing of that batch is written).
    public static func rewrap(_ keyStore: Database, ring: KeyRing, batch: Int = 500) async throws -> Int {
        let current = ring.current
        var total = 0
        var skipped = Set<String>()
        while true {
            let limit = max(1, batch) + skipped.count
            let rows = try await keyStore.read { db in
                try await db.raw(
                    """
                    SELECT subject_id, master_key_id, wrapped FROM subject_keys
                    WHERE master_key_id <> \(bind: current.id) ORDER BY subject_id LIMIT \(literal: limit)
                    """
                ).all()
            }
            var rewrapped: [(id: String, old: String, wrapped: Data)] = []
            for row in rows {
                let subjectID = try row.decode(column: "subject_id", as: String.self)
                if skipped.contains(subjectID) { continue }
                let old = try row.decode(column: "master_key_id", as: String.self)
                guard let master = ring.masterKey(id: old) else {
                    throw Refusal(
                        ja: "本人の鍵がマスター鍵 \(old) で包まれていますが、その鍵が鍵ファイルにありません。古い鍵の行を消していないか確かめてください",
                        en: "a person key is wrapped by master key \(old), which is not in the key file; check that no old key line was removed"
                    )
                }
                let context = "subject-key/\(subjectID)"
                let encoded = try SealedField.open(
                    try row.decode(column: "wrapped", as: Data.self),
                    key: master.key,
                    context: context,
                    for: .keyUnwrap
                )
                rewrapped.append((subjectID, old, try SealedField.seal(encoded, key: current.key, context: context)))
            }
            if rewrapped.isEmpty { return total }
            let pending = rewrapped
            let changed = try await keyStore.transaction { db -> Set<String> in
                var changed = Set<String>()
                for item in pending {
                    let done = try await db.raw(
                        """
                        UPDATE subject_keys SET master_key_id = \(bind: current.id), wrapped = \(bind: item.wrapped)
                        WHERE subject_id = \(bind: item.id) AND master_key_id = \(bind: item.old)
                        RETURNING subject_id
                        """
                    ).first()
                    if done != nil { changed.insert(item.id) }
                }
                return changed
            }
            total += changed.count
            // A key destroyed or re-wrapped by someone else meanwhile is not tried again in this run.
            skipped.formUnion(rewrapped.map(\.id).filter { !changed.contains($0) })
        }
    }
}
