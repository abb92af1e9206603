import Crypto
import Foundation
import SQLKit

extension RightsRequestDesk {
    /// Opens a request for `actor` (its content is personal data: the read is audited).
    public func open(id: String, actor: String) async throws -> RightsRequestDetail? {
        let kind = vault.database.kind
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns(
                    "id",
                    "number",
                    "type",
                    "status",
                    "subject_id",
                    "received_at",
                    "due_on",
                    "key_id",
                    "sealed",
                    "verified_at",
                    "channel",
                    "identity_check"
                )
                .from("requests").where("id", .equal, id).first()
            })
        else { return nil }
        guard let key = try await vault.keys.key(subjectID: try row.decode(column: "key_id", as: String.self)) else { return nil }
        let content = try RightsRequestContent.open(try row.decode(column: "sealed", as: Data.self), key: key, requestID: id, for: .requestHandling)
        let subjectID = try row.decode(column: "subject_id", as: String?.self) ?? ""
        let numbers =
            subjectID.isEmpty
            ? []
            : try await vault.database.read { db in
                try await db.select().column("number").from("inquiries").where("subject_id", .equal, subjectID).orderBy("created_at")
                    .all(decodingColumn: "number", as: String.self)
            }
        try await AuditLog.record(
            AuditEvent(
                actor: actor,
                action: "request.read",
                subjectID: subjectID.isEmpty ? nil : subjectID,
                record: "request:\(id)"
            ),
            in: vault.database
        )
        let entry = QueueEntry(
            id: id,
            number: try row.decode(column: "number", as: String.self),
            type: RightsRequestType(rawValue: try row.decode(column: "type", as: String.self)) ?? .disclosure,
            status: RightsRequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
            subjectKnown: !subjectID.isEmpty,
            receivedAt: try? Timestamp.decode(row, column: "received_at", kind),
            due: try row.decode(column: "due_on", as: String?.self).flatMap(LocalDate.init(iso:)),
            verifiedAt: try Timestamp.decodeIfPresent(row, column: "verified_at", kind),
            channel: try row.decode(column: "channel", as: String?.self)
        )
        return RightsRequestDetail(
            entry: entry,
            content: content,
            subjectID: subjectID,
            inquiryNumbers: numbers,
            identityCheck: try row.decode(column: "identity_check", as: String?.self)
        )
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
        _ detail: RightsRequestDetail,
        correction: Correction? = nil,
        policy: Policy,
        actor: String,
        notice: (RightsRequestContent) -> OutgoingMail,
        at now: Date = Date()
    ) async throws {
        guard detail.entry.status == .open else { throw RightsRequestError.notOpen }
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
                    else { throw RightsRequestError.notOpen }
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
        _ detail: RightsRequestDetail,
        reason: String,
        actor: String,
        notice: (RightsRequestContent) -> OutgoingMail,
        at now: Date = Date()
    ) async throws {
        guard detail.entry.status == .open else { throw RightsRequestError.notOpen }
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw RightsRequestError.reasonMissing }
        try await close(detail, status: .refused, action: "request.refuse", actor: actor, detail: "", mail: notice(detail.content), at: now)
    }

    private func close(
        _ detail: RightsRequestDetail,
        status: RightsRequestStatus,
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
        guard let keyID, let key = try await vault.keys.key(subjectID: keyID) else { throw RightsRequestError.notOpen }
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
        if !closed { throw RightsRequestError.notOpen }
    }

    /// Closes an open request inside the caller's transaction and queues its notice; false when it was not open.
    static func close(
        id: String,
        status: RightsRequestStatus,
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
            .where("id", .equal, id).where("status", .equal, RightsRequestStatus.open.rawValue).returning("id").first()
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
}
