import Foundation
import SQLKit

/// One line of the staff list: only non-personal columns, so listing decrypts nothing.
public struct InquirySummary: Sendable, Hashable {
    public let id: String
    public let number: String
    public let serviceID: String
    public let status: InquiryStatus
    public let departmentID: String?
    public let createdAt: Date
}

/// Filters of the staff list; nil means any.
public struct InquiryFilter: Sendable, Hashable {
    public var serviceID: String?
    public var status: InquiryStatus?
    public var departmentID: String?
    public var from: Date?
    public var until: Date?

    public init(serviceID: String? = nil, status: InquiryStatus? = nil, departmentID: String? = nil, from: Date? = nil, until: Date? = nil) {
        self.serviceID = serviceID
        self.status = status
        self.departmentID = departmentID
        self.from = from
        self.until = until
    }
}

/// A recorded forwarding to a department (R-TPP-1): who, when, to whom, which items.
public struct Forwarding: Sendable, Hashable {
    public let staffID: String
    public let departmentID: String
    public let items: [String]
    public let note: String
    public let at: Date
}

/// A stored answer (R-PUR-3).
public struct Answer: Sendable, Hashable {
    public let staffID: String
    public let text: String
    public let at: Date
}

/// Refused because the staff member may not see that inquiry.
public struct NotVisible: Error, Sendable, Hashable {}

/// What staff do with inquiries: list, open, answer, forward, change status. Department members see only what
/// was forwarded to their department (R-SEC-2); every step is audited.
public struct InquiryDesk: Sendable {
    public let guardian: PurposeGuard
    public static let answerPurpose = "answer-inquiries"

    public init(guardian: PurposeGuard) {
        self.guardian = guardian
    }

    var database: Database { guardian.vault.database }

    /// A page of inquiries visible to `user`, newest first, and the total count.
    public func list(
        _ filter: InquiryFilter,
        for user: StaffUser,
        page: Int,
        pageSize: Int = 50
    ) async throws -> (items: [InquirySummary], total: Int) {
        let kind = database.kind
        let scope = self.scope(of: user)
        @Sendable func apply(_ builder: SQLSelectBuilder) -> SQLSelectBuilder {
            var query = builder
            if let service = filter.serviceID { query = query.where("service_id", .equal, service) }
            if let status = filter.status { query = query.where("status", .equal, status.rawValue) }
            if let department = filter.departmentID { query = query.where("department_id", .equal, department) }
            if let from = filter.from { query = query.where("created_at", .greaterThanOrEqual, Timestamp.bind(from, kind)) }
            if let until = filter.until { query = query.where("created_at", .lessThan, Timestamp.bind(until, kind)) }
            switch scope {
            case .all: break
            case let .department(id): query = query.where("department_id", .equal, id ?? "\u{0}")
            case let .services(ids): query = query.where("service_id", .in, ids.isEmpty ? ["\u{0}"] : ids)
            }
            return query
        }
        return try await database.read { db in
            let total =
                try await apply(db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("inquiries"))
                .first(decodingColumn: "n", as: Int.self) ?? 0
            let rows = try await apply(
                db.select()
                    .columns("id", "number", "service_id", "status", "department_id", "created_at").from("inquiries")
            )
            .orderBy("created_at", .descending).orderBy("id").limit(pageSize).offset(max(0, page - 1) * pageSize)
            .all()
            let items = try rows.map { row in
                InquirySummary(
                    id: try row.decode(column: "id", as: String.self),
                    number: try row.decode(column: "number", as: String.self),
                    serviceID: try row.decode(column: "service_id", as: String.self),
                    status: InquiryStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .new,
                    departmentID: try row.decode(column: "department_id", as: String?.self),
                    createdAt: try Timestamp.decode(row, column: "created_at", kind)
                )
            }
            return (items, total)
        }
    }

