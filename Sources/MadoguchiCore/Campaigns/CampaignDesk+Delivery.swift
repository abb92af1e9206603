import Crypto
import Foundation
import SQLKit

/// The per-recipient tokens a campaign mail carries: its unsubscribe link, and a survey's answer page.
public struct CampaignLinks: Sendable, Hashable {
    public let unsubscribe: String
    public let survey: String?

    public init(unsubscribe: String, survey: String? = nil) {
        self.unsubscribe = unsubscribe
        self.survey = survey
    }
}

/// Sending a started campaign through the outbox, and the one-click unsubscribe of its mail (R-MAIL-1).
extension CampaignDesk {
    /// The token of a recipient's unsubscribe link: `CAMPAIGN.SUBJECT.SIGNATURE` (ids as stored, HMAC-SHA256 under
    /// the ring's unsubscribe key, 16 bytes, base64url). It names no address; only this server can make one.
    public static func unsubscribeToken(campaignID: String, subjectID: String, key: SymmetricKey) -> String {
        signedToken(label: "unsubscribe", campaignID: campaignID, subjectID: subjectID, key: key)
    }

    /// The campaign and person an unsubscribe token names, when this server made it.
    public static func verify(token: String, key: SymmetricKey) -> (campaignID: String, subjectID: String)? {
        verify(token: token, label: "unsubscribe", key: key)
    }

    /// A per-recipient token for one use (`label`: unsubscribe, survey): a token for one use opens nothing else.
    static func signedToken(label: String, campaignID: String, subjectID: String, key: SymmetricKey) -> String {
        "\(campaignID).\(subjectID).\(mac(label, campaignID, subjectID, key).base64URLEncoded)"
    }

