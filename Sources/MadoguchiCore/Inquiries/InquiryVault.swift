import Crypto
import Foundation
import PostgresNIO
import SQLKit

/// A message to send, sealed in the outbox with the change that causes it.
public struct OutgoingMail: Sendable, Hashable, Codable {
    public var to: String
    public var subject: String
    public var body: String
    /// The https address that stops this kind of mail in one click (RFC 8058); campaign mail only.
    public var listUnsubscribe: String?

    public init(to: String, subject: String, body: String, listUnsubscribe: String? = nil) {
        self.to = to
        self.subject = subject
        self.body = body
        self.listUnsubscribe = listUnsubscribe
    }
}

/// What a person is told after sending an inquiry.
public struct InquiryReceipt: Sendable, Hashable {
    public let id: String
    /// The number the person quotes (e.g. `Q20261129-7KXM4P`).
    public let number: String
    public let subjectID: String
    /// Whether the same person sent inquiries before, which this one is now linked to (R-PUR-4). (Whether, not how
    /// many: counting them cost PostgreSQL a heap visit per earlier inquiry of a returning person on every intake.)
    public let linkedToEarlier: Bool
}

/// Stores inquiries with every personal field sealed under the person's own key (R-SEC-1), linking a person's
/// inquiries through the blind index of their e-mail address (R-PUR-4). The inquiry, its fields, the consent, the
/// confirmation mail and the audit entry commit in one transaction.
public struct InquiryVault: Sendable {
    public let database: Database
    public let keys: SubjectKeyStore

