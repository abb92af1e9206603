import Crypto
import Foundation
import SQLKit

/// Something that touched personal data: who, what, for which purpose. Never holds personal data itself.
public struct AuditEvent: Sendable, Hashable {
    public var actor: String
    public var action: String
    public var subjectID: String?
    public var record: String?
    public var purpose: String?
    public var detail: String

    public init(
        actor: String,
        action: String,
        subjectID: String? = nil,
        record: String? = nil,
        purpose: String? = nil,
        detail: String = ""
    ) {
        self.actor = actor
        self.action = action
        self.subjectID = subjectID
        self.record = record
        self.purpose = purpose
        self.detail = detail
    }
}

/// A stored audit entry with its place in the hash chain.
public struct AuditEntry: Sendable, Hashable {
    public var sequence: Int
    public var at: String
    public var event: AuditEvent
    public var previousHash: String
    public var hash: String
}

/// The outcome of checking the chain.
public enum AuditVerification: Sendable, Equatable {
    case intact(entries: Int)
    /// The first entry that does not match the chain, and why.
    case broken(sequence: Int, reason: AuditBreak)
}

/// Why an entry does not match the chain. The console words it in the page's language; `description` is the
/// English of the command line and the log.
public enum AuditBreak: Sendable, Equatable, CustomStringConvertible {
    /// The entry is not there; `next` is the entry that follows the gap, nil when the chain ends before it.
    case missing(next: Int?)
    /// Its link to the previous entry does not match that entry's hash.
    case link
    /// Its content does not match its own hash.
    case content
    /// The entry a check started from is no longer what that check found.
    case changedSinceChecked
    /// Written without the chain's key after keyed entries: a chain re-hashed by someone without the key.
    case unkeyed
    /// The entry is keyed, and the check was given no key to recompute it with.
    case keyNeeded

    public var description: String {
        switch self {
        case let .missing(next): "the entry is missing" + (next.map { " (next is \($0))" } ?? "")
        case .link: "its link to the previous entry does not match"
        case .content: "its content does not match its hash"
        case .changedSinceChecked: "it changed after it was last verified"
        case .unkeyed: "it was written without the chain key after keyed entries"
        case .keyNeeded: "it is keyed and no master key was given to check it"
        }
    }
}

/// The append-only, hash-chained audit log (R-AUD-1). Each entry's hash covers its content and the previous
/// entry's hash, so changing, inserting or removing an entry breaks every hash after it.
public enum AuditLog {
    public static let migration = Migration(
        version: 2,
        name: "audit log",
        portable: [
            """
            CREATE TABLE audit_log (
                seq BIGINT PRIMARY KEY,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                subject_id TEXT,
                record TEXT,
                purpose TEXT,
                detail TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            )
            """,
            "CREATE INDEX audit_log_subject ON audit_log (subject_id)",
        ]
    )

    static let genesis = String(repeating: "0", count: 64)

    /// The chain key of the transaction an entry is appended in (`Database` sets it from `KeyRing.auditKey`). With a
    /// key, an entry's hash is an HMAC (`k1:` and hex): someone with the database alone cannot re-hash a changed or
    /// cut chain. Entries written before the chain was keyed keep their plain SHA-256.
    @TaskLocal public static var chainKey: SymmetricKey?

    /// The prefix of a keyed entry's hash.
    static let keyedPrefix = "k1:"

    /// Appends `event` inside the caller's transaction, so the entry commits with the change it records.
    @discardableResult
    public static func append(_ event: AuditEvent, in db: any SQLDatabase, kind: SQLDialectKind, at date: Date = Date()) async throws -> AuditEntry {
        try await append([(event, date)], in: db, kind: kind)[0]
    }

    /// Records `events` on their own, in one transaction of `database`: for a read, which changes nothing else.
    public static func record(_ events: AuditEvent..., in database: Database, at date: Date = Date()) async throws {
        try await record(events, in: database, at: date)
    }

    /// Records `events` in order, in one transaction of `database`.
    public static func record(_ events: [AuditEvent], in database: Database, at date: Date = Date()) async throws {
        guard !events.isEmpty else { return }
        let kind = database.kind
        try await database.transaction { db in
            _ = try await append(events.map { ($0, date) }, in: db, kind: kind)
        }
    }

