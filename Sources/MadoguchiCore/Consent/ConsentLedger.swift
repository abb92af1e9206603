import Crypto
import Foundation
import SQLKit

/// The version of the vendor declarations a choice was made against: a digest of the consent mode and of each
/// vendor's id, category and hosts. When it changes, the person is asked again (issue #5).
public enum VendorList {
    public static func version(of policy: Policy) -> String {
        var text = "mode=\(policy.informativeData.consentMode.rawValue)\n"
        for vendor in policy.vendors.sorted(by: { $0.id < $1.id }) {
            text += "\(vendor.id)|\(vendor.category.rawValue)|\(vendor.hosts.sorted().joined(separator: ","))\n"
        }
        return "v" + Hex.encode(SHA256.hash(data: Data(text.utf8))).prefix(16)
    }
}

/// What happened in a browser, as the site snippet or `/preferences` reports it.
public enum ConsentEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The person chose (per vendor or category).
    case choice
    /// The notice was shown.
    case notice
    /// The person reset the site's cookies and identifier.
    case reset
}

/// One entry of the consent ledger: the server-side proof of what a browser was shown and chose.
public struct ConsentEvent: Sendable, Hashable {
    public var identifier: String
    public var kind: ConsentEventKind
    /// Vendor id → allowed, for every declared vendor (choices only).
    public var vendors: [String: Bool]
    /// Global Privacy Control was signalled.
    public var gpc: Bool
    public var vendorListVersion: String
    public var policyVersion: String

    public init(
        identifier: String,
        kind: ConsentEventKind,
        vendors: [String: Bool],
        gpc: Bool,
        vendorListVersion: String,
        policyVersion: String
    ) {
        self.identifier = identifier
        self.kind = kind
        self.vendors = vendors
        self.gpc = gpc
        self.vendorListVersion = vendorListVersion
        self.policyVersion = policyVersion
    }

    /// The first-party identifier's form: 22–64 URL-safe characters.
    public static func isIdentifier(_ text: String) -> Bool {
        (22...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }

    /// A new identifier, as the site snippet issues them: the issue time in milliseconds as 12 hex digits, then 96
    /// random bits in base64url (28 characters). Identifiers issued later sort later, so the ledger's appends for new
    /// browsers — most of its traffic: a notice, then perhaps a choice — land at the end of its index by identifier
    /// instead of on a random page of it (as record ids do, UUIDv7). The time says only when the cookie was set, which
    /// the ledger holds anyway; the random part is what makes the identifier unguessable.
    public static func newIdentifier(at date: Date = Date()) -> String {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1_000)) & 0xFFFF_FFFF_FFFF
        let time = String(milliseconds, radix: 16)
        let random = SymmetricKey(size: SymmetricKeySize(bitCount: 96)).withUnsafeBytes { Data($0) }.base64URLEncoded
        return String(repeating: "0", count: 12 - time.count) + time + random
    }
}

/// Why an event was refused, naming the part at fault.
public struct ConsentEventProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public let field: String
    public let reason: String
    public var description: String { "\(field): \(reason)" }
}

/// The consent ledger (R-OPT-1, R-OPT-4, R-INF-1): append-only, written through the group commit, one row per event.
public struct ConsentLedger: Sendable {
    public let database: Database

