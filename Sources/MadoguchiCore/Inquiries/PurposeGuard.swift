import Foundation
import SQLKit

/// A read of personal data that the guard refused (R-PUR-2). Refusals are errors, never empty results, and each
/// one is audited.
public struct PurposeRefused: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        /// The purpose is not declared in the policy the data was collected under.
        case undeclared
        /// None of the record's fields was collected for this purpose.
        case notCollectedFor = "not-collected-for"
        /// The purpose needs the person's consent and there is none (or it was withdrawn).
        case noConsent = "no-consent"
        /// The person had the use of their data for this purpose (or for every purpose) stopped.
        case suspended
        /// A newer version of the policy added this purpose to the items, and the person has not consented to the
        /// change (R-VER-2): data given under the older version is not used for it.
        case purposeChanged = "purpose-changed"
    }

    public let purpose: String
    public let reason: Reason
    public let record: String

    public init(purpose: String, reason: Reason, record: String) {
        self.purpose = purpose
        self.reason = reason
        self.record = record
    }

    public var description: String { "use of \(record) for purpose '\(purpose)' refused: \(reason.rawValue)" }
}

/// An inquiry opened for one purpose: only the fields collected for that purpose are present.
public struct InquiryRecord: Sendable, Hashable {
    public let id: String
    public let number: String
    public let subjectID: String
    public let serviceID: String
    public let status: InquiryStatus
    public let policyVersion: String
    public let createdAt: Date
    /// Field id → plaintext, for the fields that serve `purpose`.
    public let values: [String: String]
    public let purpose: String
    /// The use the guard allowed: what the record's other sealed parts (answers, notes) are opened for.
    public let use: DataUse
}

/// The one way to read personal data: every read names a purpose, and the guard refuses a purpose the data was
/// not collected for, the person has not consented to, or the person had suspended (R-PUR-2). Both reads and
/// refusals are audited.
///
/// Two versions of the policy decide (R-VER-2): the **current** one must still declare the purpose (a version that
/// removes a purpose stops that use at once), and an item is used for a purpose only if the version it was given
/// under already served that purpose with it — or if the person has since consented under a version that does.
public struct PurposeGuard: Sendable {
    public let vault: InquiryVault
    public let versions: PolicyVersionStore
    /// The policy the server runs under now.
    public let current: Policy

    public init(vault: InquiryVault, versions: PolicyVersionStore, current: Policy) {
        self.vault = vault
        self.versions = versions
        self.current = current
    }

    /// Opens inquiry `id` for `purpose` on behalf of `actor`; nil when there is no such inquiry. `only`, when given,
    /// narrows what is opened further (a contractor's entrusted items, R-OUT-2): nothing else is unsealed.
    public func inquiry(id: String, purpose: String, actor: String, only: Set<String>? = nil) async throws -> InquiryRecord? {
        let database = vault.database
        let kind = database.kind
        let row = try await database.read { db in
            try await db.select()
                .columns("id", "number", "subject_id", "service_id", "status", "policy_version", "created_at")
                .from("inquiries").where("id", .equal, id).first()
        }
        guard let row else { return nil }
        let subjectID = try row.decode(column: "subject_id", as: String.self)
        let version = try row.decode(column: "policy_version", as: String.self)
        let record = "inquiry:\(id)"

        // The policy the data was collected under and the current one decide together which fields the purpose may see.
        let policy = try await versions.policy(version: version)
        let decision = try await check(purpose: purpose, subjectID: subjectID, policy: policy, record: record)
        if case let .refused(refusal) = decision {
            try await AuditLog.record(
                AuditEvent(
                    actor: actor,
                    action: "purpose.refused",
                    subjectID: subjectID,
                    record: record,
                    purpose: purpose,
                    detail: refusal.reason.rawValue
                ),
                in: database
            )
            throw refusal
        }
        guard case let .allowed(allowed, withheld) = decision else { throw PurposeRefused(purpose: purpose, reason: .undeclared, record: record) }
        let sealed = try await database.read { db in
            try await db.select().columns("field_id", "sealed").from("inquiry_fields").where("inquiry_id", .equal, id).all()
        }
        var values: [String: String] = [:]
        if let key = try await vault.keys.key(subjectID: subjectID) {
            for field in sealed {
                let fieldID = try field.decode(column: "field_id", as: String.self)
                guard allowed.contains(fieldID), only?.contains(fieldID) ?? true else { continue }
                values[fieldID] = try SealedField.open(
                    try field.decode(column: "sealed", as: Data.self),
                    key: key,
                    context: "inquiry/\(id)/\(fieldID)",
                    for: .purpose(purpose)
                )
            }
        }
        let opened = values.keys.sorted().joined(separator: ",")
        try await AuditLog.record(
            AuditEvent(
                actor: actor,
                action: "inquiry.read",
                subjectID: subjectID,
                record: record,
                purpose: purpose,
                detail: "fields=\(opened)" + (withheld.isEmpty ? "" : " withheld=\(withheld.sorted().joined(separator: ","))")
            ),
            in: database
        )
        return InquiryRecord(
            id: id,
            number: try row.decode(column: "number", as: String.self),
            subjectID: subjectID,
            serviceID: try row.decode(column: "service_id", as: String.self),
            status: InquiryStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .new,
            policyVersion: version,
            createdAt: try Timestamp.decode(row, column: "created_at", kind),
            values: values,
            purpose: purpose,
            use: .purpose(purpose)
        )
    }