    /// Appends `events` in order with one read of the chain's head and one insert (a group commit's entries).
    @discardableResult
    static func append(_ events: [(AuditEvent, Date)], in db: any SQLDatabase, kind: SQLDialectKind) async throws -> [AuditEntry] {
        guard !events.isEmpty else { return [] }
        if kind == .postgres {
            // Serialises appenders so two transactions never chain onto the same predecessor.
            try await db.raw("SELECT pg_advisory_xact_lock(727312002)").run()
        }
        let last = try await db.select().columns("seq", "hash").from("audit_log").orderBy("seq", .descending).limit(1).first()
        var sequence = try last?.decode(column: "seq", as: Int.self) ?? 0
        var previous = try last?.decode(column: "hash", as: String.self) ?? genesis
        var entries: [AuditEntry] = []
        entries.reserveCapacity(events.count)
        let key = chainKey
        for (event, date) in events {
            sequence += 1
            let at = date.formatted(timeFormat)
            let hash = digest(sequence: sequence, at: at, event: event, previous: previous, key: key)
            entries.append(AuditEntry(sequence: sequence, at: at, event: event, previousHash: previous, hash: hash))
            previous = hash
        }
        let columns = ["seq", "at", "actor", "action", "subject_id", "record", "purpose", "detail", "prev_hash", "hash"]
        for chunk in WriteSet.chunks(entries, columns: columns.count) {
            let insert = db.insert(into: "audit_log").columns(columns)
            for entry in chunk {
                _ = insert.values(
                    SQLBind(entry.sequence),
                    SQLBind(entry.at),
                    SQLBind(entry.event.actor),
                    SQLBind(entry.event.action),
                    SQLBind(entry.event.subjectID),
                    SQLBind(entry.event.record),
                    SQLBind(entry.event.purpose),
                    SQLBind(entry.event.detail),
                    SQLBind(entry.previousHash),
                    SQLBind(entry.hash)
                )
            }
            try await insert.run()
        }
        return entries
    }

    private static let timeFormat: Date.ISO8601FormatStyle = .iso8601.year().month().day()
        .time(includingFractionalSeconds: true).timeZone(separator: .omitted)

    static func digest(sequence: Int, at: String, event: AuditEvent, previous: String, key: SymmetricKey?) -> String {
        // A JSON array keeps the fields unambiguous whatever characters they hold.
        let fields: [String?] = [
            "\(sequence)", at, event.actor, event.action, event.subjectID, event.record, event.purpose,
            event.detail, previous,
        ]
        let data = (try? JSONEncoder().encode(fields)) ?? Data()
        guard let key else { return Hex.encode(SHA256.hash(data: data)) }
        return keyedPrefix + Hex.encode(HMAC<SHA256>.authenticationCode(for: data, using: key))
    }

    /// Why `entry` does not match its own hash, or nil when it does. `keyedBefore`: an earlier entry was keyed.
    static func check(_ entry: AuditEntry, key: SymmetricKey?, keyedBefore: Bool) -> AuditBreak? {
        if entry.hash.hasPrefix(keyedPrefix) {
            guard let key else { return .keyNeeded }
            return digest(sequence: entry.sequence, at: entry.at, event: entry.event, previous: entry.previousHash, key: key) == entry.hash
                ? nil : .content
        }
        if keyedBefore { return .unkeyed }
        return digest(sequence: entry.sequence, at: entry.at, event: entry.event, previous: entry.previousHash, key: nil) == entry.hash
            ? nil : .content
    }

    /// The newest entry's place in the chain (sequence and hash), to keep outside the database: `madoguchi audit head`
    /// prints it, `audit verify --expect SEQ:HASH` fails when that entry is gone or different. Nil for an empty log.
    public static func head(in database: Database) async throws -> AuditCheckpoint? {
        try await database.read { db in
            guard let row = try await db.select().columns("seq", "hash").from("audit_log").orderBy("seq", .descending).limit(1).first()
            else { return nil }
            return AuditCheckpoint(sequence: try row.decode(column: "seq", as: Int.self), hash: try row.decode(column: "hash", as: String.self))
        }
    }

    /// True when the entry at `anchor.sequence` is still there with `anchor.hash`.
    public static func contains(_ anchor: AuditCheckpoint, in database: Database) async throws -> Bool {
        guard anchor.sequence > 0 else { return true }
        let entry = try await entries(in: database, after: anchor.sequence - 1, limit: 1).first
        return entry?.sequence == anchor.sequence && entry?.hash == anchor.hash
    }

