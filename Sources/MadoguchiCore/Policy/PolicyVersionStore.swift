import Crypto
import Foundation
import SQLKit

/// A stored version of the policy: what was published, from when (R-VER-1).
public struct PolicyVersion: Sendable, Hashable {
    public var id: String
    public var contentHash: String
    public var effectiveDate: LocalDate
    /// The date this version's text took effect (its last revision date).
    public var currentSince: LocalDate
    public var storedAt: Date
}

/// The outcome of storing the policy file's version at start-up.
public enum PolicyStoreOutcome: Sendable, Equatable {
    case stored
    case unchanged
}

/// A policy file that reuses a stored version id for different content. Published versions never change:
/// give the changed policy a new `version`.
public struct PolicyVersionConflict: BilingualError, Sendable {
    public var version: String
    public var text: LocalizedText {
        LocalizedText(
            ja: "ポリシーの版 '\(version)' は別の内容ですでに記録されています。公開した版は変えられないので、編集したポリシーには新しい 'version' を付けてください(改定日も revisions に加えてください)",
            en:
                "policy version '\(version)' is already stored with different content; published versions never change, so give the edited policy a new 'version' (and add its revision date)"
        )
    }
}

/// Keeps every published version of the policy, readable forever at a stable URL.
public struct PolicyVersionStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The canonical JSON of a policy: sorted keys, so the same content always has the same bytes and hash.
    public static func canonicalJSON(_ policy: Policy) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain value types into JSON cannot fail.
        return (try? encoder.encode(policy)) ?? Data()
    }

    public static func contentHash(_ policy: Policy) -> String {
        Hex.encode(SHA256.hash(data: canonicalJSON(policy)))
    }

    /// Stores `policy` as a version unless the same version is already stored. Several servers starting at once may
    /// all try: the insert yields to the row another one committed (`ON CONFLICT DO NOTHING`), and the content is
    /// then compared with it (R-OPS-1).
    @discardableResult
    public func store(_ policy: Policy, source: String, at now: Date = Date()) async throws -> PolicyStoreOutcome {
        let json = String(decoding: Self.canonicalJSON(policy), as: UTF8.self)
        let hash = Self.contentHash(policy)
        let kind = database.kind
        return try await database.transaction { db in
            let inserted = try await db.raw(
                """
                INSERT INTO policy_versions (id, content_hash, effective_date, current_since, document_json, source_yaml, stored_at)
                VALUES (\(bind: policy.version), \(bind: hash), \(bind: policy.effectiveDate.description), \(bind: policy.currentSince.description),
                        \(bind: json), \(bind: source), \(Timestamp.bind(now, kind)))
                ON CONFLICT DO NOTHING
                RETURNING id
                """
            ).first()
            if inserted != nil { return .stored }
            let stored = try await db.select().column("content_hash").from("policy_versions").where("id", .equal, policy.version)
                .first(decodingColumn: "content_hash", as: String.self)
            // The id is part of the hashed content, so a row that stopped the insert is this id's.
            guard stored == hash else { throw PolicyVersionConflict(version: policy.version) }
            return .unchanged
        }
    }

    /// What `store` would do with `policy`, without writing: `.stored` for a new version, `.unchanged` for one stored
    /// with this content; throws `PolicyVersionConflict` for a version id stored with other content (`policy check
    /// --database`, so that a reused id is found before `serve` refuses to start on it).
    public func wouldStore(_ policy: Policy) async throws -> PolicyStoreOutcome {
        let hash = Self.contentHash(policy)
        let stored = try await database.read { db in
            try await db.select().column("content_hash").from("policy_versions").where("id", .equal, policy.version)
                .first(decodingColumn: "content_hash", as: String.self)
        }
        guard let stored else { return .stored }
        guard stored == hash else { throw PolicyVersionConflict(version: policy.version) }
        return .unchanged
    }

    /// The id of the version every server serves: the stored one whose text took effect last (then the last stored).
    public func latest() async throws -> String? {
        try await database.read { db in
            try await db.select().column("id").from("policy_versions")
                .orderBy("current_since", .descending).orderBy("stored_at", .descending).limit(1)
                .first(decodingColumn: "id", as: String.self)
        }
    }

    /// Every stored version, newest text first.
    public func versions() async throws -> [PolicyVersion] {
        let kind = database.kind
        return try await database.read { db in
            try await db.select()
                .columns("id", "content_hash", "effective_date", "current_since", "stored_at")
                .from("policy_versions")
                .orderBy("current_since", .descending).orderBy("stored_at", .descending)
                .all()
                .map { try Self.version(from: $0, kind) }
        }
    }

    /// The policy as it was published under `id`, or nil when no such version is stored.
    public func policy(version id: String) async throws -> Policy? {
        let json: String? = try await database.read { db in
            try await db.select().column("document_json").from("policy_versions").where("id", .equal, id)
                .first(decodingColumn: "document_json", as: String.self)
        }
        guard let json else { return nil }
        return try JSONDecoder().decode(Policy.self, from: Data(json.utf8))
    }

    private static func version(from row: any SQLRow, _ kind: SQLDialectKind) throws -> PolicyVersion {
        func date(_ column: String) throws -> LocalDate {
            let text = try row.decode(column: column, as: String.self)
            guard let value = LocalDate(iso: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(column) is not a date"))
            }
            return value
        }
        return PolicyVersion(
            id: try row.decode(column: "id", as: String.self),
            contentHash: try row.decode(column: "content_hash", as: String.self),
            effectiveDate: try date("effective_date"),
            currentSince: try date("current_since"),
            storedAt: try Timestamp.decode(row, column: "stored_at", kind)
        )
    }
}
