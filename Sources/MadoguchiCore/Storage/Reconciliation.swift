import Foundation
import Logging
import SQLKit

/// Makes a data database and its key store agree again after either was brought back from a copy by any means —
/// `madoguchi restore`, `pg_restore`, a snapshot, point-in-time recovery (#21):
///
/// - everyone in the data whose key is gone is erased again (their rows came back from the copy, unreadable: the key
///   was destroyed by an erasure after the copy was made);
/// - every key the data no longer refers to is destroyed again (a key-store copy brought back the keys of people
///   erased after it was made).
///
/// Both must run with no server on the stores: a server makes a person's key a moment before it commits the rows
/// that use it, and such a key would look unreferenced.
public enum Reconciliation {
    /// What a reconciliation found (and, unless it was a dry run, did).
    public struct Plan: Sendable, Equatable {
        /// People of the data whose key is gone.
        public var keyless: [String]
        /// Keys of the key store that nothing in the data refers to.
        public var unreferenced: [String]

        public var isEmpty: Bool { keyless.isEmpty && unreferenced.isEmpty }
    }

    /// Why a reconciliation was refused; nothing was changed.
    public typealias Refusal = OperatorRefusal

    /// Refuses when the key store holds none of the keys of a sample of the data's people: the two do not belong
    /// together (another installation's key store, or an empty one), and reconciling would erase everyone.
    public static func checkBelongTogether(data: Database, keys: SubjectKeyStore) async throws {
        let subjects = try await data.read { db in
            try await db.raw("SELECT id FROM subjects ORDER BY id LIMIT 200").all(decodingColumn: "id", as: String.self)
        }
        guard !subjects.isEmpty else { return }
        let found = try await keys.readableKeys(subjectIDs: subjects)
        if found.keys.isEmpty {
            throw Refusal(
                ja: "鍵の保管庫にデータの人たちの鍵が一つもありません(\(subjects.count) 人を確かめました)。このデータの鍵の保管庫とマスター鍵を指定してください",
                en:
                    "the key store holds none of the keys of the people in the data (\(subjects.count) checked); give the key store and master key of this data"
            )
        }
    }

    /// Refuses while a server has been heard from in the last minutes (`key_ring_holders`): a running server's fresh
    /// key would look unreferenced.
    public static func refuseWhileServing(data: Database, at now: Date = Date()) async throws {
        let kind = data.kind
        let since = now.addingTimeInterval(-KeyRotation.holderLifetime)
        let live =
            try await data.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM key_ring_holders WHERE seen_at > \(Timestamp.bind(since, kind))")
                    .first(decodingColumn: "n", as: Int.self)
            } ?? 0
        if live > 0 {
            let minutes = Int(KeyRotation.holderLifetime / 60)
            throw Refusal(
                ja: "\(live) 台のサーバーがこの \(minutes) 分以内に動いています。すべて止めてから(止めたばかりなら \(minutes) 分待ってから)実行してください",
                en:
                    "\(live) server(s) were running within the last \(minutes) minutes; stop them all first (or wait \(minutes) minutes after stopping them)"
            )
        }
    }

    /// What is out of step between `data` and `keys`.
    public static func plan(data: Database, keys: SubjectKeyStore) async throws -> Plan {
        Plan(keyless: try await keylessPeople(in: data, keys: keys), unreferenced: try await unreferencedKeys(data: data, keys: keys))
    }

    /// The keys of `keys` that nothing in `data` refers to: no person, no request with its content, no code, no
    /// queued mail.
    static func unreferencedKeys(data: Database, keys: SubjectKeyStore) async throws -> [String] {
        let referenced = try await data.read { db -> Set<String> in
            var ids = Set(try await db.raw("SELECT id FROM subjects").all(decodingColumn: "id", as: String.self))
            ids.formUnion(try await db.raw("SELECT key_id FROM requests WHERE email_index <> ''").all(decodingColumn: "key_id", as: String.self))
            ids.formUnion(
                try await db.raw("SELECT key_id FROM access_codes WHERE key_id IS NOT NULL").all(decodingColumn: "key_id", as: String.self)
            )
            ids.formUnion(try await db.raw("SELECT subject_id FROM outbox").all(decodingColumn: "subject_id", as: String.self))
            return ids
        }
        let stored = try await keys.database.read { db in
            try await db.raw("SELECT subject_id FROM subject_keys ORDER BY subject_id").all(decodingColumn: "subject_id", as: String.self)
        }
        return stored.filter { !referenced.contains($0) }
    }

    /// The people of `data` whose key no longer exists (a key that exists but does not open is not counted: that is
    /// a wrong master key, not an erasure).
    static func keylessPeople(in data: Database, keys: SubjectKeyStore) async throws -> [String] {
        let ids = try await data.read { db in try await db.raw("SELECT id FROM subjects ORDER BY id").all(decodingColumn: "id", as: String.self) }
        var missing: [String] = []
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(start + 500, ids.count)])
            let found = try await keys.readableKeys(subjectIDs: chunk)
            missing += chunk.filter { found.keys[$0] == nil && found.failures[$0] == nil }
        }
        return missing
    }

    /// Carries `plan` out: erases the keyless people again (each audited as `subject.erase` by `actor`), destroys the
    /// unreferenced keys, and records `action` with both counts in the audit log.
    public static func apply(
        _ plan: Plan,
        data: Database,
        keys: SubjectKeyStore,
        actor: String,
        action: String,
        detail: String,
        at now: Date = Date()
    ) async throws {
        let vault = InquiryVault(database: data, keys: keys)
        for subjectID in plan.keyless {
            try await SubjectRights(vault: vault).erase(subjectID: subjectID, actor: actor, source: actor, at: now)
        }
        if !plan.unreferenced.isEmpty { _ = try await keys.destroy(subjectIDs: plan.unreferenced) }
        try await data.transaction { db in
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: action,
                    detail: "\(detail)erased-again=\(plan.keyless.count) keys-destroyed-again=\(plan.unreferenced.count)"
                ),
                in: db,
                kind: data.kind,
                at: now
            )
        }
    }
}
