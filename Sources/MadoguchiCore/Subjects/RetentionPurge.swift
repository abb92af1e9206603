import Foundation
import SQLKit

/// Retention (R-RET-1): a person's data is kept while some purpose still needs it — for each purpose of the current
/// policy that their data serves (one that needs consent only while their latest answer is consent), its
/// `retention_days` counted from their last inquiry. When no purpose needs it any more, the purge erases them through
/// `SubjectRights.erase`, exactly as a request would (keys destroyed, rows gone, what the law keeps kept), audited
/// as done by `retention`. A person with a request still open or awaiting its code is left until it is closed.
///
/// One purge runs at a time across every server on the database (`JobLease`).
public struct RetentionPurge: Sendable {
    public let vault: InquiryVault
    public var database: Database { vault.database }

    public init(vault: InquiryVault) {
        self.vault = vault
    }

    /// Migration 19: leases of jobs that must run on one server at a time.
    public static let migration = Migration(
        version: 19,
        name: "job-leases",
        portable: [
            """
            CREATE TABLE job_leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at {timestamp} NOT NULL
            )
            """
        ]
    )

    /// A person whose data no purpose needs any more.
    public struct Expired: Sendable, Hashable {
        public let subjectID: String
        public let lastInquiry: Date
        /// The day the longest retention that applied to them ended.
        public let neededUntil: Date
    }

    /// The people no purpose of `policy` still needs at `now`, oldest first.
    public func expired(policy: Policy, at now: Date = Date()) async throws -> [Expired] {
        try await Self.expired(policy: policy, in: database, at: now)
    }

    /// The people no purpose of `policy` still needs at `now` in `database` (reads no key: `purge --dry-run`).
    public static func expired(policy: Policy, in database: Database, at now: Date = Date()) async throws -> [Expired] {
        let always = policy.purposes.filter { !$0.requiresConsent }.map(\.retentionDays).max() ?? 0
        let consentBased = policy.purposes.filter(\.requiresConsent)
        let kind = database.kind
        // Nobody whose last inquiry is within the shortest retention that always applies can be expired.
        let cutoff = now.addingTimeInterval(-Double(always) * 86_400)
        let candidates = try await database.read { db in
            try await db.raw(
                """
                SELECT s.id AS id, MAX(i.created_at) AS last_inquiry FROM subjects s JOIN inquiries i ON i.subject_id = s.id
                WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.subject_id = s.id AND r.status IN ('open', 'unverified'))
                GROUP BY s.id
                HAVING MAX(i.created_at) < \(Timestamp.bind(cutoff, kind))
                ORDER BY MAX(i.created_at), s.id
                """
            ).all().map { (try $0.decode(column: "id", as: String.self), try Timestamp.decode($0, column: "last_inquiry", kind)) }
        }
        let consents = PurposeConsents(database: database, versions: PolicyVersionStore(database: database))
        var expired: [Expired] = []
        for (subjectID, last) in candidates {
            var days = always
            if !consentBased.isEmpty {
                let answers = try await consents.latest(subjectID: subjectID)
                for purpose in consentBased where answers[purpose.id]?.granted == true { days = max(days, purpose.retentionDays) }
            }
            let until = last.addingTimeInterval(Double(days) * 86_400)
            if until <= now { expired.append(Expired(subjectID: subjectID, lastInquiry: last, neededUntil: until)) }
        }
        return expired
    }

    /// What a purge did: who was erased, or nil when another server holds the purge.
    public func run(policy: Policy, holder: String, at now: Date = Date()) async throws -> [Expired]? {
        try await JobLease(database: database, name: "retention-purge", holder: holder).run(for: 3_600, keep: false, at: now) {
            let expired = try await expired(policy: policy, at: now)
            let rights = SubjectRights(vault: vault)
            for person in expired {
                try await rights.erase(subjectID: person.subjectID, actor: "retention", source: "retention-purge", at: now)
            }
            return expired
        }
    }
}
