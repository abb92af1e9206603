import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// Limits and once-per-period jobs live in the database, so they hold across every server on it (R-OPS-1, R-SEC-2).
@Suite("Limits and jobs shared by servers")
struct SharedLimitTests {
    @Test("R-SEC-2, R-OPS-1: codes per address and hour are counted in the database: of 20 at once, 5 go", arguments: TestDatabase.available)
    func addressLimit(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15 08:00 UTC, on an hour
            // Twenty servers' worth of requests at once for one address: exactly five are allowed.
            let limit = AddressLimit(database: fixture.data, scope: "me")
            let allowed = try await withThrowingTaskGroup(of: Int?.self) { group in
                for _ in 0..<20 { group.addTask { try await limit.acquire(emailIndex: "victim", at: now.addingTimeInterval(60)) } }
                return try await group.reduce(into: [Int?]()) { $0.append($1) }
            }
            #expect(allowed.filter { $0 == nil }.count == 5)
            #expect(allowed.compactMap { $0 }.allSatisfy { $0 == 3_540 }, "refused until the hour ends: \(allowed)")
            // Another address, and the request scope, are counted apart.
            #expect(try await limit.acquire(emailIndex: "someone-else", at: now) == nil)
            #expect(try await AddressLimit(database: fixture.data, scope: "request").acquire(emailIndex: "victim", at: now) == nil)
            // The next hour starts afresh.
            #expect(try await limit.acquire(emailIndex: "victim", at: now.addingTimeInterval(3_600)) == nil)
            // A clock before the epoch is refused, never a trap.
            #expect(try await limit.acquire(emailIndex: "victim", at: Date(timeIntervalSince1970: -5)) != nil)
            // Housekeeping removes the counts of hours that have ended.
            let rows = { try await fixture.data.read { try await $0.select().column("scope").from("address_limits").all().count } }
            let counted = try await rows()
            #expect(counted == 3)
            let pass = try await Housekeeping(database: fixture.data, logger: .init(label: "test")).run(now: now.addingTimeInterval(7_300))
            let left = try await rows()
            #expect(pass.addressLimits == 3 && left == 0)
        }
    }

    @Test("R-DSR-5: erasure removes the person's code counts", arguments: TestDatabase.available)
    func erasedWithThePerson(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let receipt = try await fixture.submit(fixture.submission(email: "hanako@example.jp"))
            let index = BlindIndex.of(email: "hanako@example.jp", key: fixture.ring.blindIndexKey)
            #expect(try await AddressLimit(database: fixture.data, scope: "me").acquire(emailIndex: index) == nil)
            try await SubjectRights(vault: fixture.vault).erase(subjectID: receipt.subjectID, actor: "test", source: "test")
            let left = try await fixture.data.read {
                try await $0.select().column("scope").from("address_limits").where("email_index", .equal, index).all().count
            }
            #expect(left == 0)
        }
    }

    @Test(
        "R-OPS-1: a job meant to run once per period runs on one server of many asking at once, then again next period",
        arguments: TestDatabase.available
    )
    func oncePerPeriod(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let now = Date()
            let runs = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        let lease = JobLease(database: fixture.data, name: "housekeeping", holder: "server-\(index)")
                        return try await lease.run(for: 540, keep: true, at: now) { true } ?? false
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(runs == 1)
            // Within the period nobody runs it again — the holder included; after it, the first to ask does.
            let again = JobLease(database: fixture.data, name: "housekeeping", holder: "server-0")
            #expect(try await again.run(for: 540, keep: true, at: now.addingTimeInterval(300)) { true } == nil)
            #expect(try await again.run(for: 540, keep: true, at: now.addingTimeInterval(541)) { true } == true)
            // A job that fails gives the lease back at once.
            struct Failed: Error {}
            let failing = JobLease(database: fixture.data, name: "audit-check", holder: "server-1")
            await #expect(throws: Failed.self) { try await failing.run(for: 86_000, keep: true, at: now) { throw Failed() } }
            #expect(
                try await JobLease(database: fixture.data, name: "audit-check", holder: "server-2").acquire(
                    until: now.addingTimeInterval(10),
                    at: now
                )
            )
        }
    }
}
