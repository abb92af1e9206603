import Foundation
import SQLKit

/// A person's answers about purposes of use (R-VER-2, R-PUR-5): consent to a purpose that needs it (mail magazines,
/// surveys), and consent to a **change of purpose** — a purpose that a newer version of the policy adds to items the
/// person gave under an older one. Every answer is a row of `consents` (the latest one for a purpose decides), kept
/// with the policy version, when, how (`source`) and the exact text the person was shown; each is audited.
public struct PurposeConsents: Sendable {
    public let database: Database
    public let versions: PolicyVersionStore

    public init(database: Database, versions: PolicyVersionStore) {
        self.database = database
        self.versions = versions
    }

    /// A purpose the person is asked about on `/me`.
    public struct Question: Sendable, Hashable {
        public let purpose: Purpose
        /// The person's current answer: true given, false withdrawn, nil never asked.
        public let granted: Bool?
        /// The person's items the newer policy adds to this purpose (empty for a purpose that needs consent anyway).
        public let changedFields: [String]
        /// True when the purpose is asked because the policy changed; false when it needs consent anyway.
        public var isChange: Bool { !changedFields.isEmpty }
    }

    /// The latest answer per purpose for `subjectID`: granted, and under which policy version.
    public func latest(subjectID: String) async throws -> [String: (granted: Bool, version: String)] {
        let rows = try await database.read { db in
            try await db.select().columns("purpose_id", "granted", "policy_version", "created_at", "id").from("consents")
                .where("subject_id", .equal, subjectID).orderBy("created_at").orderBy("id").all()
        }
        var latest: [String: (granted: Bool, version: String)] = [:]
        for row in rows {
            latest[try row.decode(column: "purpose_id", as: String.self)] = (
                try row.decode(column: "granted", as: Bool.self), try row.decode(column: "policy_version", as: String.self)
            )
        }
        return latest
    }

    /// SQL condition: the `consents` row under `alias` is its person's latest answer for its purpose (no later one;
    /// ties broken by id, as everywhere the latest answer decides). `alias` is a fixed identifier, never input.
    static func isLatestAnswer(_ alias: StaticString) -> String {
        let c = "\(alias)"
        return """
            NOT EXISTS (
                SELECT 1 FROM consents later WHERE later.subject_id = \(c).subject_id AND later.purpose_id = \(c).purpose_id
                AND (later.created_at > \(c).created_at OR (later.created_at = \(c).created_at AND later.id > \(c).id))
            )
            """
    }

    /// The latest answer of `subjectID` for `purpose` alone (the purpose guard's question on every read).
    public func latest(subjectID: String, purpose: String) async throws -> (granted: Bool, version: String)? {
        let row = try await database.read { db in
            try await db.select().columns("granted", "policy_version").from("consents")
                .where("subject_id", .equal, subjectID).where("purpose_id", .equal, purpose)
                .orderBy("created_at", .descending).orderBy("id", .descending).limit(1).first()
        }
        guard let row else { return nil }
        return (try row.decode(column: "granted", as: Bool.self), try row.decode(column: "policy_version", as: String.self))
    }

