import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-SEC-3: attempt counters change atomically in the database. Fifty wrong answers sent at once count exactly up to
/// the limit; the rest are refused as used up, and the right answer is refused afterwards.
@Suite("Attempt limits under concurrency")
struct AttemptLimitTests {
    static let parallel = 50

    @Test(
        "R-SEC-3: 50 concurrent wrong codes on /me: exactly 5 counted, the rest refused, the right code refused after",
        arguments: TestDatabase.available
    )
    func selfServiceCode(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let access = SelfService(vault: fixture.vault)
            let issued = try await access.issueCode(email: "taro@example.jp") { code in
                OutgoingMail(to: "taro@example.jp", subject: "code", body: code)
            }
            let wrong = issued.code == "000000" ? "111111" : "000000"
            let outcomes = try await withThrowingTaskGroup(of: SelfService.CodeOutcome.self) { group in
                for _ in 0..<Self.parallel { group.addTask { try await access.enter(ticket: issued.ticket, code: wrong) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let counted = outcomes.filter { if case .wrongCode = $0 { true } else { false } }.count
            #expect(counted == SelfService.maximumAttempts - 1, "4 answered 'wrong, n left'; the 5th used the code up")
            #expect(Set(outcomes.compactMap { if case let .wrongCode(left) = $0 { left } else { nil } }) == [1, 2, 3, 4])
            #expect(try await attempts("access_codes", id: issued.ticket, fixture) == SelfService.maximumAttempts)
            #expect(try await access.enter(ticket: issued.ticket, code: issued.code) == .notValid, "the right code is refused after")
            #expect(try await auditCount("access.code-wrong", fixture) == SelfService.maximumAttempts)
        }
    }

    @Test(
        "R-SEC-3: 50 concurrent wrong request codes: exactly 5 counted, the request lapses, the right code refused after",
        arguments: TestDatabase.available
    )
    func requestCode(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let desk = RightsRequestDesk(vault: fixture.vault)
            guard
                case let .success(valid) = RightsRequestForm.validate(
                    RightsRequestSubmission(type: "disclosure", email: "taro@example.jp", name: "山田 太郎"),
                    policy: fixture.policy
                )
            else {
                Issue.record("invalid request")
                return
            }
            let receipt = try await desk.submit(valid) { number, code in OutgoingMail(to: "taro@example.jp", subject: number, body: code) }
            let wrong = receipt.code == "000000" ? "111111" : "000000"
            let outcomes = try await withThrowingTaskGroup(of: VerificationOutcome.self) { group in
                for _ in 0..<Self.parallel {
                    group.addTask { try await desk.verify(number: receipt.number, code: wrong, calendar: BusinessCalendar(), answerDays: 3) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .wrongCode = $0 { true } else { false } }.count == RightsRequestDesk.maximumAttempts - 1)
            #expect(try await attempts("requests", id: receipt.id, fixture) == RightsRequestDesk.maximumAttempts)
            let status = try await fixture.data.read { db in
                try await db.select().column("status").from("requests").where("id", .equal, receipt.id).first(
                    decodingColumn: "status",
                    as: String.self
                )
            }
            #expect(status == RightsRequestStatus.lapsed.rawValue)
            #expect(try await desk.verify(number: receipt.number, code: receipt.code, calendar: BusinessCalendar(), answerDays: 3) == .notValid)
            #expect(try await auditCount("request.code-wrong", fixture) == RightsRequestDesk.maximumAttempts)
        }
    }

    @Test(
        "R-SEC-3, #21: 50 concurrent wrong download codes: exactly 5 counted; 50 concurrent code requests on one link: exactly 10 sent",
        arguments: TestDatabase.available
    )
    func downloadCode(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let (receipt, token) = try await RequestTests().completedDisclosure(fixture)
            let desk = RightsRequestDesk(vault: fixture.vault)
            let link = try #require(try await desk.downloadLink(number: receipt.number, token: token))
            let (ticket, code) = try await RequestTests().mailedDownloadCode(desk, link)
            let wrong = code == "000000" ? "111111" : "000000"
            let outcomes = try await withThrowingTaskGroup(of: RightsRequestDesk.DownloadCodeOutcome.self) { group in
                for _ in 0..<Self.parallel { group.addTask { try await desk.enterDownloadCode(link, ticket: ticket, code: wrong) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .wrongCode = $0 { true } else { false } }.count == RightsRequestDesk.maximumAttempts - 1)
            #expect(try await attempts("download_codes", id: ticket, fixture) == RightsRequestDesk.maximumAttempts)
            #expect(try await desk.enterDownloadCode(link, ticket: ticket, code: code) == .notValid, "the right code is refused after")
            #expect(try await auditCount("request.download-code-wrong", fixture) == RightsRequestDesk.maximumAttempts)

            let issues = try await withThrowingTaskGroup(of: RightsRequestDesk.DownloadCodeIssue.self) { group in
                for _ in 0..<Self.parallel {
                    group.addTask { try await desk.issueDownloadCode(link, mail: { OutgoingMail(to: $0, subject: "d", body: $1) }) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let sent = issues.filter { if case .sent = $0 { true } else { false } }.count
            #expect(sent == RightsRequestDesk.downloadCodeLimit - 1, "one was sent before")
            #expect(issues.filter { $0 == .limitReached }.count == Self.parallel - sent)
            let rows = try await fixture.data.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM download_codes").first(decodingColumn: "n", as: Int.self)
            }
            #expect(rows == RightsRequestDesk.downloadCodeLimit)
        }
    }

    @Test(
        "R-SEC-3, R-SEC-2: 50 concurrent wrong staff passwords from one client: 5 counted, that client held off, the right password refused there but not from another client; unknown addresses answer alike",
        arguments: TestDatabase.available
    )
    func staffLockout(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let staff = StaffDirectory(database: fixture.data, bcryptCost: 4)
            let (_, token) = try await staff.add(
                email: "op@mirai-career.example",
                role: .operator,
                departmentID: nil,
                policy: fixture.policy,
                actor: "test"
            )
            _ = try await staff.completeSetup(token: token, password: "correct horse battery")
            for email in ["op@mirai-career.example", "nobody@mirai-career.example"] {
                let outcomes = try await withThrowingTaskGroup(of: StaffDirectory.SignIn.self) { group in
                    for _ in 0..<Self.parallel {
                        group.addTask { try await staff.signIn(email: email, password: "wrong-password!", client: "203.0.113.7") }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 == .invalid }.count == staff.maximumFailures - 1, "\(email): 4 plain failures, then held off")
                #expect(outcomes.filter { if case .locked = $0 { true } else { false } }.count == Self.parallel - staff.maximumFailures + 1)
                let failures = try await fixture.data.read { db in
                    try await db.select().column("failures").from("staff_sign_in_failures").all(decodingColumn: "failures", as: Int.self)
                }
                #expect(failures.contains(staff.maximumFailures) && failures.allSatisfy { $0 == staff.maximumFailures })
            }
            let there = try await staff.signIn(email: "op@mirai-career.example", password: "correct horse battery", client: "203.0.113.7")
            if case .locked = there {} else { Issue.record("the right password is refused from the client that guessed: \(there)") }
            let elsewhere = try await staff.signIn(email: "op@mirai-career.example", password: "correct horse battery", client: "198.51.100.2")
            if case .signedIn = elsewhere {} else { Issue.record("another client is not locked out: \(elsewhere)") }

            // Back-off: once the hold ends, the next run of failures holds off twice as long.
            let later = Date().addingTimeInterval(61)
            for _ in 0..<(staff.maximumFailures - 1) {
                #expect(
                    try await staff.signIn(email: "op@mirai-career.example", password: "wrong-password!", client: "203.0.113.7", now: later)
                        == .invalid
                )
            }
            guard
                case let .locked(until) = try await staff.signIn(
                    email: "op@mirai-career.example",
                    password: "wrong-password!",
                    client: "203.0.113.7",
                    now: later
                )
            else {
                Issue.record("the second run of failures holds off again")
                return
            }
            #expect(abs(until.timeIntervalSince(later) - 120) < 1, "a minute, then two")
        }
    }

    private func attempts(_ table: String, id: String, _ fixture: VaultFixture) async throws -> Int? {
        try await fixture.data.read { db in
            try await db.select().column("attempts").from(table).where("id", .equal, id).first(decodingColumn: "attempts", as: Int.self)
        }
    }

    private func auditCount(_ action: String, _ fixture: VaultFixture) async throws -> Int {
        try await fixture.data.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE action = \(bind: action)").first(decodingColumn: "n", as: Int.self) ?? 0
        }
    }
}
