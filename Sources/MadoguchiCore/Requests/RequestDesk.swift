import Crypto
import Foundation
import SQLKit

/// The requests a person can make about their data (R-DSR-1).
public enum RequestType: String, Sendable, Hashable, Codable, CaseIterable {
    /// 開示: everything held about the person.
    case disclosure
    /// 訂正・追加・削除: correct, add to or delete part of what is held.
    case correction
    /// 利用停止: stop using the data for some purposes or for all.
    case suspension
    /// 消去: erase everything.
    case erasure
    /// 第三者提供の停止: stop providing the data to third parties.
    case stopProvision = "stop-provision"
    /// 第三者提供記録の開示: the records of provision to third parties.
    case provisionRecords = "provision-records"

    public var name: LocalizedText {
        switch self {
        case .disclosure: LocalizedText(ja: "開示", en: "Disclosure")
        case .correction: LocalizedText(ja: "訂正・追加・削除", en: "Correction, addition or deletion")
        case .suspension: LocalizedText(ja: "利用停止", en: "Suspension of use")
        case .erasure: LocalizedText(ja: "消去", en: "Erasure")
        case .stopProvision: LocalizedText(ja: "第三者提供の停止", en: "Stop of provision to third parties")
        case .provisionRecords: LocalizedText(ja: "第三者提供記録の開示", en: "Disclosure of provision records")
        }
    }
}

/// How a disclosure is delivered.
public enum DisclosureFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case json
    case csv
}

/// What a person sends to start a request, before validation.
public struct RequestSubmission: Sendable, Hashable {
    public var type: String
    public var email: String
    public var name: String
    public var phone: String?
    public var details: String?
    public var purposes: [String]?
    public var delivery: String?
    /// The browser's site identifier, if it sent one: linked to the person once the request is verified (R-INF-1).
    public var identifier: String?

    public init(
        type: String,
        email: String,
        name: String,
        phone: String? = nil,
        details: String? = nil,
        purposes: [String]? = nil,
        delivery: String? = nil,
        identifier: String? = nil
    ) {
        self.type = type
        self.email = email
        self.name = name
        self.phone = phone
        self.details = details
        self.purposes = purposes
        self.delivery = delivery
        self.identifier = identifier
    }
}

/// The sealed content of a request.
public struct RequestContent: Sendable, Hashable, Codable {
    public var email: String
    public var name: String
    public var phone: String?
    public var details: String?
    public var purposes: [String]
    public var delivery: DisclosureFormat
    public var identifier: String?
}

extension RequestContent {
    /// The content sealed in a request row.
    static func open(_ sealed: Data, key: SymmetricKey, requestID: String) throws -> RequestContent {
        try JSONDecoder().decode(RequestContent.self, from: Data(try SealedField.open(sealed, key: key, context: "request/\(requestID)").utf8))
    }
}

/// A request that passed validation.
public struct ValidatedRequest: Sendable, Hashable {
    public let type: RequestType
    public let content: RequestContent
}

/// The problems that stop a request submission, one per field.
public struct RequestProblems: Error, Sendable, Hashable {
    public let problems: [FieldProblem]
}

/// Validates request submissions with the same field rules as inquiries (R-REQ-1).
public enum RequestForm {
    public static let detailsLimit = 4_000