    public static let migration = Migration(
        version: 3,
        name: "subjects and inquiries",
        portable: [
            """
            CREATE TABLE subjects (
                id TEXT PRIMARY KEY,
                email_index TEXT NOT NULL UNIQUE,
                created_at {timestamp} NOT NULL
            )
            """,
            """
            CREATE TABLE inquiries (
                id TEXT PRIMARY KEY,
                number TEXT NOT NULL UNIQUE,
                subject_id TEXT NOT NULL REFERENCES subjects (id),
                service_id TEXT NOT NULL,
                status TEXT NOT NULL,
                department_id TEXT,
                policy_version TEXT NOT NULL,
                created_at {timestamp} NOT NULL,
                updated_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX inquiries_subject ON inquiries (subject_id)",
            "CREATE INDEX inquiries_service_created ON inquiries (service_id, created_at)",
            """
            CREATE TABLE inquiry_fields (
                inquiry_id TEXT NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
                field_id TEXT NOT NULL,
                sealed {bytes} NOT NULL,
                PRIMARY KEY (inquiry_id, field_id)
            )
            """,
            """
            CREATE TABLE consents (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL REFERENCES subjects (id),
                purpose_id TEXT NOT NULL,
                granted {bool} NOT NULL,
                policy_version TEXT NOT NULL,
                source TEXT NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX consents_subject ON consents (subject_id, purpose_id)",
            """
            CREATE TABLE outbox (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                sealed {bytes} NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at {timestamp} NOT NULL,
                created_at {timestamp} NOT NULL,
                sent_at {timestamp}
            )
            """,
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
        ]
    )

    public init(database: Database, keys: SubjectKeyStore) {
        self.database = database
        self.keys = keys
    }

    /// Stores a validated inquiry; `confirmation` (if any) is queued in the same transaction.
    /// `identifier` is the browser's site identifier, if it sent one: it is linked to the person (R-INF-1, R-INF-2).
    public func submit(
        _ inquiry: ValidatedInquiry,
        policy: Policy,
        confirmation: ((String) -> OutgoingMail)? = nil,
        identifier: String? = nil,
        consentText: String? = nil,
        at now: Date = Date()
    ) async throws -> InquiryReceipt {
        // A conflict means two first inquiries from one new address raced (the loser now finds the winner's
        // subject), or the random inquiry number was taken (the next attempt draws another).
        var attempt = 1
        while true {
            do {
                return try await attemptSubmit(
                    inquiry,
                    policy: policy,
                    confirmation: confirmation,
                    identifier: identifier,
                    consentText: consentText,
                    at: now
                )
            } catch is WriteConflict where attempt < 4 {
                attempt += 1
            }
        }
    }

    private func attemptSubmit(
        _ inquiry: ValidatedInquiry,
        policy: Policy,
        confirmation: ((String) -> OutgoingMail)?,
        identifier: String?,
        consentText: String?,
        at now: Date
    ) async throws -> InquiryReceipt {
        let kind = database.kind
        let emailIndex = BlindIndex.of(email: inquiry.email, key: keys.ring.blindIndexKey)
        // The person and whether they sent inquiries before, in one read.
        let existing: (id: String, earlier: Bool)?
        if let rows = try await database.prepared(SubjectLookup(emailIndex: emailIndex)) {
            existing = rows.first.map { (id: $0.0, earlier: $0.1) }
        } else {
            existing = try await database.read { db in
                guard
                    let row = try await db.raw(
                        """
                        SELECT s.id AS id, CASE WHEN EXISTS (SELECT 1 FROM inquiries i WHERE i.subject_id = s.id) THEN 1 ELSE 0 END AS earlier
                        FROM subjects s WHERE s.email_index = \(bind: emailIndex)
                        """
                    ).first()
                else { return nil }
                return (try row.decode(column: "id", as: String.self), try row.decode(column: "earlier", as: Int.self) != 0)
            }
        }
        let subjectID: String
        let subjectKey: SymmetricKey
        if let existing {
            guard let key = try await keys.key(subjectID: existing.id) else {
                // The person was erased while their index row remained: nothing can be added under a destroyed key.
                throw SubjectErased()
            }
            (subjectID, subjectKey) = (existing.id, key)
        } else {
            let fresh = try await keys.newSubject()
            (subjectID, subjectKey) = (fresh.subjectID, fresh.key)
        }
        let inquiryID = RecordID.make()
        let number = Self.inquiryNumber(at: now)
        let optional = inquiry.consentToOptionalPurposes ? policy.optionalPurposes.map(\.id) : []
        let earlier = existing?.earlier ?? false
        let stamp = Timestamp.bind(now, kind)

        var writes = WriteSet(at: now)
        if existing == nil {
            writes.claim(
                "subjects",
                key: subjectID,
                columns: ["id", "email_index", "created_at"],
                values: [SQLBind(subjectID), SQLBind(emailIndex), stamp],
                uniqueOn: "email_index"
            )
        }
        // Consent and the browser's identifier wait on the inquiry until the address's owner confirms it by the link
        // in the receipt mail (`confirm`): anyone can type someone else's address into a form (ADR 0004).
        let pendingIdentifier = identifier.flatMap { ConsentEvent.isIdentifier($0) ? $0 : nil }
        let pendingConsents: String? = optional.isEmpty ? nil : optional.joined(separator: ",")
        // The words the person ticked, kept with the consent once it counts (R-PUR-5).
        let pendingText: String? = optional.isEmpty ? nil : String((consentText ?? "").prefix(2_000))
        writes.claim(
            "inquiries",
            key: inquiryID,
            columns: [
                "id", "number", "subject_id", "service_id", "status", "policy_version", "created_at", "updated_at",
                "pending_consents", "pending_identifier", "pending_consent_text",
            ],
            values: [
                SQLBind(inquiryID), SQLBind(number), SQLBind(subjectID), SQLBind(inquiry.service.id),
                SQLBind(InquiryStatus.new.rawValue), SQLBind(inquiry.policyVersion), stamp, stamp,
                SQLBind(pendingConsents), SQLBind(pendingIdentifier), SQLBind(pendingText),
            ],
            uniqueOn: "number"
        )
        let fields = inquiry.values.keys.sorted()
        for fieldID in fields {
            let sealed = try SealedField.seal(inquiry.values[fieldID]!, key: subjectKey, context: "inquiry/\(inquiryID)/\(fieldID)")
            writes.insert(
                into: "inquiry_fields",
                columns: ["inquiry_id", "field_id", "sealed"],
                values: [SQLBind(inquiryID), SQLBind(fieldID), SQLBind(sealed)]
            )
        }
        if let confirmation {
            Outbox.add(
                try Outbox.seal(confirmation(number), key: subjectKey),
                subjectID: subjectID,
                kind: "inquiry-confirmation",
                to: &writes,
                dialect: kind
            )
        }
        // The statistics tally: day, service and the chosen category, naming no one (R-STA-1).
        let category = policy.statisticsCategoryField.flatMap { inquiry.values[$0.id] }
        StatisticsDesk.count(service: inquiry.service.id, category: category, at: now, in: &writes)
        writes.audit(
            AuditEvent(
                actor: "person",
                action: "inquiry.create",
                subjectID: subjectID,
                record: "inquiry:\(inquiryID)",
                detail:
                    "service=\(inquiry.service.id) fields=\(fields.joined(separator: ",")) pending-consents=\(optional.joined(separator: ",")) linked=\(earlier ? "yes" : "no")"
            )
        )
        try await database.commit(writes)
        return InquiryReceipt(id: inquiryID, number: number, subjectID: subjectID, linkedToEarlier: earlier)
    }

    /// The intake's person lookup on PostgreSQL, prepared once per connection (`Database.prepared`); the same query as
    /// the SQLite one above.
    struct SubjectLookup: PostgresPreparedStatement {
        static let sql =
            "SELECT s.id, EXISTS (SELECT 1 FROM inquiries i WHERE i.subject_id = s.id) FROM subjects s WHERE s.email_index = $1"
        typealias Row = (String, Bool)
        let emailIndex: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(emailIndex)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }

    /// Migration 13: an inquiry is confirmed by its sender (the link in the receipt mail) before its consent counts,
    /// its browser identifier is linked, or its items are used to recognise the person. Inquiries stored before
    /// confirmation existed count as confirmed at their creation (their consent was recorded at once then).
    public static let confirmationMigration = Migration(
        version: 13,
        name: "inquiry confirmation",
        portable: [
            "ALTER TABLE inquiries ADD COLUMN confirmed_at {timestamp}",
            "ALTER TABLE inquiries ADD COLUMN pending_consents TEXT",
            "ALTER TABLE inquiries ADD COLUMN pending_identifier TEXT",
            "UPDATE inquiries SET confirmed_at = created_at",
        ]
    )

    /// How long the confirmation link of an inquiry works.
    public static let confirmationLifetime: TimeInterval = 30 * 86_400

    /// The token of the confirmation link in an inquiry's receipt mail.
    public func confirmationToken(number: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("confirm-inquiry:\(number)".utf8), using: keys.ring.linkKey))
    }

    /// What confirming an inquiry did.
    public enum Confirmation: Sendable, Hashable {
        /// Confirmed now: these consents were granted, dated now, and the browser identifier (if any) linked.
        case confirmed(consents: [String])
        /// It was confirmed before.
        case alreadyConfirmed
        /// No such inquiry, a wrong token, or the link is older than `confirmationLifetime`.
        case invalid
    }

    /// Confirms inquiry `number` from the link in its receipt mail: the address's owner sent it. Its pending consents
    /// are granted from now (the consent dates from the confirmation), its browser identifier is linked, and its items
    /// count as the person's registered items for recognising their requests (R-PUR-5, R-INF-1, R-DSR-2). Audited.
    public func confirm(number: String, token: String, at now: Date = Date()) async throws -> Confirmation {
        guard number.utf8.count <= 32, token.utf8.count == 64,
            RightsRequestDesk.constantTimeEqual(confirmationToken(number: number), token)
        else { return .invalid }
        let kind = database.kind
        let lifetime = Self.confirmationLifetime
        return try await database.transaction { db -> Confirmation in
            guard
                let row = try await db.raw(
                    """
                    SELECT id, subject_id, policy_version, pending_consents, pending_identifier, pending_consent_text, created_at,
                           CASE WHEN confirmed_at IS NULL THEN 0 ELSE 1 END AS done
                    FROM inquiries WHERE number = \(bind: number)
                    """
                ).first()
            else { return .invalid }
            if try row.decode(column: "done", as: Int.self) == 1 { return .alreadyConfirmed }
            guard now.timeIntervalSince(try Timestamp.decode(row, column: "created_at", kind)) <= lifetime else { return .invalid }
            let id = try row.decode(column: "id", as: String.self)
            let subjectID = try row.decode(column: "subject_id", as: String.self)
            let version = try row.decode(column: "policy_version", as: String.self)
            let consents = (try row.decode(column: "pending_consents", as: String?.self) ?? "").split(separator: ",").map(String.init)
            let identifier = try row.decode(column: "pending_identifier", as: String?.self)
            let shownText = try row.decode(column: "pending_consent_text", as: String?.self)
            guard
                try await db.update("inquiries").set("confirmed_at", to: Timestamp.bind(now, kind))
                    .set("pending_consents", to: SQLLiteral.null).set("pending_identifier", to: SQLLiteral.null)
                    .set("pending_consent_text", to: SQLLiteral.null)
                    .where("id", .equal, id).where("confirmed_at", .is, SQLLiteral.null).returning("id").first() != nil
            else { return .alreadyConfirmed }
            for purpose in consents {
                try await PurposeConsents.insert(
                    in: db,
                    subjectID: subjectID,
                    purpose: purpose,
                    granted: true,
                    version: version,
                    source: "inquiry-form",
                    shownText: shownText,
                    at: now,
                    kind: kind
                )
            }
            if let identifier {
                // The first person an identifier is linked to keeps it (a shared browser does not merge two people).
                try await db.insert(into: "identifier_links").columns("identifier", "subject_id", "created_at")
                    .values(SQLBind(identifier), SQLBind(subjectID), Timestamp.bind(now, kind)).ignoringConflicts(with: "identifier").run()
            }
            try await AuditLog.append(
                AuditEvent(
                    actor: "person",
                    action: "inquiry.confirm",
                    subjectID: subjectID,
                    record: "inquiry:\(id)",
                    detail: "consents=\(consents.joined(separator: ",")) linked=\(identifier != nil)"
                ),
                in: db,
                kind: kind,
                at: now
            )
            return .confirmed(consents: consents)
        }
    }

    static let numberAlphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")

    /// `Q` + the date in Japan + six random characters that cannot be misread (no 0/O, 1/I).
    static let tokyoCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Tokyo")!
        return calendar
    }()

    /// Numbers are drawn at random (they reveal nothing about volume); a number already taken that day is drawn again.
    static func inquiryNumber(at date: Date) -> String {
        let parts = tokyoCalendar.dateComponents([.year, .month, .day], from: date)
        let suffix = String((0..<6).map { _ in numberAlphabet.randomElement()! })
        return String(format: "Q%04d%02d%02d-", parts.year!, parts.month!, parts.day!) + suffix
    }
}

/// Where an inquiry stands.
public enum InquiryStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case new
    case inProgress = "in-progress"
    case answered
    case closed
}

/// A person's index row was found but their key is gone. Erasure removes both together, so this means an erasure
/// was interrupted; the request fails rather than store data nobody could read.
public struct SubjectErased: Error, Sendable {}
