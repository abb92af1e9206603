import Foundation
import SQLKit

/// A person's rights over their data that the system enforces itself: suspension of use per purpose (R-PUR-2,
/// R-DSR-1) and erasure by destroying the person's key (R-DSR-5).
public struct SubjectRights: Sendable {
    public let vault: InquiryVault

    /// Purpose id meaning "every purpose".
    public static let allPurposes = "*"
    /// Purpose id recording that the person stopped provision to third parties (R-DSR-1).
    public static let provisionPurpose = "third-party-provision"

    public static let migration = Migration(
        version: 5,
        name: "suspensions and erasures",
        portable: [
            """
            CREATE TABLE suspensions (
                subject_id TEXT NOT NULL,
                purpose_id TEXT NOT NULL,
                source TEXT NOT NULL,
                created_at {timestamp} NOT NULL,
                PRIMARY KEY (subject_id, purpose_id)
            )
            """,
            """
            CREATE TABLE erasures (
                subject_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                erased_at {timestamp} NOT NULL
            )
            """,
        ]
    )

    public init(vault: InquiryVault) {
        self.vault = vault
    }

    /// Stops every use of the person's data for `purpose` (or `allPurposes`) at once: the purpose guard refuses it
    /// from the next read on, for staff and every feature alike.
    public func suspend(subjectID: String, purpose: String, actor: String, source: String, at now: Date = Date()) async throws {
        let kind = vault.database.kind
        try await vault.database.transaction { db in
            try await db.insert(into: "suspensions").columns("subject_id", "purpose_id", "source", "created_at")
                .values(SQLBind(subjectID), SQLBind(purpose), SQLBind(source), Timestamp.bind(now, kind))
                .ignoringConflicts(with: ["subject_id", "purpose_id"]).run()
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: "purpose.suspend",
                    subjectID: subjectID,
                    purpose: purpose,
                    detail: "source=\(source)"
                ),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    /// Allows `purpose` again (the person asked to resume).
    public func resume(subjectID: String, purpose: String, actor: String, at now: Date = Date()) async throws {
        let kind = vault.database.kind
        try await vault.database.transaction { db in
            try await db.delete(from: "suspensions").where("subject_id", .equal, subjectID).where("purpose_id", .equal, purpose).run()
            try await AuditLog.append(
                AuditEvent(actor: actor, action: "purpose.resume", subjectID: subjectID, purpose: purpose),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    /// The purposes suspended for the person (`allPurposes` when everything is).
    public func suspendedPurposes(subjectID: String) async throws -> Set<String> {
        try await Self.suspendedPurposes(subjectID: subjectID, in: vault.database)
    }

    static func suspendedPurposes(subjectID: String, in database: Database) async throws -> Set<String> {
        Set(
            try await database.read { db in
                try await db.select().column("purpose_id").from("suspensions").where("subject_id", .equal, subjectID)
                    .all(decodingColumn: "purpose_id", as: String.self)
            }
        )
    }

    /// What an erasure did.
    public struct Erasure: Sendable, Hashable {
        public let inquiries: Int
        public let requests: Int
        /// Keys destroyed: the person's own, their requests' and their code mails'.
        public let keys: Int
        /// False when SQLite's write-ahead log could not be truncated at once (a long reader); the key rows are gone,
        /// an old copy of their page stays in the log until the next checkpoint. Recorded in the audit entry.
        public let logTruncated: Bool
    }

    /// Erases the person, following `ErasurePlan` (R-DSR-5):
    ///
    /// 1. every key that seals something of theirs is destroyed in the key store, in one transaction — the person's
    ///    own, each of their requests' and each of their code mails' — which makes every sealed field of theirs
    ///    unreadable in this database and in every copy of it;
    /// 2. then, in one transaction of the data database, their rows go (inquiries with fields, answers and forwarding
    ///    notes; consents; suspensions; queued mail; identifier links and their events; codes and sessions; the blind
    ///    index), their requests are emptied of every personal field (number, type, dates and outcome stay), the
    ///    erasure record and the audit entry are written, and `finishing` runs (a request that asked for the erasure
    ///    is closed in the same commit).
    ///
    /// The two databases are separate, so the steps cannot share one transaction. A crash after step 1 leaves rows
    /// that nobody can read any more; running the erasure again (the request is still open, `/me` still finds the
    /// person) finishes it. A crash during either step leaves that step undone as a whole.
    @discardableResult
    public func erase(
        subjectID: String,
        actor: String,
        source: String,
        at now: Date = Date(),
        finishing: (@Sendable (any SQLDatabase) async throws -> Void)? = nil
    ) async throws -> Erasure {
        let kind = vault.database.kind
        // What seals something of theirs: their requests (matched to them, or sent from their address) and their
        // one-time code mails.
        let (emailIndex, requestKeys, codeKeys) = try await vault.database.read { db -> (String?, [String], [String]) in
            let index = try await db.select().column("email_index").from("subjects").where("id", .equal, subjectID)
                .first(decodingColumn: "email_index", as: String.self)
            var requests = db.select().column("key_id").from("requests").where("subject_id", .equal, subjectID)
            if let index { requests = requests.orWhere("email_index", .equal, index) }
            let requestKeys = try await requests.all(decodingColumn: "key_id", as: String.self)
            let codeKeys =
                index == nil
                ? []
                : try await db.select().column("key_id").from("access_codes")
                    .where("email_index", .equal, index ?? "").where("key_id", .isNot, SQLLiteral.null)
                    .all(decodingColumn: "key_id", as: String.self)
            return (index, requestKeys, codeKeys)
        }
        let keyIDs = [subjectID] + requestKeys + codeKeys.filter { !$0.isEmpty }
        let truncated = try await vault.keys.destroy(subjectIDs: keyIDs)
        let counts = try await vault.database.transaction { db -> (Int, Int) in
            let inquiries = try await db.select().column("id").from("inquiries").where("subject_id", .equal, subjectID)
                .all(decodingColumn: "id", as: String.self)
            // Answers, fields and forwarding notes go with their inquiry (ON DELETE CASCADE).
            try await db.delete(from: "inquiries").where("subject_id", .equal, subjectID).run()
            // Events of the person's linked identifiers are their data (R-INF-2): they go too.
            for identifier in try await ConsentLedger.linkedIdentifiers(subjectID: subjectID, in: db) {
                try await db.delete(from: "consent_events").where("identifier", .equal, identifier).run()
            }
            // Consent records the mail act keeps a month past the last mail stay, by the address's blind index.
            _ = try await MailConsentRecords.retain(subjectID: subjectID, emailIndex: emailIndex, in: db, at: now, kind: kind)
            for table in ["consents", "suspensions", "identifier_links", "campaign_recipients", "survey_answers", "incident_people"] {
                try await db.delete(from: table).where("subject_id", .equal, subjectID).run()
            }
            // Mail sealed under any of the destroyed keys can never be read: it goes.
            try await db.delete(from: "outbox").where("subject_id", .in, keyIDs).run()
            // Their requests stay as records of what was asked and done, emptied of everything personal.
            if !requestKeys.isEmpty {
                // Their download codes (hashed, short-lived) go with the content of the requests they were for.
                let requestIDs = try await db.select().column("id").from("requests").where("key_id", .in, requestKeys)
                    .all(decodingColumn: "id", as: String.self)
                try await db.delete(from: "download_codes").where("request_id", .in, requestIDs).run()
                try await db.update("requests").set("email_index", to: "").set("sealed", to: Outbox.emptied)
                    .where("key_id", .in, requestKeys).run()
            }
            if let emailIndex {
                try await db.delete(from: "access_codes").where("email_index", .equal, emailIndex).run()
                try await db.delete(from: "access_sessions").where("email_index", .equal, emailIndex).run()
                try await db.delete(from: "address_limits").where("email_index", .equal, emailIndex).run()
            }
            try await db.delete(from: "subjects").where("id", .equal, subjectID).run()
            try await db.insert(into: "erasures").columns("subject_id", "source", "erased_at")
                .values(SQLBind(subjectID), SQLBind(source), Timestamp.bind(now, kind))
                .ignoringConflicts(with: "subject_id").run()
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: "subject.erase",
                    subjectID: subjectID,
                    detail:
                        "source=\(source) inquiries=\(inquiries.count) requests=\(requestKeys.count) keys=\(keyIDs.count) log-truncated=\(truncated)"
                ),
                in: db,
                kind: kind,
                at: now
            )
            try await finishing?(db)
            return (inquiries.count, requestKeys.count)
        }
        return Erasure(inquiries: counts.0, requests: counts.1, keys: keyIDs.count, logTruncated: truncated)
    }

    /// Sets one field of one of the person's inquiries to a new value, validated by the field's rules and sealed
    /// again under the person's key; an empty value deletes the field (R-SELF-1, R-DSR-1).
    public func correct(
        subjectID: String,
        _ correction: RightsRequestDesk.Correction,
        policy: Policy,
        actor: String,
        source: String,
        at now: Date = Date()
    ) async throws {
        let database = vault.database
        let kind = database.kind
        guard let field = policy.fields.first(where: { $0.id == correction.fieldID }) else {
            throw RightsRequestError.unknownField(correction.fieldID)
        }
        guard
            let inquiryID = try await database.read({ db in
                try await db.select().column("id").from("inquiries").where("number", .equal, correction.inquiryNumber)
                    .where("subject_id", .equal, subjectID).first(decodingColumn: "id", as: String.self)
            })
        else { throw RightsRequestError.unknownInquiry(correction.inquiryNumber) }
        var value = ""
        if !correction.value.isEmpty {
            switch FieldRules.normalise(correction.value, for: field) {
            case let .success(normal): value = normal
            case let .failure(problem): throw RightsRequestError.invalidValue(problem)
            }
        }
        guard let key = try await vault.keys.key(subjectID: subjectID) else { throw RightsRequestError.notOpen }
        let sealed = value.isEmpty ? nil : try SealedField.seal(value, key: key, context: "inquiry/\(inquiryID)/\(field.id)")
        // A changed e-mail address moves the person's blind index with it, so a code sent to the new address finds
        // them (and the old address no longer does); an address that is already someone else's is refused.
        let newIndex = field.type == .email && !value.isEmpty ? BlindIndex.of(email: value, key: vault.keys.ring.blindIndexKey) : nil
        try await database.transaction { db in
            if let newIndex {
                let holder = try await db.select().column("id").from("subjects").where("email_index", .equal, newIndex)
                    .first(decodingColumn: "id", as: String.self)
                if let holder, holder != subjectID { throw RightsRequestError.emailInUse }
                if holder == nil,
                    let oldIndex = try await db.select().column("email_index").from("subjects").where("id", .equal, subjectID)
                        .first(decodingColumn: "email_index", as: String.self)
                {
                    try await db.update("subjects").set("email_index", to: newIndex).where("id", .equal, subjectID).run()
                    // The person's open /me sessions follow the address they now use.
                    try await db.update("access_sessions").set("email_index", to: newIndex).where("email_index", .equal, oldIndex).run()
                    try await AuditLog.append(
                        AuditEvent(
                            actor: actor,
                            action: "subject.email-change",
                            subjectID: subjectID,
                            detail: "source=\(source)"
                        ),
                        in: db,
                        kind: kind,
                        at: now
                    )
                }
            }
            try await db.delete(from: "inquiry_fields").where("inquiry_id", .equal, inquiryID).where("field_id", .equal, field.id).run()
            if let sealed {
                try await db.insert(into: "inquiry_fields").columns("inquiry_id", "field_id", "sealed")
                    .values(SQLBind(inquiryID), SQLBind(field.id), SQLBind(sealed)).run()
            }
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: sealed == nil ? "field.delete" : "field.correct",
                    subjectID: subjectID,
                    record: "inquiry:\(inquiryID)",
                    detail: "field=\(field.id) source=\(source)"
                ),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    /// When the person was erased, or nil.
    public func erasedAt(subjectID: String) async throws -> Date? {
        let kind = vault.database.kind
        guard
            let row = try await vault.database.read({ db in
                try await db.select().column("erased_at").from("erasures").where("subject_id", .equal, subjectID).first()
            })
        else { return nil }
        return try Timestamp.decode(row, column: "erased_at", kind)
    }
}
