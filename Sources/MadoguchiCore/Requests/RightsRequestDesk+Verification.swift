import Crypto
import Foundation
import SQLKit

extension RightsRequestDesk {
    /// Checks `code` for request `number`. On success the requester controls the address; the request is then
    /// matched to the person (by the blind index) and to one more registered item (name or phone) before it opens.
    /// `calendar` and `answerDays` set the due date, counted from the day the request was received in Japan — not
    /// from the verification (R-DSR-3, R-DSR-6).
    /// `confirmation` composes the mail that tells the person the request is received and by when it will be
    /// answered; it is queued in the same commit that opens the request.
    public func verify(
        number: String,
        code: String,
        calendar: BusinessCalendar,
        answerDays: Int,
        confirmation: ((_ address: String, _ due: LocalDate, _ type: RightsRequestType) -> OutgoingMail)? = nil,
        at now: Date = Date()
    ) async throws -> VerificationOutcome {
        let kind = vault.database.kind
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns(
                    "id",
                    "type",
                    "status",
                    "email_index",
                    "key_id",
                    "sealed",
                    "code_hash",
                    "code_expires_at",
                    "attempts",
                    "received_at",
                    "created_at"
                )
                .from("requests").where("number", .equal, number).first()
            })
        else { return .notValid }
        let id = try row.decode(column: "id", as: String.self)
        let status = try row.decode(column: "status", as: String.self)
        let attempts = try row.decode(column: "attempts", as: Int.self)
        let expires = try Timestamp.decode(row, column: "code_expires_at", kind)
        guard status == RightsRequestStatus.unverified.rawValue, attempts < Self.maximumAttempts, now < expires else { return .notValid }

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
                            status = CASE WHEN attempts + 1 >= \(bind: maximum) THEN \(bind: RightsRequestStatus.lapsed.rawValue) ELSE status END
                        WHERE id = \(bind: id) AND status = \(bind: RightsRequestStatus.unverified.rawValue) AND attempts < \(bind: maximum)
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
        let content = try RightsRequestContent.open(
            try row.decode(column: "sealed", as: Data.self),
            key: requestKey,
            requestID: id,
            for: .identityMatch
        )
        let emailIndex = try row.decode(column: "email_index", as: String.self)
        let subjectID = try await vault.database.read { db in
            try await db.select().column("id").from("subjects").where("email_index", .equal, emailIndex)
                .first(decodingColumn: "id", as: String.self)
        }
        if let subjectID, try await !matchesRegisteredItem(subjectID: subjectID, content: content) {
            try await close(id: id, status: .lapsed, action: "request.item-mismatch", subjectID: subjectID, at: now)
            return .itemMismatch
        }
        let received = try Timestamp.decodeIfPresent(row, column: "received_at", kind) ?? Timestamp.decode(row, column: "created_at", kind)
        let due = try calendar.due(received: LocalDate(japanAt: received), businessDays: answerDays)
        let type = RightsRequestType(rawValue: try row.decode(column: "type", as: String.self)) ?? .disclosure
        let mail = try confirmation.map { compose in try Outbox.seal(compose(content.email, due, type), key: requestKey) }
        let opened = try await vault.database.transaction { db -> Bool in
            // Only one of two concurrent right answers opens the request.
            let changed = try await db.update("requests").set("status", to: RightsRequestStatus.open.rawValue)
                .set("subject_id", to: SQLBind(subjectID ?? ""))
                .set("verified_at", to: Timestamp.bind(now, kind)).set("due_on", to: due.description)
                .where("id", .equal, id).where("status", .equal, RightsRequestStatus.unverified.rawValue)
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
    func matchesRegisteredItem(subjectID: String, content: RightsRequestContent) async throws -> Bool {
        guard let key = try await vault.keys.key(subjectID: subjectID) else { return false }
        // One row per confirmed inquiry and item (the item columns NULL for a confirmed inquiry without one).
        let rows = try await vault.database.read { db in
            try await db.raw(
                """
                SELECT i.id AS inquiry_id, f.field_id AS field_id, f.sealed AS sealed
                FROM inquiries i LEFT JOIN inquiry_fields f ON f.inquiry_id = i.id AND f.field_id IN ('name', 'phone')
                WHERE i.subject_id = \(bind: subjectID) AND i.confirmed_at IS NOT NULL
                """
            ).all()
        }
        if rows.isEmpty { return true }
        let wantedName = Self.comparable(name: content.name)
        let wantedPhone = content.phone.map(Self.digits)
        for row in rows {
            let inquiryID = try row.decode(column: "inquiry_id", as: String.self)
            guard let fieldID = try row.decode(column: "field_id", as: String?.self),
                let sealed = try row.decode(column: "sealed", as: Data?.self)
            else { continue }
            let value = try SealedField.open(
                sealed,
                key: key,
                context: "inquiry/\(inquiryID)/\(fieldID)",
                for: .identityMatch
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

    private func close(id: String, status: RightsRequestStatus, action: String, subjectID: String?, at now: Date) async throws {
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
}
