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
}

/// The one way to read personal data: every read names a purpose, and the guard refuses a purpose the data was
/// not collected for, the person has not consented to, or the person had suspended (R-PUR-2). Both reads and
/// refusals are audited.
public struct PurposeGuard: Sendable {
    public let vault: InquiryVault
    public let versions: PolicyVersionStore

    public init(vault: InquiryVault, versions: PolicyVersionStore) {
        self.vault = vault
        self.versions = versions
    }

    /// Opens inquiry `id` for `purpose` on behalf of `actor`; nil when there is no such inquiry.
    public func inquiry(id: String, purpose: String, actor: String) async throws -> InquiryRecord? {
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

        // The policy the data was collected under decides both the check and which fields the purpose may see.
        let policy = try await versions.policy(version: version)
        let refusal = try await check(purpose: purpose, subjectID: subjectID, policy: policy, record: record)
        if let refusal {
            try await database.transaction { db in
                try await AuditLog.append(
                    AuditEvent(
                        actor: actor,
                        action: "purpose.refused",
                        subjectID: subjectID,
                        record: record,
                        purpose: purpose,
                        detail: refusal.reason.rawValue
                    ),
                    in: db,
                    kind: kind
                )
            }
            throw refusal
        }
        let allowed = Set((policy?.fields ?? []).filter { $0.purposes.contains(purpose) }.map(\.id))
        let sealed = try await database.read { db in
            try await db.select().columns("field_id", "sealed").from("inquiry_fields").where("inquiry_id", .equal, id).all()
        }
        var values: [String: String] = [:]
        if let key = try await vault.keys.key(subjectID: subjectID) {
            for field in sealed {
                let fieldID = try field.decode(column: "field_id", as: String.self)
                guard allowed.contains(fieldID) else { continue }
                values[fieldID] = try SealedField.open(
                    try field.decode(column: "sealed", as: Data.self),
                    key: key,
                    context: "inquiry/\(id)/\(fieldID)"
                )
            }
        }
        let opened = values.keys.sorted().joined(separator: ",")
        try await database.transaction { db in
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: "inquiry.read",
                    subjectID: subjectID,
                    record: record,
                    purpose: purpose,
                    detail: "fields=\(opened)"
                ),
                in: db,
                kind: kind
            )
        }
        return InquiryRecord(
            id: id,
            number: try row.decode(column: "number", as: String.self),
            subjectID: subjectID,
            serviceID: try row.decode(column: "service_id", as: String.self),
            status: InquiryStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .new,
            policyVersion: version,
            createdAt: try Timestamp.decode(row, column: "created_at", kind),
            values: values,
            purpose: purpose
        )
    }

    /// Why `purpose` may not be used for `subjectID`'s data collected under `policy`, or nil when it may.
    func check(purpose: String, subjectID: String, policy: Policy?, record: String) async throws -> PurposeRefused? {
        guard let policy, let declared = policy.purpose(id: purpose) else {
            return PurposeRefused(purpose: purpose, reason: .undeclared, record: record)
        }
        guard policy.fields.contains(where: { $0.purposes.contains(purpose) }) else {
            return PurposeRefused(purpose: purpose, reason: .notCollectedFor, record: record)
        }
        let suspended = try await SubjectRights.suspendedPurposes(subjectID: subjectID, in: vault.database)
        if suspended.contains(purpose) || suspended.contains(SubjectRights.allPurposes) {
            return PurposeRefused(purpose: purpose, reason: .suspended, record: record)
        }
        if declared.requiresConsent {
            let latest = try await vault.database.read { db in
                try await db.select().column("granted").from("consents")
                    .where("subject_id", .equal, subjectID).where("purpose_id", .equal, purpose)
                    .orderBy("created_at", .descending).limit(1)
                    .first(decodingColumn: "granted", as: Bool.self)
            }
            if latest != true { return PurposeRefused(purpose: purpose, reason: .noConsent, record: record) }
        }
        return nil
    }
}