    /// The campaign and person a token for `label` names, when this server made it; nil for anything else, decided
    /// before any lookup (lengths and characters first, then the signature in constant time).
    static func verify(token: String, label: String, key: SymmetricKey) -> (campaignID: String, subjectID: String)? {
        guard token.utf8.count <= 120 else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts.allSatisfy({ (1...40).contains($0.count) }),
            parts[0].allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "-") }),
            parts[1].allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "-") }),
            let given = Data(base64URL: parts[2])
        else { return nil }
        let expected = mac(label, parts[0], parts[1], key)
        guard given.count == expected.count, given.withUnsafeBytes({ a in expected.withUnsafeBytes { b in constantTimeEqual(a, b) } })
        else { return nil }
        return (parts[0], parts[1])
    }

    private static func mac(_ label: String, _ campaignID: String, _ subjectID: String, _ key: SymmetricKey) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data("\(label):\(campaignID):\(subjectID)".utf8), using: key).prefix(16))
    }

    private static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Writes the mail of up to `limit` queued recipients of campaigns being sent, each in its own transaction with
    /// its recipient row (queued → sent): a recipient is mailed at most once, whatever runs at the same time, and one
    /// who unsubscribed, was suppressed, suspended or erased since the start — or whom the purpose guard refuses
    /// now — is skipped with the reason. Returns true when more are queued.
    public func deliver(
        limit: Int,
        policy: Policy,
        unsubscribeKey: SymmetricKey,
        compose: (Campaign, _ to: String, CampaignLinks) -> OutgoingMail,
        at now: Date = Date()
    ) async throws -> Bool {
        let batch = try await database.read { db in
            try await db.raw(
                """
                SELECT r.campaign_id AS campaign_id, r.subject_id AS subject_id FROM campaign_recipients r
                JOIN campaigns c ON c.id = r.campaign_id
                WHERE r.status = 'queued' AND c.status = 'sending'
                ORDER BY r.campaign_id, r.subject_id LIMIT \(literal: max(1, min(limit, 10_000)))
                """
            ).all().map { (try $0.decode(column: "campaign_id", as: String.self), try $0.decode(column: "subject_id", as: String.self)) }
        }
        var campaigns: [String: Campaign] = [:]
        let emailFields = policy.fields.filter { $0.type == .email }.map(\.id)
        for (campaignID, subjectID) in batch {
            if campaigns[campaignID] == nil { campaigns[campaignID] = try await campaign(id: campaignID) }
            guard let campaign = campaigns[campaignID] else { continue }
            switch try await address(of: subjectID, for: campaign, emailFields: emailFields) {
            case let .skip(reason):
                try await skip(campaignID: campaignID, subjectID: subjectID, reason: reason, at: now)
            case let .send(address, key):
                let links = CampaignLinks(
                    unsubscribe: Self.unsubscribeToken(campaignID: campaignID, subjectID: subjectID, key: unsubscribeKey),
                    survey: campaign.kind == .survey ? Survey.token(campaignID: campaignID, subjectID: subjectID, key: unsubscribeKey) : nil
                )
                let sealed = try Outbox.seal(compose(campaign, address, links), key: key)
                let kind = database.kind
                try await database.transaction { db in
                    guard
                        try await db.update("campaign_recipients").set("status", to: "sent").set("outbox_id", to: sealed.id)
                            .set("updated_at", to: Timestamp.bind(now, kind))
                            .where("campaign_id", .equal, campaignID).where("subject_id", .equal, subjectID).where("status", .equal, "queued")
                            .returning("subject_id").first() != nil
                    else { return }
                    try await Outbox.insert(sealed, subjectID: subjectID, kind: "campaign", in: db, dialect: kind, at: now)
                }
            }
        }
        try await finishCampaigns(at: now)
        return batch.count >= limit
    }

    private enum Addressing {
        case send(String, SymmetricKey)
        case skip(String)
    }

    /// The address to write to for `campaign`, opened by the purpose guard for the campaign's purpose from the
    /// person's latest confirmed inquiry to one of its services — or why not.
    private func address(of subjectID: String, for campaign: Campaign, emailFields: [String]) async throws -> Addressing {
        let row = try await database.read { db in
            try await db.raw(
                """
                SELECT i.id AS id,
                       (SELECT COUNT(*) FROM suppressions x JOIN subjects s ON s.email_index = x.email_index
                        WHERE s.id = \(bind: subjectID) AND x.purpose_id = \(bind: campaign.purposeID)) AS suppressed
                FROM inquiries i
                WHERE i.subject_id = \(bind: subjectID) AND i.confirmed_at IS NOT NULL AND i.service_id IN (\(binds: campaign.services))
                ORDER BY i.id DESC LIMIT 1
                """
            ).first()
        }
        guard let row else { return .skip("erased") }
        if try row.decode(column: "suppressed", as: Int.self) > 0 { return .skip("suppressed") }
        if campaign.kind == .changeNotice {
            return try await noticeAddress(
                of: subjectID,
                inquiryID: try row.decode(column: "id", as: String.self),
                for: campaign,
                emailFields: emailFields
            )
        }
        let record: InquiryRecord?
        do {
            record = try await guardian.inquiry(
                id: try row.decode(column: "id", as: String.self),
                purpose: campaign.purposeID,
                actor: "campaign:\(campaign.id)"
            )
        } catch let refusal as PurposeRefused {
            return .skip(refusal.reason.rawValue)
        }
        guard let record, let address = emailFields.lazy.compactMap({ record.values[$0] }).first else { return .skip("no-address") }
        guard let key = try await guardian.vault.keys.key(subjectID: subjectID) else { return .skip("erased") }
        return .send(address, key)
    }

    /// The address for a notice of a change of purpose: not a use for the purpose (the person has not agreed to it
    /// yet — that is what the notice asks) but the operator's duty to ask, so only the address is opened, for
    /// `DataUse.changeNotice`, and only while the person has neither answered under the current version nor had every
    /// use (or this one) stopped. Audited like a guarded read.
    private func noticeAddress(of subjectID: String, inquiryID: String, for campaign: Campaign, emailFields: [String]) async throws -> Addressing {
        let purpose = campaign.purposeID
        let suspended = try await SubjectRights.suspendedPurposes(subjectID: subjectID, in: database)
        if suspended.contains(purpose) || suspended.contains(SubjectRights.allPurposes) { return .skip("suspended") }
        let current = guardian.current.version
        let rows = try await database.read { db in
            let answered =
                try await db.select().column("id").from("consents").where("subject_id", .equal, subjectID)
                .where("purpose_id", .equal, purpose).where("policy_version", .equal, current).first() != nil
            let sealed = try await db.select().columns("field_id", "sealed").from("inquiry_fields").where("inquiry_id", .equal, inquiryID)
                .where("field_id", .in, emailFields).all()
            return (answered, sealed)
        }
        if rows.0 { return .skip("answered") }
        guard let key = try await guardian.vault.keys.key(subjectID: subjectID) else { return .skip("erased") }
        guard let field = rows.1.first else { return .skip("no-address") }
        let fieldID = try field.decode(column: "field_id", as: String.self)
        let address = try SealedField.open(
            try field.decode(column: "sealed", as: Data.self),
            key: key,
            context: "inquiry/\(inquiryID)/\(fieldID)",
            for: .changeNotice
        )
        try await AuditLog.record(
            AuditEvent(
                actor: "campaign:\(campaign.id)",
                action: "inquiry.read",
                subjectID: subjectID,
                record: "inquiry:\(inquiryID)",
                purpose: DataUse.changeNotice.description,
                detail: "fields=\(fieldID) notice-of=\(purpose)"
            ),
            in: database
        )
        return .send(address, key)
    }

    private func skip(campaignID: String, subjectID: String, reason: String, at now: Date) async throws {
        let kind = database.kind
        try await database.transaction { db in
            try await db.update("campaign_recipients").set("status", to: "skipped").set("reason", to: reason)
                .set("updated_at", to: Timestamp.bind(now, kind))
                .where("campaign_id", .equal, campaignID).where("subject_id", .equal, subjectID).where("status", .equal, "queued").run()
        }
    }

    /// Campaigns with nobody left queued are sent.
    private func finishCampaigns(at now: Date) async throws {
        let kind = database.kind
        try await database.transaction { db in
            try await db.raw(
                """
                UPDATE campaigns SET status = 'sent', finished_at = \(Timestamp.bind(now, kind))
                WHERE status = 'sending'
                AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = campaigns.id AND r.status = 'queued')
                """
            ).run()
        }
    }

    /// The one-click unsubscribe of `token` (RFC 8058, or the button of the link's page): the person's consent to the
    /// campaign's purpose is withdrawn (kept as an answer, with how it was given), their address is suppressed for
    /// it, and whatever is still queued for them under that purpose is skipped — all in one transaction. Returns the
    /// campaign, or nil for a token this server did not make (or a campaign or person no longer there). Repeating it
    /// changes nothing more.
    public func unsubscribe(token: String, key: SymmetricKey, policy: Policy, at now: Date = Date()) async throws -> Campaign? {
        guard let (campaignID, subjectID) = Self.verify(token: token, key: key), let campaign = try await campaign(id: campaignID) else { return nil }
        let kind = database.kind
        let purpose = campaign.purposeID
        let done: Bool = try await database.transaction { db in
            guard
                let emailIndex = try await db.select().column("email_index").from("subjects").where("id", .equal, subjectID)
                    .first(decodingColumn: "email_index", as: String.self)
            else { return false }
            let latest = try await db.select().column("granted").from("consents")
                .where("subject_id", .equal, subjectID).where("purpose_id", .equal, purpose)
                .orderBy("created_at", .descending).orderBy("id", .descending).limit(1)
                .first(decodingColumn: "granted", as: Bool.self)
            if latest != false {
                try await PurposeConsents.insert(
                    in: db,
                    subjectID: subjectID,
                    purpose: purpose,
                    granted: false,
                    version: policy.version,
                    source: "unsubscribe-link",
                    shownText: "List-Unsubscribe: \(campaign.subject)",
                    at: now,
                    kind: kind
                )
            }
            try await PurposeConsents.suppress(in: db, emailIndex: emailIndex, purpose: purpose, source: "unsubscribe-link", at: now, kind: kind)
            try await db.raw(
                """
                UPDATE campaign_recipients SET status = 'skipped', reason = 'unsubscribed', updated_at = \(Timestamp.bind(now, kind))
                WHERE subject_id = \(bind: subjectID) AND status = 'queued'
                AND campaign_id IN (SELECT id FROM campaigns WHERE purpose_id = \(bind: purpose))
                """
            ).run()
            try await AuditLog.append(
                AuditEvent(
                    actor: "person",
                    action: "consent.withdraw",
                    subjectID: subjectID,
                    record: "campaign:\(campaignID)",
                    purpose: purpose,
                    detail: "source=unsubscribe-link"
                ),
                in: db,
                kind: kind
            )
            return true
        }
        return done ? campaign : nil
    }
}
