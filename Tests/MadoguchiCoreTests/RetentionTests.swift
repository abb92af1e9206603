import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-RET-1: whoever no purpose needs any more is erased, through the same path as an erasure request; one purge at a
/// time across servers.
@Suite("Retention")
struct RetentionTests {
    static func daysAgo(_ days: Int) -> Date { Date().addingTimeInterval(-Double(days) * 86_400) }

    @Test(
        "R-RET-1: retention runs from the last inquiry, the longest purpose that still applies decides, an open request holds the purge; the purge erases and audits",
        arguments: TestDatabase.available
    )
    func purge(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            // Marketing kept longer than the rest, so that consent can extend retention.
            var policy = fixture.policy
            for index in policy.purposes.indices where policy.purposes[index].id == "marketing" { policy.purposes[index].retentionDays = 2_000 }
            func submit(_ email: String, daysAgo: Int, consent: Bool = false) async throws -> InquiryReceipt {
                guard case let .success(valid) = policy.validate(fixture.submission(email: email, consent: consent)) else {
                    throw TestDatabaseError("invalid")
                }
                return try await fixture.vault.submit(valid, policy: policy, at: Self.daysAgo(daysAgo))
            }
            let old = try await submit("old@example.jp", daysAgo: 1_200)
            let recent = try await submit("recent@example.jp", daysAgo: 800)
            let returning = try await submit("returning@example.jp", daysAgo: 1_500)
            _ = try await submit("returning@example.jp", daysAgo: 10)
            let consenting = try await submit("consent@example.jp", daysAgo: 1_200)
            let consents = PurposeConsents(database: fixture.data, versions: fixture.guardian.versions)
            try await consents.record(
                subjectID: consenting.subjectID,
                purpose: "marketing",
                granted: true,
                policy: policy,
                source: "me",
                shownText: ""
            )
            let asking = try await submit("asking@example.jp", daysAgo: 1_300)
            try await fixture.data.transaction { db in
                try await db.raw(
                    """
                    INSERT INTO requests (id, number, type, status, email_index, key_id, sealed, code_hash, code_expires_at, attempts, subject_id, created_at)
                    VALUES ('r1', 'R20260101-AAAAAA', 'disclosure', 'open', 'x', 'k', \(bind: Data([1])), 'h', \(bind: Date()), 0, \(bind: asking.subjectID), \(bind: Date()))
                    """
                ).run()
            }

            let purge = RetentionPurge(vault: fixture.vault)
            #expect(try await purge.expired(policy: policy).map(\.subjectID) == [old.subjectID])
            // Withdrawn consent no longer extends retention.
            try await consents.record(
                subjectID: consenting.subjectID,
                purpose: "marketing",
                granted: false,
                policy: policy,
                source: "me",
                shownText: ""
            )
            #expect(Set(try await purge.expired(policy: policy).map(\.subjectID)) == [old.subjectID, consenting.subjectID])

            let erased = try #require(try await purge.run(policy: policy, holder: "test"))
            #expect(Set(erased.map(\.subjectID)) == [old.subjectID, consenting.subjectID] && erased.count == 2)
            let left = try await fixture.data.read { db in
                try await db.select().column("id").from("subjects").all(decodingColumn: "id", as: String.self)
            }
            #expect(Set(left) == [recent.subjectID, returning.subjectID, asking.subjectID])
            #expect(try await fixture.vault.keys.key(subjectID: old.subjectID) == nil, "erased as a request would: the key is gone")
            let audit = try await AuditLog.entries(in: fixture.data).filter { $0.event.actor == "retention" }
            #expect(audit.count == 2 && Set(audit.compactMap(\.event.subjectID)) == [old.subjectID, consenting.subjectID])
            #expect(try await purge.run(policy: policy, holder: "test") == [], "nothing left to erase")
        }
    }

    @Test("R-RET-1: of servers purging at once, one holds the lease; it runs out if its holder dies", arguments: TestDatabase.available)
    func lease(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let purge = RetentionPurge(vault: fixture.vault)
            let until = Date().addingTimeInterval(3_600)
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await JobLease(database: fixture.vault.database, name: "retention-purge", holder: "server-\(index)").acquire(until: until)
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(winners == 1)
            #expect(try await purge.run(policy: fixture.policy, holder: "another") == nil, "held elsewhere: this server does nothing")
            let later = JobLease(database: fixture.vault.database, name: "retention-purge", holder: "later")
            #expect(try await later.acquire(until: until, at: until.addingTimeInterval(1)), "a dead holder's lease runs out")
            try await later.release()
            #expect(try await purge.run(policy: fixture.policy, holder: "another") == [])
        }
    }
}