    /// What to ask `subjectID` under `current`: every purpose that needs consent, and every purpose the current
    /// version adds to items they gave under an older version (a change of purpose that needs their consent).
    public func questions(subjectID: String, current: Policy) async throws -> [Question] {
        let answers = try await latest(subjectID: subjectID)
        let collected = try await database.read { db in
            try await db.select()
                .column(SQLColumn("policy_version", table: "inquiries")).column(SQLColumn("field_id", table: "inquiry_fields"))
                .from("inquiries")
                .join("inquiry_fields", on: SQLColumn("inquiry_id", table: "inquiry_fields"), .equal, SQLColumn("id", table: "inquiries"))
                .where(SQLColumn("subject_id", table: "inquiries"), .equal, SQLBind(subjectID))
                .where(SQLColumn("confirmed_at", table: "inquiries"), .isNot, SQLLiteral.null)
                .all()
        }
        var fieldsByVersion: [String: Set<String>] = [:]
        for row in collected {
            fieldsByVersion[try row.decode(column: "policy_version", as: String.self), default: []]
                .insert(try row.decode(column: "field_id", as: String.self))
        }
        var changed: [String: Set<String>] = [:]
        for (version, fields) in fieldsByVersion where version != current.version {
            guard let older = try await versions.policy(version: version) else { continue }
            for change in PolicyDiff.between(older, current).purposeChanges {
                let mine = change.fields.filter { fields.contains($0) }
                if !mine.isEmpty { changed[change.purpose, default: []].formUnion(mine) }
            }
        }
        return current.purposes.compactMap { purpose in
            let fields = changed[purpose.id].map { $0.sorted() } ?? []
            guard purpose.requiresConsent || !fields.isEmpty else { return nil }
            return Question(purpose: purpose, granted: answers[purpose.id]?.granted, changedFields: fields)
        }
    }

    /// Records the person's answer for `purpose` under `policy`, with the text they were shown and how they gave it
    /// (`source`: `me`, `form`, `link`), audited in the same commit. Withdrawal takes effect at once: the purpose
    /// guard reads the latest answer.
    public func record(
        subjectID: String,
        purpose: String,
        granted: Bool,
        policy: Policy,
        source: String,
        shownText: String,
        actor: String = "person",
        at now: Date = Date()
    ) async throws {
        guard policy.purpose(id: purpose) != nil else { throw PurposeConsentError.unknownPurpose(purpose) }
        let kind = database.kind
        try await database.transaction { db in
            try await Self.insert(
                in: db,
                subjectID: subjectID,
                purpose: purpose,
                granted: granted,
                version: policy.version,
                source: source,
                shownText: shownText,
                at: now,
                kind: kind
            )
            // The suppression list follows the person's own answers: a withdrawal suppresses the address for the
            // purpose, and only a consent given here lifts it (a new inquiry does not).
            if let emailIndex = try await db.select().column("email_index").from("subjects").where("id", .equal, subjectID)
                .first(decodingColumn: "email_index", as: String.self)
            {
                if granted {
                    try await db.delete(from: "suppressions").where("email_index", .equal, emailIndex).where("purpose_id", .equal, purpose).run()
                } else {
                    try await Self.suppress(in: db, emailIndex: emailIndex, purpose: purpose, source: source, at: now, kind: kind)
                }
            }
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: granted ? "consent.grant" : "consent.withdraw",
                    subjectID: subjectID,
                    record: "subject:\(subjectID)",
                    purpose: purpose,
                    detail: "source=\(source) version=\(policy.version)"
                ),
                in: db,
                kind: kind
            )
        }
    }

    /// One answer as a `consents` row: every writer of consents (the inquiry's confirmation, `/me`, the unsubscribe
    /// link) records the same facts — when, how, under which version, and the words shown.
    static func insert(
        in db: any SQLDatabase,
        subjectID: String,
        purpose: String,
        granted: Bool,
        version: String,
        source: String,
        shownText: String?,
        at now: Date,
        kind: SQLDialectKind
    ) async throws {
        try await db.insert(into: "consents")
            .columns("id", "subject_id", "purpose_id", "granted", "policy_version", "source", "shown_text", "created_at")
            .values(
                SQLBind(RecordID.make(at: now)),
                SQLBind(subjectID),
                SQLBind(purpose),
                SQLBind(granted),
                SQLBind(version),
                SQLBind(source),
                SQLBind(shownText.map { String($0.prefix(4_000)) }),
                Timestamp.bind(now, kind)
            ).run()
    }

    /// Suppresses `emailIndex` for `purpose` (kept through erasure; see `ErasurePlan`); a second time changes nothing.
    static func suppress(
        in db: any SQLDatabase,
        emailIndex: String,
        purpose: String,
        source: String,
        at now: Date,
        kind: SQLDialectKind
    )
        async throws
    {
        try await db.insert(into: "suppressions").columns("email_index", "purpose_id", "source", "created_at")
            .values(SQLBind(emailIndex), SQLBind(purpose), SQLBind(source), Timestamp.bind(now, kind))
            .ignoringConflicts(with: ["email_index", "purpose_id"]).run()
    }

    /// Migration 14: a consent keeps the exact text the person was shown (R-PUR-5; the Specified E-mail Act's record),
    /// and an inquiry keeps the consent box's words until its sender confirms it.
    public static let migration = Migration(
        version: 14,
        name: "consent text",
        portable: ["ALTER TABLE consents ADD COLUMN shown_text TEXT", "ALTER TABLE inquiries ADD COLUMN pending_consent_text TEXT"]
    )
}