    /// What the guard decided for one use.
    enum Decision {
        /// These fields may be used; `withheld` are fields a newer version added to the purpose without the
        /// person's consent yet.
        case allowed(Set<String>, withheld: Set<String>)
        case refused(PurposeRefused)
    }

    /// Whether `purpose` may be used for `subjectID`'s data collected under `policy`, and for which fields.
    func check(purpose: String, subjectID: String, policy: Policy?, record: String) async throws -> Decision {
        func refused(_ reason: PurposeRefused.Reason) -> Decision { .refused(PurposeRefused(purpose: purpose, reason: reason, record: record)) }
        // The current version must declare the purpose, and so must the one the data was collected under, unless
        // the person consented to it since.
        guard let policy, let declared = current.purpose(id: purpose) else { return refused(.undeclared) }
        let servingNow = Set(current.fields.filter { $0.purposes.contains(purpose) }.map(\.id))
        let servingThen = Set(policy.fields.filter { $0.purposes.contains(purpose) }.map(\.id))
        guard !servingNow.isEmpty || !servingThen.isEmpty else { return refused(.notCollectedFor) }
        let suspended = try await SubjectRights.suspendedPurposes(subjectID: subjectID, in: vault.database)
        if suspended.contains(purpose) || suspended.contains(SubjectRights.allPurposes) { return refused(.suspended) }
        let answer = try await PurposeConsents(database: vault.database, versions: versions).latest(subjectID: subjectID, purpose: purpose)
        if declared.requiresConsent, answer?.granted != true { return refused(.noConsent) }
        // Fields the current version uses for the purpose: kept when they served it when given, otherwise only with
        // consent given under a version in which they serve it (looked up only when a version widened the purpose).
        let kept = servingNow.intersection(servingThen)
        let widened = servingNow.subtracting(servingThen)
        var consentedFields: Set<String> = []
        if !widened.isEmpty, let answer, answer.granted, let consentedUnder = try await versions.policy(version: answer.version) {
            consentedFields = Set(consentedUnder.fields.filter { $0.purposes.contains(purpose) }.map(\.id))
        }
        let allowed = kept.union(widened.intersection(consentedFields))
        let withheld = widened.subtracting(consentedFields)
        if allowed.isEmpty { return refused(servingThen.isEmpty || policy.purpose(id: purpose) == nil ? .purposeChanged : .notCollectedFor) }
        return .allowed(allowed, withheld: withheld)
    }
}

/// A free-text answer to a survey question, as staff may read it.
public struct SurveyText: Sendable, Hashable {
    public let answeredAt: Date
    /// The question's index in the survey.
    public let question: Int
    public let text: String
}

extension PurposeGuard {
    /// The free-text answers to `campaign`'s survey, newest first (at most `limit` people), opened for the purpose
    /// `surveys` on behalf of `actor`: refused (and audited) when the current policy no longer declares it; the
    /// answers of people who had that use (or every use) stopped are not opened. Each person's answer read is audited.
    public func surveyTexts(campaign: Campaign, actor: String, limit: Int = 200) async throws -> [SurveyText] {
        let purpose = Survey.purposeID
        let database = vault.database
        let kind = database.kind
        let record = "campaign:\(campaign.id)"
        guard current.purpose(id: purpose) != nil else {
            try await AuditLog.record(
                AuditEvent(
                    actor: actor,
                    action: "purpose.refused",
                    record: record,
                    purpose: purpose,
                    detail: PurposeRefused.Reason.undeclared.rawValue
                ),
                in: database
            )
            throw PurposeRefused(purpose: purpose, reason: .undeclared, record: record)
        }
        let textQuestions = Set(campaign.questions.indices.filter { campaign.questions[$0].kind == .text })
        guard !textQuestions.isEmpty else { return [] }
        let rows = try await database.read { db in
            try await db.raw(
                """
                SELECT a.subject_id AS subject_id, a.sealed AS sealed, a.created_at AS created_at FROM survey_answers a
                WHERE a.campaign_id = \(bind: campaign.id)
                AND NOT EXISTS (
                    SELECT 1 FROM suspensions p
                    WHERE p.subject_id = a.subject_id AND (p.purpose_id = \(bind: purpose) OR p.purpose_id = \(bind: SubjectRights.allPurposes))
                )
                ORDER BY a.created_at DESC, a.subject_id LIMIT \(literal: max(1, min(limit, 1_000)))
                """
            ).all()
        }
        let subjects = try rows.map { try $0.decode(column: "subject_id", as: String.self) }
        let keys = try await vault.keys.keys(subjectIDs: subjects)
        var texts: [SurveyText] = []
        var opened: [String] = []
        for (row, subjectID) in zip(rows, subjects) {
            guard let key = keys[subjectID] else { continue }
            let json = try SealedField.open(
                try row.decode(column: "sealed", as: Data.self),
                key: key,
                context: Survey.sealContext(campaignID: campaign.id, subjectID: subjectID),
                for: .purpose(purpose)
            )
            opened.append(subjectID)
            let items = try JSONDecoder().decode([Survey.AnswerItem].self, from: Data(json.utf8))
            let answeredAt = try Timestamp.decode(row, column: "created_at", kind)
            for (index, item) in items.enumerated() where textQuestions.contains(index) {
                if let text = item.text { texts.append(SurveyText(answeredAt: answeredAt, question: index, text: text)) }
            }
        }
        try await AuditLog.record(
            opened.map { AuditEvent(actor: actor, action: "survey.read", subjectID: $0, record: record, purpose: purpose, detail: "free-text") },
            in: database
        )
        return texts
    }
}