    /// Opens an inquiry for answering; nil when it does not exist, `NotVisible` when `user` may not see it.
    public func open(_ id: String, by user: StaffUser) async throws -> (record: InquiryRecord, answers: [Answer], forwards: [Forwarding])? {
        guard let place = try await placeOf(id) else { return nil }
        try ensureVisible(place, to: user)
        guard let record = try await guardian.inquiry(id: id, purpose: Self.answerPurpose, actor: user.actor, only: entrusted(to: user)) else {
            return nil
        }
        let kind = database.kind
        let key = try await guardian.vault.keys.key(subjectID: record.subjectID)
        let (answers, forwards) = try await database.read { db in
            let answers = try await db.select().columns("id", "staff_id", "sealed", "created_at").from("inquiry_answers")
                .where("inquiry_id", .equal, id).orderBy("created_at").all()
                .map { row -> Answer in
                    let answerID = try row.decode(column: "id", as: String.self)
                    let text = try key.map {
                        try SealedField.open(try row.decode(column: "sealed", as: Data.self), key: $0, context: "answer/\(answerID)", for: record.use)
                    }
                    return Answer(
                        staffID: try row.decode(column: "staff_id", as: String.self),
                        text: text ?? "",
                        at: try Timestamp.decode(row, column: "created_at", kind)
                    )
                }
            let forwards = try await db.select().columns("id", "staff_id", "department_id", "items", "sealed_note", "created_at")
                .from("inquiry_forwards").where("inquiry_id", .equal, id).orderBy("created_at").all()
                .map { row -> Forwarding in
                    let forwardID = try row.decode(column: "id", as: String.self)
                    let sealed = try row.decode(column: "sealed_note", as: Data.self)
                    let note =
                        try sealed.isEmpty
                        ? "" : key.map { try SealedField.open(sealed, key: $0, context: "forward/\(forwardID)", for: record.use) } ?? ""
                    return Forwarding(
                        staffID: try row.decode(column: "staff_id", as: String.self),
                        departmentID: try row.decode(column: "department_id", as: String.self),
                        items: try row.decode(column: "items", as: String.self).split(separator: ",").map(String.init),
                        note: note,
                        at: try Timestamp.decode(row, column: "created_at", kind)
                    )
                }
            return (answers, forwards)
        }
        // A contractor's staff handle the inquiry, not the operator's internal forwarding notes.
        return (record, answers, user.role == .contractor ? [] : forwards)
    }