    public static func validate(_ submission: RequestSubmission, policy: Policy) -> Result<ValidatedRequest, RequestProblems> {
        var problems: [FieldProblem] = []
        let type = RequestType(rawValue: submission.type)
        if type == nil { problems.append(FieldProblem(field: "type", code: submission.type.isEmpty ? .missing : .invalidChoice)) }
        func check(_ id: String, _ raw: String?, _ fieldType: FieldType, required: Bool, limit: Int) -> String? {
            let field = Field(
                id: id,
                label: LocalizedText(id),
                type: fieldType,
                required: required,
                purposes: [],
                maxLength: limit,
                choices: [],
                services: []
            )
            guard let raw, !raw.isEmpty else {
                if required { problems.append(FieldProblem(field: id, code: .missing)) }
                return nil
            }
            switch FieldRules.normalise(raw, for: field) {
            case let .success(value):
                if value.isEmpty, required { problems.append(FieldProblem(field: id, code: .missing)) }
                return value.isEmpty ? nil : value
            case let .failure(problem):
                problems.append(problem)
                return nil
            }
        }
        let email = check("email", submission.email, .email, required: true, limit: 254)
        let name = check("name", submission.name, .name, required: true, limit: 100)
        let phone = check("phone", submission.phone, .phone, required: false, limit: 30)
        let details = check("details", submission.details, .textarea, required: type == .correction, limit: detailsLimit)
        var purposes: [String] = []
        if type == .suspension {
            let asked = submission.purposes ?? []
            if asked.isEmpty {
                problems.append(FieldProblem(field: "purposes", code: .missing))
            } else if asked.contains(SubjectRights.allPurposes) {
                purposes = [SubjectRights.allPurposes]
            } else if asked.allSatisfy({ policy.purpose(id: $0) != nil }), Set(asked).count == asked.count {
                purposes = asked
            } else {
                problems.append(FieldProblem(field: "purposes", code: .invalidChoice))
            }
        } else if let asked = submission.purposes, !asked.isEmpty {
            problems.append(FieldProblem(field: "purposes", code: .unknownField))
        }
        var delivery = DisclosureFormat.json
        if let asked = submission.delivery, !asked.isEmpty {
            if let format = DisclosureFormat(rawValue: asked), type == .disclosure || type == .provisionRecords {
                delivery = format
            } else {
                problems.append(FieldProblem(field: "delivery", code: DisclosureFormat(rawValue: asked) == nil ? .invalidChoice : .unknownField))
            }
        }
        guard problems.isEmpty, let type, let email, let name else { return .failure(RequestProblems(problems: problems)) }
        return .success(
            ValidatedRequest(
                type: type,
                content: RequestContent(
                    email: email,
                    name: name,
                    phone: phone,
                    details: details,
                    purposes: purposes,
                    delivery: delivery,
                    identifier: submission.identifier.flatMap { ConsentEvent.isIdentifier($0) ? $0 : nil }
                )
            )
        )
    }
}

/// Where a request stands.
public enum RequestStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting for the person to enter the code sent to their address.
    case unverified
    /// Verified and waiting for staff; the due date runs.
    case open
    /// Carried out.
    case completed
    /// Refused with a reason that was sent to the person (APPI Art. 33(3), 36).
    case refused
    /// Never verified, or the code was tried too often.
    case lapsed
}

/// What a person is told after sending a request: the same whether or not their address is known (R-DSR-2).
public struct RequestReceipt: Sendable, Hashable {
    public let id: String
    public let number: String
    /// The one-time code, to be mailed — never shown in a response.
    public let code: String
    public let expiresAt: Date
}

/// The outcome of entering a code.
public enum VerificationOutcome: Sendable, Hashable {
    /// Verified; the request is open and must be answered by `due`.
    case verified(number: String, due: LocalDate, known: Bool)
    /// Wrong code; this many attempts are left.
    case wrongCode(attemptsLeft: Int)
    /// The code is no longer valid (expired, used up, or the request is not waiting for one).
    case notValid
    /// The code was right but the name or phone does not match what is held; the request lapses.
    case itemMismatch
}

/// Takes requests, verifies the requester's control of the address, and keeps the due dates (R-DSR-1…3).
public struct RequestDesk: Sendable {
    public let vault: InquiryVault
    public static let codeLifetime: TimeInterval = 600
    public static let maximumAttempts = 5

