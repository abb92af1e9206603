import Crypto
import Foundation
import SQLKit

/// How a request reached the operator when it did not come through the site.
public enum RequestChannel: String, Sendable, Hashable, CaseIterable {
    case email
    case post
    case phone
    case counter

    public var text: LocalizedText {
        switch self {
        case .email: LocalizedText(ja: "メール", en: "E-mail")
        case .post: LocalizedText(ja: "郵送", en: "Post")
        case .phone: LocalizedText(ja: "電話", en: "Phone")
        case .counter: LocalizedText(ja: "窓口(来訪)", en: "In person")
        }
    }
}

/// How staff checked the identity of a requester who did not use the site (where the mailed code proves the address).
/// A category, never the document's number or content.
public enum IdentityCheck: String, Sendable, Hashable, CaseIterable {
    case documentCopy = "document-copy"
    case callback
    case registeredAddress = "registered-address"
    case inPerson = "in-person"
    case agentDocuments = "agent-documents"

    public var text: LocalizedText {
        switch self {
        case .documentCopy: LocalizedText(ja: "本人確認書類の写し", en: "A copy of an identity document")
        case .callback: LocalizedText(ja: "登録された電話番号への折り返し", en: "A call back to the registered phone number")
        case .registeredAddress:
            LocalizedText(ja: "登録されたメールアドレスへの確認と一致", en: "Confirmed through the registered e-mail address")
        case .inPerson: LocalizedText(ja: "窓口での本人確認書類の提示", en: "An identity document shown in person")
        case .agentDocuments: LocalizedText(ja: "代理人: 委任状と本人・代理人の確認書類", en: "Agent: power of attorney and both parties' documents")
        }
    }
}

/// Why staff could not enter a request.
public enum RequestEntryError: BilingualError, Sendable, Hashable {
    case receivedOn
    case channel
    case identityCheck

    public var text: LocalizedText {
        switch self {
        case .receivedOn:
            LocalizedText(
                ja: "受け付けた日は、今日から 1 年前までの日付(YYYY-MM-DD)にしてください",
                en: "the day of receipt must be a day within the last year (YYYY-MM-DD)"
            )
        case .channel: LocalizedText(ja: "受け付けた方法を選んでください", en: "choose how the request arrived")
        case .identityCheck: LocalizedText(ja: "本人確認の方法を選んでください", en: "choose how the identity was checked")
        }
    }
}

extension RightsRequestDesk {
    /// A day of receipt staff may enter: not ahead of today, at most a year back.
    public static func acceptsReceipt(on day: LocalDate, today: LocalDate) -> Bool {
        day <= today && day >= today.adding(years: -1)
    }

    /// Enters a request that arrived by mail, phone, post or in person (R-DSR-6): it joins the same queue, open at
    /// once (staff checked the identity, recorded as `identityCheck`), with its real day of receipt, from which the due
    /// date counts. The person is found by their address's blind index. No code is issued; `confirmation` composes
    /// the receipt mail to the address given, queued in the same commit. Audited as `request.create` and
    /// `request.verify` by the staff member.
    public func enter(
        _ request: ValidatedRightsRequest,
        receivedOn: LocalDate,
        channel: RequestChannel,
        identityCheck: IdentityCheck,
        calendar: BusinessCalendar,
        answerDays: Int,
        actor: String,
        confirmation: ((_ address: String, _ number: String, _ due: LocalDate, _ type: RightsRequestType) -> OutgoingMail)? = nil,
        at now: Date = Date()
    ) async throws -> (id: String, number: String, due: LocalDate) {
        let today = LocalDate(japanAt: now)
        guard Self.acceptsReceipt(on: receivedOn, today: today) else { throw RequestEntryError.receivedOn }
        let kind = vault.database.kind
        let emailIndex = BlindIndex.of(email: request.content.email, key: vault.keys.ring.blindIndexKey)
        let subjectID = try await vault.database.read { db in
            try await db.select().column("id").from("subjects").where("email_index", .equal, emailIndex).first(decodingColumn: "id", as: String.self)
        }
        let due = try calendar.due(received: receivedOn, businessDays: answerDays)
        // Received at the start of that day in Japan.
        let receivedAt = Date(timeIntervalSince1970: Double(receivedOn.dayNumber) * 86_400 - 9 * 3_600)
        let sealKey = try await vault.keys.newSubject()
        let content = String(decoding: try JSONEncoder().encode(request.content), as: UTF8.self)
        var attempt = 0
        while true {
            attempt += 1
            let id = RecordID.make(at: now)
            let number = "R" + InquiryVault.inquiryNumber(at: now).dropFirst()
            let mail = try confirmation.map { try Outbox.seal($0(request.content.email, number, due, request.type), key: sealKey.key) }
            do {
                try await vault.database.transaction { db in
                    try await db.insert(into: "requests")
                        .columns(
                            "id",
                            "number",
                            "type",
                            "status",
                            "email_index",
                            "key_id",
                            "sealed",
                            "code_hash",
                            "code_expires_at",
                            "attempts",
                            "subject_id",
                            "received_at",
                            "verified_at",
                            "due_on",
                            "channel",
                            "identity_check",
                            "created_at"
                        )
                        .values(
                            SQLBind(id),
                            SQLBind(number),
                            SQLBind(request.type.rawValue),
                            SQLBind(RightsRequestStatus.open.rawValue),
                            SQLBind(emailIndex),
                            SQLBind(sealKey.subjectID),
                            SQLBind(try SealedField.seal(content, key: sealKey.key, context: "request/\(id)")),
                            // No code opens it: the hash of nothing any code produces, and no attempt left.
                            SQLBind("entered"),
                            Timestamp.bind(now, kind),
                            SQLBind(Self.maximumAttempts),
                            SQLBind(subjectID ?? ""),
                            Timestamp.bind(receivedAt, kind),
                            Timestamp.bind(now, kind),
                            SQLBind(due.description),
                            SQLBind(channel.rawValue),
                            SQLBind(identityCheck.rawValue),
                            Timestamp.bind(now, kind)
                        )
                        .run()
                    if let mail {
                        try await Outbox.insert(mail, subjectID: sealKey.subjectID, kind: "request-received", in: db, dialect: kind, at: now)
                    }
                    try await AuditLog.append(
                        [
                            (
                                AuditEvent(
                                    actor: actor,
                                    action: "request.create",
                                    record: "request:\(id)",
                                    detail: "type=\(request.type.rawValue) channel=\(channel.rawValue) received=\(receivedOn)"
                                ), now
                            ),
                            (
                                AuditEvent(
                                    actor: actor,
                                    action: "request.verify",
                                    subjectID: subjectID,
                                    record: "request:\(id)",
                                    detail: "due=\(due) known=\(subjectID != nil) check=\(identityCheck.rawValue)"
                                ), now
                            ),
                        ],
                        in: db,
                        kind: kind
                    )
                }
                return (id, number, due)
            } catch  where attempt < 4 {
                continue  // the random number was taken: draw another
            }
        }
    }
}