/// An answer about a purpose the policy does not declare.
public enum PurposeConsentError: Error, Sendable, Hashable {
    case unknownPurpose(String)
}

/// The consent records the Act on Specified Electronic Mail wants kept (SEMA Art. 3(2), Rules Art. 5): for an address
/// that was sent mail under a purpose, the records of consent for that purpose stay until a month after the last mail
/// to it — even when the person has themselves erased before then. Erasure copies them here, under the keyed blind
/// index of the address (no address, no name), and housekeeping removes them when the month has passed.
public enum MailConsentRecords {
    /// A calendar month is at most 31 days, and the outbox gives up on a message within a day of writing it
    /// (10 attempts, at most an hour apart): 32 days after the mail was written covers a month after it was sent.
    public static let keptAfterLastMail: TimeInterval = 32 * 86_400

    /// Migration 17.
    public static let migration = Migration(
        version: 17,
        name: "mail-consent-records",
        portable: [
            """
            CREATE TABLE mail_consent_records (
                id TEXT PRIMARY KEY,
                email_index TEXT NOT NULL,
                purpose_id TEXT NOT NULL,
                granted {bool} NOT NULL,
                policy_version TEXT NOT NULL,
                source TEXT NOT NULL,
                shown_text TEXT,
                answered_at {timestamp} NOT NULL,
                last_mail_at {timestamp} NOT NULL,
                keep_until {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX mail_consent_records_keep ON mail_consent_records (keep_until)",
        ]
    )

    /// In the erasure's transaction, before the person's consents and recipient rows go: the consent records of each
    /// purpose they were mailed under within the kept period are copied with the time of the last mail. Returns how
    /// many were kept.
    static func retain(subjectID: String, emailIndex: String?, in db: any SQLDatabase, at now: Date, kind: SQLDialectKind) async throws -> Int {
        guard let emailIndex else { return 0 }
        let lastMails = try await db.raw(
            """
            SELECT c.purpose_id AS purpose_id, MAX(r.updated_at) AS last_mail
            FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
            WHERE r.subject_id = \(bind: subjectID) AND r.status = 'sent'
            GROUP BY c.purpose_id
            """
        ).all()
        var kept = 0
        for row in lastMails {
            let purpose = try row.decode(column: "purpose_id", as: String.self)
            let lastMail = try Timestamp.decode(row, column: "last_mail", kind)
            let keepUntil = lastMail.addingTimeInterval(keptAfterLastMail)
            guard keepUntil > now else { continue }
            kept += try await db.raw(
                """
                INSERT INTO mail_consent_records
                    (id, email_index, purpose_id, granted, policy_version, source, shown_text, answered_at, last_mail_at, keep_until)
                SELECT id, \(bind: emailIndex), purpose_id, granted, policy_version, source, shown_text, created_at,
                       \(Timestamp.bind(lastMail, kind)), \(Timestamp.bind(keepUntil, kind))
                FROM consents WHERE subject_id = \(bind: subjectID) AND purpose_id = \(bind: purpose)
                RETURNING id
                """
            ).all().count
        }
        return kept
    }
}