    public static let migration = Migration(
        version: 6,
        name: "requests",
        portable: [
            """
            CREATE TABLE requests (
                id TEXT PRIMARY KEY,
                number TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                status TEXT NOT NULL,
                email_index TEXT NOT NULL,
                key_id TEXT NOT NULL,
                sealed {bytes} NOT NULL,
                code_hash TEXT NOT NULL,
                code_expires_at {timestamp} NOT NULL,
                attempts INTEGER NOT NULL,
                subject_id TEXT,
                received_at {timestamp},
                due_on TEXT,
                closed_at {timestamp},
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX requests_status_due ON requests (status, due_on)",
            "CREATE INDEX requests_subject ON requests (subject_id)",
        ]
    )

    public init(vault: InquiryVault) {
        self.vault = vault
    }

    /// Stores a request, sealed under a key of its own, with a hashed one-time code; `mail` composes the code mail,
    /// queued in the same commit. Nothing here looks the person up, so the work and the answer are the same for
    /// a known and an unknown address.
    public func submit(
        _ request: ValidatedRequest,
        mail: (_ number: String, _ code: String) -> OutgoingMail,
        at now: Date = Date()
    ) async throws -> RequestReceipt {
        var attempt = 1
        while true {
            do {
                return try await attemptSubmit(request, mail: mail, at: now)
            } catch is WriteConflict where attempt < 4 {
                attempt += 1
            }
        }
    }

    private func attemptSubmit(_ request: ValidatedRequest, mail: (String, String) -> OutgoingMail, at now: Date) async throws -> RequestReceipt {
        let kind = vault.database.kind
        let sealKey = try await vault.keys.newSubject()
        let id = RecordID.make(at: now)
        let number = "R" + InquiryVault.inquiryNumber(at: now).dropFirst()
        let code = Self.newCode()
        let expires = now.addingTimeInterval(Self.codeLifetime)
        let content = String(decoding: try JSONEncoder().encode(request.content), as: UTF8.self)
        var writes = WriteSet(at: now)
        writes.claim(
            "requests",
            key: id,
            columns: [
                "id", "number", "type", "status", "email_index", "key_id", "sealed", "code_hash", "code_expires_at",
                "attempts", "created_at",
            ],
            values: [
                SQLBind(id), SQLBind(number), SQLBind(request.type.rawValue), SQLBind(RequestStatus.unverified.rawValue),
                SQLBind(BlindIndex.of(email: request.content.email, key: vault.keys.ring.blindIndexKey)),
                SQLBind(sealKey.subjectID),
                SQLBind(try SealedField.seal(content, key: sealKey.key, context: "request/\(id)")),
                SQLBind(codeHash(code, requestID: id)), Timestamp.bind(expires, kind), SQLBind(0), Timestamp.bind(now, kind),
            ],
            uniqueOn: "number"
        )
        Outbox.add(
            try Outbox.seal(mail(number, code), key: sealKey.key),
            subjectID: sealKey.subjectID,
            kind: "request-code",
            to: &writes,
            dialect: kind
        )
        writes.audit(
            AuditEvent(
                actor: "person",
                action: "request.create",
                record: "request:\(id)",
                detail: "type=\(request.type.rawValue)"
            )
        )
        try await vault.database.commit(writes)
        return RequestReceipt(id: id, number: number, code: code, expiresAt: expires)
    }

    static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next(upperBound: UInt32(1_000_000))
        let digits = String(value)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    func codeHash(_ code: String, requestID: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("\(requestID):\(code)".utf8), using: vault.keys.ring.codeKey))
    }

    /// A token for the verification link in the code mail: proves knowledge of the code without showing it.
    public func linkToken(code: String, requestID: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("link:\(requestID):\(code)".utf8), using: vault.keys.ring.linkKey))
    }

    /// Checks `code` for request `number`. On success the requester controls the address; the request is then
    /// matched to the person (by the blind index) and to one more registered item (name or phone) before it opens.
    /// `calendar` and `answerDays` set the due date, counted from the day of verification in Japan (R-DSR-3).
    /// `confirmation` composes the mail that tells the person the request is received and by when it will be
    /// answered; it is queued in the same commit that opens the request.
    public func verify(
        number: String,
        code: String,
        calendar: BusinessCalendar,
        answerDays: Int,
        confirmation: ((_ address: String, _ due: LocalDate, _ type: RequestType) -> OutgoingMail)? = nil,
        at now: Date = Date()
    ) async throws -> VerificationOutcome {
        let kind = vault.database.kind
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns("id", "type", "status", "email_index", "key_id", "sealed", "code_hash", "code_expires_at", "attempts")
                    .from("requests").where("number", .equal, number).first()
            })
        else { return .notValid }
        let id = try row.decode(column: "id", as: String.self)
        let status = try row.decode(column: "status", as: String.self)
        let attempts = try row.decode(column: "attempts", as: Int.self)
        let expires = try Timestamp.decode(row, column: "code_expires_at", kind)
        guard status == RequestStatus.unverified.rawValue, attempts < Self.maximumAttempts, now < expires else { return .notValid }

        let given = codeHash(code.trimmingCharacters(in: .whitespaces), requestID: id)
        let stored = try row.decode(column: "code_hash", as: String.self)
        guard Self.constantTimeEqual(given, stored) else {
            // Counted in one statement (R-SEC-3): concurrent wrong codes each count, none past the limit, and the one
            // that reaches it lapses the request. The outcome is decided from the row returned.
            let maximum = Self.maximumAttempts
            let counted = try await vault.database.transaction { db -> Int? in
                guard
                    let row = try await db.raw(
                        """
                        UPDATE requests SET attempts = attempts + 1,
                            status = CASE WHEN attempts + 1 >= \(bind: maximum) THEN \(bind: RequestStatus.lapsed.rawValue) ELSE status END
                        WHERE id = \(bind: id) AND status = \(bind: RequestStatus.unverified.rawValue) AND attempts < \(bind: maximum)
                        RETURNING attempts
                        """
                    ).first()
                else { return nil }
                let used = try row.decode(column: "attempts", as: Int.self)
                try await AuditLog.append(
                    AuditEvent(
                        actor: "person",
                        action: "request.code-wrong",
                        record: "request:\(id)",
                        detail: "attempt=\(used)"
                    ),
                    in: db,
                    kind: kind,
                    at: now
                )
                return used
            }
            guard let counted, counted < Self.maximumAttempts else { return .notValid }
            return .wrongCode(attemptsLeft: Self.maximumAttempts - counted)
        }

        // The address is proven. Is the person known, and does one more item match?
        let keyID = try row.decode(column: "key_id", as: String.self)
        guard let requestKey = try await vault.keys.key(subjectID: keyID) else { return .notValid }
        let content = try RequestContent.open(try row.decode(column: "sealed", as: Data.self), key: requestKey, requestID: id)
        let emailIndex = try row.decode(column: "email_index", as: String.self)
        let subjectID = try await vault.database.read { db in
            try await db.select().column("id").from("subjects").where("email_index", .equal, emailIndex)
                .first(decodingColumn: "id", as: String.self)
        }
        if let subjectID, try await !matchesRegisteredItem(subjectID: subjectID, content: content) {
            try await close(id: id, status: .lapsed, action: "request.item-mismatch", subjectID: subjectID, at: now)
            return .itemMismatch
        }
        let today = LocalDate(japanAt: now)
        let due = try calendar.due(received: today, businessDays: answerDays)
        let type = RequestType(rawValue: try row.decode(column: "type", as: String.self)) ?? .disclosure
        let mail = try confirmation.map { compose in try Outbox.seal(compose(content.email, due, type), key: requestKey) }
        let opened = try await vault.database.transaction { db -> Bool in
            // Only one of two concurrent right answers opens the request.
            let changed = try await db.update("requests").set("status", to: RequestStatus.open.rawValue)
                .set("subject_id", to: SQLBind(subjectID ?? ""))
                .set("received_at", to: Timestamp.bind(now, kind)).set("due_on", to: due.description)
                .where("id", .equal, id).where("status", .equal, RequestStatus.unverified.rawValue)
                .where("attempts", .lessThan, Self.maximumAttempts)
                .returning("id").first()
            guard changed != nil else { return false }
            if let mail {
                try await Outbox.insert(mail, subjectID: keyID, kind: "request-received", in: db, dialect: kind, at: now)
            }
            if let subjectID, let identifier = content.identifier {
                // A verified request from a browser links its identifier to the person, unless it is someone else's.
                try await db.insert(into: "identifier_links").columns("identifier", "subject_id", "created_at")
                    .values(SQLBind(identifier), SQLBind(subjectID), Timestamp.bind(now, kind))
                    .ignoringConflicts(with: "identifier").run()
            }
            try await AuditLog.append(
                AuditEvent(
                    actor: "person",
                    action: "request.verify",
                    subjectID: subjectID,
                    record: "request:\(id)",
                    detail: "due=\(due) known=\(subjectID != nil)"
                ),
                in: db,
                kind: kind,
                at: now
            )
            return true
        }
        return opened ? .verified(number: number, due: due, known: subjectID != nil) : .notValid
    }

    /// True when the request's name (spaces ignored, NFKC) or phone (digits) matches one registered by the person:
    /// an item of an inquiry they confirmed from their address (ADR 0004). An inquiry nobody confirmed may have been
    /// typed by someone else with their address, so its items register nothing; a person with no confirmed inquiry
    /// has registered only their address, which the code has just proven.
    func matchesRegisteredItem(subjectID: String, content: RequestContent) async throws -> Bool {
        guard let key = try await vault.keys.key(subjectID: subjectID) else { return false }
        let rows = try await vault.database.read { db in
            try await db.raw(
                """
                SELECT f.inquiry_id AS inquiry_id, f.field_id AS field_id, f.sealed AS sealed
                FROM inquiry_fields f JOIN inquiries i ON i.id = f.inquiry_id
                WHERE i.subject_id = \(bind: subjectID) AND i.confirmed_at IS NOT NULL AND f.field_id IN ('name', 'phone')
                """
            ).all()
        }
        if rows.isEmpty {
            let confirmed = try await vault.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM inquiries WHERE subject_id = \(bind: subjectID) AND confirmed_at IS NOT NULL")
                    .first(decodingColumn: "n", as: Int.self) ?? 0
            }
            return confirmed == 0
        }
        let wantedName = Self.comparable(name: content.name)
        let wantedPhone = content.phone.map(Self.digits)
        for row in rows {
            let inquiryID = try row.decode(column: "inquiry_id", as: String.self)
            let fieldID = try row.decode(column: "field_id", as: String.self)
            let value = try SealedField.open(
                try row.decode(column: "sealed", as: Data.self),
                key: key,
                context: "inquiry/\(inquiryID)/\(fieldID)"
            )
            if fieldID == "name", Self.comparable(name: value) == wantedName { return true }
            if fieldID == "phone", let wantedPhone, !wantedPhone.isEmpty, Self.digits(value) == wantedPhone { return true }
        }
        return false
    }

    static func comparable(name: String) -> String {
        FieldRules.compatibilityNormalised(name).unicodeScalars.filter { !$0.properties.isWhitespace }.map(String.init).joined().lowercased()
    }

    static func digits(_ phone: String) -> String {
        String(FieldRules.compatibilityNormalised(phone).filter { $0.isASCII && $0.isNumber })
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func close(id: String, status: RequestStatus, action: String, subjectID: String?, at now: Date) async throws {
        let kind = vault.database.kind
        try await vault.database.transaction { db in
            try await db.update("requests").set("status", to: status.rawValue).set("closed_at", to: Timestamp.bind(now, kind))
                .where("id", .equal, id).run()
            try await AuditLog.append(
                AuditEvent(actor: "person", action: action, subjectID: subjectID, record: "request:\(id)"),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    /// An open request in the staff queue, without personal data.
    public struct QueueEntry: Sendable, Hashable {
        public let id: String
        public let number: String
        public let type: RequestType
        public let status: RequestStatus
        public let subjectKnown: Bool
        public let receivedAt: Date?
        public let due: LocalDate?

        /// How the due date stands on `today`.
        public func urgency(on today: LocalDate) -> Urgency {
            guard status == .open, let due else { return .none }
            if due < today { return .overdue }
            if due == today { return .dueToday }
            return .onTime
        }
    }

    public enum Urgency: String, Sendable, Hashable {
        case overdue
        case dueToday = "due-today"
        case onTime = "on-time"
        case none
    }

    /// Requests in `statuses`, the earliest due first.
    public func queue(statuses: [RequestStatus] = [.open]) async throws -> [QueueEntry] {
        try await Self.queue(in: vault.database, statuses: statuses)
    }

    /// The queue read straight from the database (no keys needed: it holds no personal data).
    public static func queue(in database: Database, statuses: [RequestStatus] = [.open]) async throws -> [QueueEntry] {
        let kind = database.kind
        return try await database.read { db in
            try await db.select().columns("id", "number", "type", "status", "subject_id", "received_at", "due_on").from("requests")
                .where("status", .in, statuses.map(\.rawValue)).orderBy("due_on").orderBy("created_at").all()
                .map { row in
                    QueueEntry(
                        id: try row.decode(column: "id", as: String.self),
                        number: try row.decode(column: "number", as: String.self),
                        type: RequestType(rawValue: try row.decode(column: "type", as: String.self)) ?? .disclosure,
                        status: RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                        subjectKnown: !(try row.decode(column: "subject_id", as: String?.self) ?? "").isEmpty,
                        receivedAt: try? Timestamp.decode(row, column: "received_at", kind),
                        due: try row.decode(column: "due_on", as: String?.self).flatMap(LocalDate.init(iso:))
                    )
                }
        }
    }
}

/// A request opened by staff: its content decrypted (audited).
public struct RequestDetail: Sendable, Hashable {
    public let entry: RequestDesk.QueueEntry
    public let content: RequestContent
    /// The person the request was matched to on verification ("" when the address is unknown).
    public let subjectID: String
    /// The person's inquiry numbers, for corrections.
    public let inquiryNumbers: [String]
}

/// Why staff could not carry out a request.
public enum RequestActionError: Error, Sendable, Hashable {
    case notOpen
    case unknownField(String)
    case unknownInquiry(String)
    case invalidValue(FieldProblem)
    case reasonMissing
    /// The new e-mail address is already another person's (their blind index): the change is refused.
    case emailInUse
}

extension RequestDesk {
    /// Opens a request for `actor` (its content is personal data: the read is audited).
    public func open(id: String, actor: String) async throws -> RequestDetail? {
        let kind = vault.database.kind
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns("id", "number", "type", "status", "subject_id", "received_at", "due_on", "key_id", "sealed")
                    .from("requests").where("id", .equal, id).first()
            })
        else { return nil }
        guard let key = try await vault.keys.key(subjectID: try row.decode(column: "key_id", as: String.self)) else { return nil }
        let content = try RequestContent.open(try row.decode(column: "sealed", as: Data.self), key: key, requestID: id)
        let subjectID = try row.decode(column: "subject_id", as: String?.self) ?? ""
        let numbers =
            subjectID.isEmpty
            ? []
            : try await vault.database.read { db in
                try await db.select().column("number").from("inquiries").where("subject_id", .equal, subjectID).orderBy("created_at")
                    .all(decodingColumn: "number", as: String.self)
            }
        try await vault.database.transaction { db in
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: "request.read",
                    subjectID: subjectID.isEmpty ? nil : subjectID,
                    record: "request:\(id)"
                ),
                in: db,
                kind: kind
            )
        }
        let entry = QueueEntry(
            id: id,
            number: try row.decode(column: "number", as: String.self),
            type: RequestType(rawValue: try row.decode(column: "type", as: String.self)) ?? .disclosure,
            status: RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
            subjectKnown: !subjectID.isEmpty,
            receivedAt: try? Timestamp.decode(row, column: "received_at", kind),
            due: try row.decode(column: "due_on", as: String?.self).flatMap(LocalDate.init(iso:))
        )
        return RequestDetail(entry: entry, content: content, subjectID: subjectID, inquiryNumbers: numbers)
    }

    /// A correction staff carry out: one field of one of the person's inquiries set to a new value ("" deletes it).
    public struct Correction: Sendable, Hashable {
        public var inquiryNumber: String
        public var fieldID: String
        public var value: String

        public init(inquiryNumber: String, fieldID: String, value: String) {
            self.inquiryNumber = inquiryNumber
            self.fieldID = fieldID
            self.value = value
        }
    }

    /// Carries out an open request — the system does the work: suspension through the purpose guard, erasure by
    /// destroying the key, a correction re-sealed, a disclosure made available — then closes it and queues
    /// `notice` (composed from the request's content) to the person in the same commit.
    public func complete(
        _ detail: RequestDetail,
        correction: Correction? = nil,
        policy: Policy,
        actor: String,
        notice: (RequestContent) -> OutgoingMail,
        at now: Date = Date()
    ) async throws {
        guard detail.entry.status == .open else { throw RequestActionError.notOpen }
        let rights = SubjectRights(vault: vault)
        let source = "request:\(detail.entry.number)"
        let subjectID = detail.subjectID
        if !subjectID.isEmpty {
            switch detail.entry.type {
            case .suspension:
                for purpose in detail.content.purposes {
                    try await rights.suspend(subjectID: subjectID, purpose: purpose, actor: actor, source: source, at: now)
                }
            case .stopProvision:
                try await rights.suspend(subjectID: subjectID, purpose: SubjectRights.provisionPurpose, actor: actor, source: source, at: now)
            case .erasure:
                // The request's own key is destroyed with the person's, so the completion notice is sealed under a key
                // of its own; the request closes in the erasure's commit.
                let noticeKey = try await vault.keys.newSubject()
                let sealed = try Outbox.seal(notice(detail.content), key: noticeKey.key)
                let kind = vault.database.kind
                let id = detail.entry.id
                try await rights.erase(subjectID: subjectID, actor: actor, source: source, at: now) { db in
                    guard
                        try await Self.close(
                            id: id,
                            status: .completed,
                            action: "request.complete",
                            actor: actor,
                            subjectID: subjectID,
                            detail: "",
                            mail: sealed,
                            mailKeyID: noticeKey.subjectID,
                            in: db,
                            kind: kind,
                            at: now
                        )
                    else { throw RequestActionError.notOpen }
                }
                return
            case .correction:
                if let correction {
                    try await rights.correct(subjectID: subjectID, correction, policy: policy, actor: actor, source: source, at: now)
                }
            case .disclosure, .provisionRecords:
                break  // delivered by download (`disclosureToken`)
            }
        }
        try await close(detail, status: .completed, action: "request.complete", actor: actor, detail: "", mail: notice(detail.content), at: now)
    }

    /// Refuses an open request with `reason`, which is sent to the person (APPI Art. 33(3), 36).
    public func refuse(
        _ detail: RequestDetail,
        reason: String,
        actor: String,
        notice: (RequestContent) -> OutgoingMail,
        at now: Date = Date()
    ) async throws {
        guard detail.entry.status == .open else { throw RequestActionError.notOpen }
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw RequestActionError.reasonMissing }
        try await close(detail, status: .refused, action: "request.refuse", actor: actor, detail: "", mail: notice(detail.content), at: now)
    }

    private func close(
        _ detail: RequestDetail,
        status: RequestStatus,
        action: String,
        actor: String,
        detail text: String,
        mail: OutgoingMail,
        at now: Date
    ) async throws {
        let kind = vault.database.kind
        let id = detail.entry.id
        let keyID = try await vault.database.read { db in
            try await db.select().column("key_id").from("requests").where("id", .equal, id).first(decodingColumn: "key_id", as: String.self)
        }
        guard let keyID, let key = try await vault.keys.key(subjectID: keyID) else { throw RequestActionError.notOpen }
        let sealed = try Outbox.seal(mail, key: key)
        let subjectID = detail.subjectID
        let closed = try await vault.database.transaction { db -> Bool in
            try await Self.close(
                id: id,
                status: status,
                action: action,
                actor: actor,
                subjectID: subjectID,
                detail: text,
                mail: sealed,
                mailKeyID: keyID,
                in: db,
                kind: kind,
                at: now
            )
        }
        if !closed { throw RequestActionError.notOpen }
    }

    /// Closes an open request inside the caller's transaction and queues its notice; false when it was not open.
    static func close(
        id: String,
        status: RequestStatus,
        action: String,
        actor: String,
        subjectID: String,
        detail text: String,
        mail: Outbox.Sealed,
        mailKeyID: String,
        in db: any SQLDatabase,
        kind: SQLDialectKind,
        at now: Date
    ) async throws -> Bool {
        let changed = try await db.update("requests").set("status", to: status.rawValue).set("closed_at", to: Timestamp.bind(now, kind))
            .where("id", .equal, id).where("status", .equal, RequestStatus.open.rawValue).returning("id").first()
        guard changed != nil else { return false }
        try await Outbox.insert(mail, subjectID: mailKeyID, kind: "request-\(status.rawValue)", in: db, dialect: kind, at: now)
        try await AuditLog.append(
            AuditEvent(
                actor: actor,
                action: action,
                subjectID: subjectID.isEmpty ? nil : subjectID,
                record: "request:\(id)",
                detail: text
            ),
            in: db,
            kind: kind,
            at: now
        )
        return true
    }

    /// How long the download link of a completed disclosure works.
    public static let downloadLifetime: TimeInterval = 14 * 86_400

    /// A download token for a completed disclosure, valid until `expires` (whole seconds since 1970).
    public func disclosureToken(number: String, expires: Date) -> String {
        // `expires` is the server's own time; a value outside Int's range would be a bug, never a trap.
        let stamp = Int(exactly: expires.timeIntervalSince1970.rounded(.down)) ?? 0
        return "\(stamp).\(downloadMAC(number: number, stamp: String(stamp)))"
    }

    private func downloadMAC(number: String, stamp: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("download:\(number):\(stamp)".utf8), using: vault.keys.ring.linkKey))
    }

    /// The person a valid, unexpired download token of a completed disclosure request is for ("" when unknown);
    /// nil for anything else. The token comes from a URL: its parts are checked as text (digits only, a signature
    /// of the right length) and its time against a window (now … now + the link's lifetime) before any arithmetic,
    /// so no value a client sends can overflow a conversion (R-SEC-3).
    public func disclosureSubject(number: String, token: String, at now: Date = Date()) async throws -> (subjectID: String, format: DisclosureFormat)?
    {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...12).contains(parts[0].utf8.count), parts[0].utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            parts[1].utf8.count == 64, number.utf8.count <= 64,
            Self.constantTimeEqual(downloadMAC(number: number, stamp: String(parts[0])), String(parts[1])),
            let stamp = Int(parts[0])  // at most 12 digits: always in range
        else { return nil }
        let nowSeconds = Int(exactly: now.timeIntervalSince1970.rounded(.down)) ?? 0
        guard stamp > nowSeconds, stamp <= nowSeconds + Int(Self.downloadLifetime) + 60 else { return nil }
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns("id", "type", "status", "subject_id", "key_id", "sealed").from("requests")
                    .where("number", .equal, number).first()
            })
        else { return nil }
        let type = try row.decode(column: "type", as: String.self)
        guard try row.decode(column: "status", as: String.self) == RequestStatus.completed.rawValue,
            type == RequestType.disclosure.rawValue || type == RequestType.provisionRecords.rawValue,
            let key = try await vault.keys.key(subjectID: try row.decode(column: "key_id", as: String.self))
        else { return nil }
        let id = try row.decode(column: "id", as: String.self)
        let content = try RequestContent.open(try row.decode(column: "sealed", as: Data.self), key: key, requestID: id)
        return (try row.decode(column: "subject_id", as: String?.self) ?? "", content.delivery)
    }
}