    /// Stores the answer with the inquiry and queues it to the person by e-mail, in one transaction (R-PUR-3).
    public func answer(
        _ id: String,
        text: String,
        by user: StaffUser,
        mail: (InquiryRecord) -> OutgoingMail?,
        now: Date = Date()
    ) async throws {
        guard let place = try await placeOf(id) else { throw NotVisible() }
        try ensureVisible(place, to: user)
        guard let record = try await guardian.inquiry(id: id, purpose: Self.answerPurpose, actor: user.actor, only: entrusted(to: user)),
            let key = try await guardian.vault.keys.key(subjectID: record.subjectID)
        else { throw NotVisible() }
        let kind = database.kind
        let answerID = RecordID.make()
        let sealed = try SealedField.seal(text, key: key, context: "answer/\(answerID)")
        let outgoing = try mail(record).map { try Outbox.seal($0, key: key) }
        try await database.transaction { db in
            try await db.insert(into: "inquiry_answers").columns("id", "inquiry_id", "staff_id", "sealed", "created_at")
                .values(SQLBind(answerID), SQLBind(id), SQLBind(user.id), SQLBind(sealed), Timestamp.bind(now, kind)).run()
            if let outgoing {
                try await Outbox.insert(outgoing, subjectID: record.subjectID, kind: "inquiry-answer", in: db, dialect: kind, at: now)
            }
            try await db.update("inquiries").set("status", to: InquiryStatus.answered.rawValue).set("updated_at", to: Timestamp.bind(now, kind))
                .where("id", .equal, id).run()
            try await AuditLog.append(
                AuditEvent(
                    actor: user.actor,
                    action: "inquiry.answer",
                    subjectID: record.subjectID,
                    record: "inquiry:\(id)",
                    purpose: Self.answerPurpose,
                    detail: "answer=\(answerID)"
                ),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    /// Forwards an inquiry to a department with a recorded note of who, when, to whom and which items (R-TPP-1).
    public func forward(_ id: String, to departmentID: String, note: String, by user: StaffUser, policy: Policy, now: Date = Date()) async throws {
        guard policy.departments.contains(where: { $0.id == departmentID }) else { throw StaffError.unknownDepartment(departmentID) }
        guard let place = try await placeOf(id) else { throw NotVisible() }
        try ensureVisible(place, to: user)
        guard let record = try await guardian.inquiry(id: id, purpose: Self.answerPurpose, actor: user.actor, only: entrusted(to: user)),
            let key = try await guardian.vault.keys.key(subjectID: record.subjectID)
        else { throw NotVisible() }
        let kind = database.kind
        let forwardID = RecordID.make()
        let sealedNote = note.isEmpty ? Data() : try SealedField.seal(note, key: key, context: "forward/\(forwardID)")
        let items = record.values.keys.sorted().joined(separator: ",")
        try await database.transaction { db in
            try await db.insert(into: "inquiry_forwards")
                .columns("id", "inquiry_id", "staff_id", "department_id", "items", "sealed_note", "created_at")
                .values(
                    SQLBind(forwardID),
                    SQLBind(id),
                    SQLBind(user.id),
                    SQLBind(departmentID),
                    SQLBind(items),
                    SQLBind(sealedNote),
                    Timestamp.bind(now, kind)
                )
                .run()
            try await db.update("inquiries").set("department_id", to: departmentID).set("status", to: InquiryStatus.inProgress.rawValue)
                .set("updated_at", to: Timestamp.bind(now, kind)).where("id", .equal, id).run()
            try await AuditLog.append(
                AuditEvent(
                    actor: user.actor,
                    action: "inquiry.forward",
                    subjectID: record.subjectID,
                    record: "inquiry:\(id)",
                    purpose: Self.answerPurpose,
                    detail: "department=\(departmentID) items=\(items)"
                ),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    /// Changes an inquiry's status.
    public func setStatus(_ id: String, to status: InquiryStatus, by user: StaffUser, now: Date = Date()) async throws {
        guard let place = try await placeOf(id) else { throw NotVisible() }
        try ensureVisible(place, to: user)
        let kind = database.kind
        try await database.transaction { db in
            try await db.update("inquiries").set("status", to: status.rawValue).set("updated_at", to: Timestamp.bind(now, kind))
                .where("id", .equal, id).run()
            try await AuditLog.append(
                AuditEvent(
                    actor: user.actor,
                    action: "inquiry.status",
                    record: "inquiry:\(id)",
                    detail: "status=\(status.rawValue)"
                ),
                in: db,
                kind: kind,
                at: now
            )
        }
    }

    public static let matchPurpose = "match-history"

    /// One earlier inquiry of the same person, as the match-history purpose shows it (R-PUR-4).
    public struct Earlier: Sendable, Hashable {
        public let number: String
        public let serviceID: String
        public let createdAt: Date
        /// The fields collected for matching (empty when the use was refused).
        public let values: [String: String]
        /// Why the guard refused this inquiry for matching, if it did.
        public let refused: PurposeRefused.Reason?
    }

    /// The person's earlier inquiries, each opened for match-history by the purpose guard (only the fields collected
    /// for it; each read or refusal audited), newest first, at most `limit`. Only staff who see every inquiry get
    /// them; nil when the policy declares no match-history purpose.
    public func history(of record: InquiryRecord, by user: StaffUser, limit: Int = 20) async throws -> [Earlier]? {
        guard user.role.seesAllInquiries, guardian.current.purpose(id: Self.matchPurpose) != nil else { return nil }
        let kind = database.kind
        let earlier = try await database.read { db in
            try await db.select().columns("id", "number", "service_id", "created_at").from("inquiries")
                // Ids are time-ordered (`RecordID`) and finer than a stored time (SQLite keeps whole seconds).
                .where("subject_id", .equal, record.subjectID).where("id", .lessThan, record.id)
                .orderBy("id", .descending).limit(limit).all()
        }
        var found: [Earlier] = []
        for row in earlier {
            let id = try row.decode(column: "id", as: String.self)
            let (values, refused): ([String: String], PurposeRefused.Reason?)
            do {
                values = try await guardian.inquiry(id: id, purpose: Self.matchPurpose, actor: user.actor)?.values ?? [:]
                refused = nil
            } catch let refusal as PurposeRefused {
                (values, refused) = ([:], refusal.reason)
            }
            found.append(
                Earlier(
                    number: try row.decode(column: "number", as: String.self),
                    serviceID: try row.decode(column: "service_id", as: String.self),
                    createdAt: try Timestamp.decode(row, column: "created_at", kind),
                    values: values,
                    refused: refused
                )
            )
        }
        return found
    }

    /// Which inquiries a staff member sees: all of them, those forwarded to their department, or those of the services
    /// entrusted to their contractor (none when the contractor is no longer in the policy).
    enum Scope: Sendable {
        case all
        case department(String?)
        case services([String])
    }

    func scope(of user: StaffUser) -> Scope {
        switch user.role {
        case .admin, .privacyOfficer, .operator: return .all
        case .department: return .department(user.departmentID)
        case .contractor:
            guard let contractor = contractor(of: user) else { return .services([]) }
            return .services(contractor.services ?? guardian.current.services.map(\.id))
        }
    }

    /// The contractor a contractor account works for, as the current policy declares it.
    public func contractor(of user: StaffUser) -> Contractor? {
        guard user.role == .contractor, let id = user.contractorID else { return nil }
        return guardian.current.contractors.first { $0.id == id }
    }

    /// The items a staff member may open: a contractor's entrusted items (none when it is gone), otherwise no limit.
    func entrusted(to user: StaffUser) -> Set<String>? {
        guard user.role == .contractor else { return nil }
        return Set(contractor(of: user)?.entrustedData ?? [])
    }

    /// The inquiry's department ("" when not forwarded) and service, or nil when the inquiry does not exist.
    private func placeOf(_ id: String) async throws -> (department: String, service: String)? {
        let row = try await database.read { db in
            try await db.select().columns("department_id", "service_id").from("inquiries").where("id", .equal, id).first()
        }
        guard let row else { return nil }
        return (try row.decode(column: "department_id", as: String?.self) ?? "", try row.decode(column: "service_id", as: String.self))
    }

    private func ensureVisible(_ place: (department: String, service: String), to user: StaffUser) throws {
        switch scope(of: user) {
        case .all: return
        case let .department(id): if id == nil || place.department != id { throw NotVisible() }
        case let .services(ids): if !ids.contains(place.service) { throw NotVisible() }
        }
    }
}