    public static let migration = Migration(
        version: 8,
        name: "consent ledger",
        portable: [
            """
            CREATE TABLE consent_events (
                id TEXT PRIMARY KEY,
                identifier TEXT NOT NULL,
                kind TEXT NOT NULL,
                vendors TEXT NOT NULL,
                gpc {bool} NOT NULL,
                vendor_list_version TEXT NOT NULL,
                policy_version TEXT NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX consent_events_identifier ON consent_events (identifier, created_at)",
        ]
    )

    /// An identifier linked to a registered person (R-INF-1, R-INF-2): from then on its events are that person's data.
    public static let linkMigration = Migration(
        version: 9,
        name: "identifier links",
        portable: [
            """
            CREATE TABLE identifier_links (
                identifier TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX identifier_links_subject ON identifier_links (subject_id)",
        ]
    )

    /// The ledger's lookup by identifier on the identifier alone. The index of migration 8 also held `created_at`,
    /// which doubled its entries. An append from a returning browser lands on a random page of this index (its
    /// identifier was issued long ago, or is of the earlier, random form), so the index's size is what such an append
    /// costs once the ledger is large: measured ≈ 25 % less SQLite work per append at 300,000 events. The few events of
    /// one identifier are sorted after the lookup.
    public static let lookupMigration = Migration(
        version: 10,
        name: "consent ledger lookup by identifier",
        portable: [
            "DROP INDEX consent_events_identifier",
            "CREATE INDEX consent_events_by_identifier ON consent_events (identifier)",
        ]
    )

    public init(database: Database) {
        self.database = database
    }

    /// Cuts the link between `identifier` and any person (cookie reset, R-OPT-2).
    public func unlink(identifier: String, at now: Date = Date()) async throws {
        let kind = database.kind
        try await database.transaction { db in
            guard
                let subjectID = try await db.select().column("subject_id").from("identifier_links")
                    .where("identifier", .equal, identifier).first(decodingColumn: "subject_id", as: String.self)
            else { return }
            try await db.delete(from: "identifier_links").where("identifier", .equal, identifier).run()
            try await AuditLog.append(
                AuditEvent(actor: "person", action: "identifier.unlink", subjectID: subjectID, detail: "source=reset"),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    /// Whether `identifier` is linked to a person who suspended every use of their data (利用停止, R-INF-2): the
    /// snippet then sends nothing to any vendor from that browser.
    public func isSuspended(identifier: String) async throws -> Bool {
        try await database.read { db in
            try await db.select().column(SQLLiteral.numeric("1"), as: "hit").from("identifier_links")
                .join("suspensions", on: SQLColumn("subject_id", table: "identifier_links"), .equal, SQLColumn("subject_id", table: "suspensions"))
                .where(SQLColumn("identifier", table: "identifier_links"), .equal, SQLBind(identifier))
                .where(SQLColumn("purpose_id", table: "suspensions"), .equal, SQLBind(SubjectRights.allPurposes))
                .limit(1).first() != nil
        }
    }

    /// The identifiers linked to a person.
    public static func linkedIdentifiers(subjectID: String, in db: any SQLDatabase) async throws -> [String] {
        try await db.select().column("identifier").from("identifier_links").where("subject_id", .equal, subjectID)
            .orderBy("created_at").all(decodingColumn: "identifier", as: String.self)
    }

    /// Checks an event against the policy: a well-formed identifier, only declared vendors (every one of them for a
    /// choice), the current vendor list.
    public static func validate(_ event: ConsentEvent, policy: Policy) -> Result<ConsentEvent, ConsentEventProblem> {
        guard ConsentEvent.isIdentifier(event.identifier) else {
            return .failure(ConsentEventProblem(field: "id", reason: "not an identifier (22–64 URL-safe characters)"))
        }
        let undeclared = { (id: String) in !policy.vendors.contains { $0.id == id } }
        // Keys are sorted only to name the first unknown one, never for a valid event.
        if event.vendors.keys.contains(where: undeclared), let unknown = event.vendors.keys.sorted().first(where: undeclared) {
            return .failure(ConsentEventProblem(field: "vendors", reason: "'\(unknown)' is not a declared vendor"))
        }
        if event.kind == .choice, event.vendors.count != policy.vendors.count {
            let declared = Set(policy.vendors.map(\.id))
            return .failure(
                ConsentEventProblem(field: "vendors", reason: "a choice names every declared vendor: \(declared.sorted().joined(separator: ", "))")
            )
        }
        if event.kind != .choice, !event.vendors.isEmpty {
            return .failure(ConsentEventProblem(field: "vendors", reason: "only a choice carries vendors"))
        }
        return .success(event)
    }

    /// `{"id":true,…}` with the keys in order, so equal choices are equal text. Vendor ids are validated ids
    /// (letters, digits, `-`, `_`), so they need no escaping.
    static func json(_ vendors: [String: Bool]) -> String {
        "{" + vendors.keys.sorted().map { "\"\($0)\":\(vendors[$0]! ? "true" : "false")" }.joined(separator: ",") + "}"
    }

    /// Appends `event`, returning after the (shared) commit.
    public func record(_ event: ConsentEvent, at now: Date = Date()) async throws {
        let vendors = Self.json(event.vendors)
        var writes = WriteSet(at: now)
        writes.insert(
            into: "consent_events",
            columns: ["id", "identifier", "kind", "vendors", "gpc", "vendor_list_version", "policy_version", "created_at"],
            values: [
                SQLBind(RecordID.make(at: now)), SQLBind(event.identifier), SQLBind(event.kind.rawValue), SQLBind(vendors),
                SQLBind(event.gpc), SQLBind(event.vendorListVersion), SQLBind(event.policyVersion),
                Timestamp.bind(now, database.kind),
            ]
        )
        try await database.commit(writes)
    }

    /// The events of `identifier`, oldest first.
    public func events(identifier: String) async throws -> [ConsentEvent] {
        try await events(identifier: identifier, latestOnly: false)
    }

    /// The newest event of `identifier`.
    public func latest(identifier: String) async throws -> ConsentEvent? {
        try await events(identifier: identifier, latestOnly: true).first
    }

    private func events(identifier: String, latestOnly: Bool) async throws -> [ConsentEvent] {
        try await database.read { db in
            let order: SQLDirection = latestOnly ? .descending : .ascending
            var select = db.select().columns("kind", "vendors", "gpc", "vendor_list_version", "policy_version").from("consent_events")
                .where("identifier", .equal, identifier).orderBy("created_at", order).orderBy("id", order)
            if latestOnly { select = select.limit(1) }
            return try await select.all()
                .map { row in
                    ConsentEvent(
                        identifier: identifier,
                        kind: ConsentEventKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .notice,
                        vendors: try JSONDecoder().decode([String: Bool].self, from: Data(try row.decode(column: "vendors", as: String.self).utf8)),
                        gpc: try row.decode(column: "gpc", as: Bool.self),
                        vendorListVersion: try row.decode(column: "vendor_list_version", as: String.self),
                        policyVersion: try row.decode(column: "policy_version", as: String.self)
                    )
                }
        }
    }
}