    /// Entries in order, `limit` at a time after `sequence`.
    public static func entries(in database: Database, after sequence: Int = 0, limit: Int = 1_000) async throws -> [AuditEntry] {
        try await database.read { db in
            try await db.select()
                .columns("seq", "at", "actor", "action", "subject_id", "record", "purpose", "detail", "prev_hash", "hash")
                .from("audit_log").where("seq", .greaterThan, sequence).orderBy("seq").limit(limit)
                .all()
                .map { row in
                    AuditEntry(
                        sequence: try row.decode(column: "seq", as: Int.self),
                        at: try row.decode(column: "at", as: String.self),
                        event: AuditEvent(
                            actor: try row.decode(column: "actor", as: String.self),
                            action: try row.decode(column: "action", as: String.self),
                            subjectID: try row.decode(column: "subject_id", as: String?.self),
                            record: try row.decode(column: "record", as: String?.self),
                            purpose: try row.decode(column: "purpose", as: String?.self),
                            detail: try row.decode(column: "detail", as: String.self)
                        ),
                        previousHash: try row.decode(column: "prev_hash", as: String.self),
                        hash: try row.decode(column: "hash", as: String.self)
                    )
                }
        }
    }

    /// Recomputes the whole chain and names the first entry that does not match.
    public static func verify(_ database: Database) async throws -> AuditVerification {
        try await verify(database, after: .genesis).verification
    }

    /// Checks the entries after `checkpoint`, the last entry an earlier check found intact: first that this entry is
    /// still there, unchanged (a chain rewritten or cut back from there on fails here), then every later entry as the
    /// whole-chain check does. Returns the outcome and the checkpoint to continue from next time (the last entry
    /// checked; `checkpoint` itself when the chain is broken). Entries before the checkpoint are not read again, so
    /// only a whole-chain check finds a change to them that leaves the checkpoint's own entry alone.
    public static func verify(
        _ database: Database,
        after checkpoint: AuditCheckpoint
    ) async throws
        -> (verification: AuditVerification, checkpoint: AuditCheckpoint)
    {
        let key = database.auditKey
        if checkpoint.sequence > 0 {
            let anchor = try await entries(in: database, after: checkpoint.sequence - 1, limit: 1).first
            guard let anchor, anchor.sequence == checkpoint.sequence else {
                return (.broken(sequence: checkpoint.sequence, reason: .missing(next: anchor?.sequence)), checkpoint)
            }
            guard anchor.hash == checkpoint.hash,
                check(anchor, key: key, keyedBefore: false) == nil
            else {
                return (.broken(sequence: anchor.sequence, reason: .changedSinceChecked), checkpoint)
            }
        }
        var expectedSequence = checkpoint.sequence + 1
        var previous = checkpoint.hash
        var keyedBefore = checkpoint.hash.hasPrefix(keyedPrefix)
        while true {
            // A long chain is read a page at a time; a cancelled check (the server stopping) ends between pages.
            try Task.checkCancellation()
            let page = try await entries(in: database, after: expectedSequence - 1)
            if page.isEmpty {
                return (.intact(entries: expectedSequence - 1), AuditCheckpoint(sequence: expectedSequence - 1, hash: previous))
            }
            for entry in page {
                if entry.sequence != expectedSequence {
                    return (.broken(sequence: expectedSequence, reason: .missing(next: entry.sequence)), checkpoint)
                }
                if entry.previousHash != previous {
                    return (.broken(sequence: entry.sequence, reason: .link), checkpoint)
                }
                if let reason = check(entry, key: key, keyedBefore: keyedBefore) {
                    return (.broken(sequence: entry.sequence, reason: reason), checkpoint)
                }
                keyedBefore = keyedBefore || entry.hash.hasPrefix(keyedPrefix)
                previous = entry.hash
                expectedSequence += 1
            }
        }
    }
}

/// A place in the chain up to which it was found intact: an entry's sequence number and hash.
public struct AuditCheckpoint: Sendable, Hashable {
    public let sequence: Int
    public let hash: String

    public init(sequence: Int, hash: String) {
        self.sequence = sequence
        self.hash = hash
    }

    /// Before the first entry.
    public static let genesis = AuditCheckpoint(sequence: 0, hash: AuditLog.genesis)
}
