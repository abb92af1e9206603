import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Requests")
struct RequestTests {
    func submission(
        _ type: String = "disclosure",
        email: String = "taro@example.jp",
        name: String = "山田 太郎",
        purposes: [String]? = nil,
        details: String? = nil,
        delivery: String? = nil
    ) -> RightsRequestSubmission {
        RightsRequestSubmission(type: type, email: email, name: name, details: details, purposes: purposes, delivery: delivery)
    }

    func problems(_ submission: RightsRequestSubmission, _ policy: Policy) -> [FieldProblem] {
        if case let .failure(failure) = RightsRequestForm.validate(submission, policy: policy) { return failure.problems }
        return []
    }

    // R-DSR-1: every request type, with the fields each needs; bad input is named field by field.
    @Test("R-DSR-1: request types and their fields are validated; unknown types, purposes and formats are refused")
    func validation() throws {
        let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
        for type in RightsRequestType.allCases where type != .correction && type != .suspension {
            #expect(problems(submission(type.rawValue), policy).isEmpty, "\(type)")
        }
        #expect(problems(submission("correction"), policy) == [FieldProblem(field: "details", code: .missing)])
        #expect(problems(submission("correction", details: "電話番号を 03-0000-0000 に訂正"), policy).isEmpty)
        #expect(problems(submission("suspension"), policy) == [FieldProblem(field: "purposes", code: .missing)])
        #expect(problems(submission("suspension", purposes: ["marketing"]), policy).isEmpty)
        #expect(problems(submission("suspension", purposes: ["*"]), policy).isEmpty)
        #expect(problems(submission("suspension", purposes: ["profiling"]), policy) == [FieldProblem(field: "purposes", code: .invalidChoice)])
        #expect(problems(submission("disclosure", purposes: ["marketing"]), policy) == [FieldProblem(field: "purposes", code: .unknownField)])
        #expect(problems(submission("disclosure", delivery: "pdf"), policy) == [FieldProblem(field: "delivery", code: .invalidChoice)])
        #expect(problems(submission("erasure", delivery: "csv"), policy) == [FieldProblem(field: "delivery", code: .unknownField)])
        #expect(problems(submission("hack"), policy) == [FieldProblem(field: "type", code: .invalidChoice)])
        #expect(problems(submission("", email: "", name: " "), policy).map(\.field) == ["type", "email", "name"])
        #expect(problems(submission(email: "taro@example.jp\r\nBcc: x@y.jp"), policy).first?.code == .multipleLines)
        #expect(
            problems(submission("correction", details: String(repeating: "あ", count: 4_001)), policy)
                == [FieldProblem(field: "details", code: .tooLong, limit: 4_000)]
        )
        guard case let .success(valid) = RightsRequestForm.validate(submission(email: "ＴＡＲＯ＠ｅｘａｍｐｌｅ．ｊｐ", delivery: "csv"), policy: policy)
        else {
            Issue.record("full-width input must pass")
            return
        }
        #expect(valid.content.email == "TARO@example.jp")
        #expect(valid.content.delivery == .csv)
    }

    func validated(_ fixture: VaultFixture, _ submission: RightsRequestSubmission) throws -> ValidatedRightsRequest {
        try RightsRequestForm.validate(submission, policy: fixture.policy).get()
    }

    // R-DSR-2: the code proves control of the address; nothing is revealed before.
    @Test(
        "R-DSR-2: a hashed, sealed code; wrong codes count down, five lapse the request; a right code opens it with a business-day due date",
        arguments: TestDatabase.available
    )
    func verification(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            _ = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            let desk = RightsRequestDesk(vault: fixture.vault)
            let friday = try Date("2025-12-26T01:00:00Z", strategy: .iso8601)  // 10:00 in Tokyo
            let receipt = try await desk.submit(
                try validated(fixture, submission()),
                mail: { number, code in
                    OutgoingMail(to: "taro@example.jp", subject: number, body: "code \(code)")
                },
                at: friday
            )
            #expect(receipt.number.hasPrefix("R20251226-"))
            #expect(receipt.code.count == 6 && receipt.code.allSatisfy(\.isNumber))
            // The code and the address are stored only hashed or sealed.
            let stored = try await fixture.data.read { db in
                try await db.select().columns("code_hash", "sealed", "email_index").from("requests").where("id", .equal, receipt.id).first()
            }
            let row = try #require(stored)
            #expect(try row.decode(column: "code_hash", as: String.self) != receipt.code)
            #expect(try row.decode(column: "sealed", as: Data.self).range(of: Data("taro@example.jp".utf8)) == nil)

            let calendar = BusinessCalendar()
            let wrong = receipt.code == "000000" ? "111111" : "000000"
            #expect(
                try await desk.verify(number: receipt.number, code: wrong, calendar: calendar, answerDays: 3, at: friday)
                    == .wrongCode(attemptsLeft: 4)
            )
            #expect(try await desk.verify(number: "R20251226-NOPE00", code: receipt.code, calendar: calendar, answerDays: 3, at: friday) == .notValid)
            let late = friday.addingTimeInterval(RightsRequestDesk.codeLifetime + 1)
            #expect(
                try await desk.verify(number: receipt.number, code: receipt.code, calendar: calendar, answerDays: 3, at: late) == .notValid,
                "expired"
            )
            #expect(
                try await desk.verify(number: receipt.number, code: receipt.code, calendar: calendar, answerDays: 3, at: friday)
                    == .verified(number: receipt.number, due: LocalDate(iso: "2026-01-07")!, known: true)
            )
            #expect(
                try await desk.verify(number: receipt.number, code: receipt.code, calendar: calendar, answerDays: 3, at: friday) == .notValid,
                "a code works once"
            )
            let queue = try await desk.queue()
            #expect(queue.map(\.number) == [receipt.number])
            #expect(queue.first?.urgency(on: LocalDate(iso: "2026-01-07")!) == .dueToday)
            #expect(queue.first?.urgency(on: LocalDate(iso: "2026-01-08")!) == .overdue)
            #expect(queue.first?.urgency(on: LocalDate(iso: "2026-01-06")!) == .onTime)
            // R-OPS-1: `/metrics` counts it overdue from the day after its due date (Japan's calendar).
            let dueDay = try #require(ISO8601DateFormatter().date(from: "2026-01-07T12:00:00+09:00"))
            #expect(try await OperationalFigures.read(from: fixture.data, now: dueDay).requestsOverdue == 0)
            #expect(try await OperationalFigures.read(from: fixture.data, now: dueDay.addingTimeInterval(86_400)).requestsOverdue == 1)

            // Five wrong codes lapse a request; the right one no longer works.
            let other = try await desk.submit(
                try validated(fixture, submission(email: "someone@example.jp")),
                mail: { number, code in
                    OutgoingMail(to: "someone@example.jp", subject: number, body: code)
                },
                at: friday
            )
            let bad = other.code == "999999" ? "888888" : "999999"
            for left in (0..<4).reversed() {
                #expect(
                    try await desk.verify(number: other.number, code: bad, calendar: calendar, answerDays: 3, at: friday)
                        == .wrongCode(attemptsLeft: left + 1)
                )
            }
            #expect(try await desk.verify(number: other.number, code: bad, calendar: calendar, answerDays: 3, at: friday) == .notValid)
            #expect(try await desk.verify(number: other.number, code: other.code, calendar: calendar, answerDays: 3, at: friday) == .notValid)
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: try await AuditLog.entries(in: fixture.data).count))
        }
    }

    @Test(
        "R-DSR-2: a known address also needs a matching name or phone; an unknown address opens a request that says so",
        arguments: TestDatabase.available
    )
    func itemMatching(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            _ = try await fixture.submitConfirmed(
                InquirySubmission(
                    serviceID: "agent",
                    values: [
                        "name": "山田 太郎", "email": "taro@example.jp", "phone": "03-1234-5678", "topic": "service", "message": "相談",
                    ]
                )
            )
            // Someone else types Taro's address with their own name: never confirmed, it registers nothing.
            _ = try await fixture.submit(
                InquirySubmission(
                    serviceID: "agent",
                    values: [
                        "name": "別人", "email": "taro@example.jp", "phone": "090-0000-0000", "topic": "service", "message": "なりすまし",
                    ]
                )
            )
            let desk = RightsRequestDesk(vault: fixture.vault)
            func run(_ submission: RightsRequestSubmission) async throws -> VerificationOutcome {
                let receipt = try await desk.submit(
                    try validated(fixture, submission),
                    mail: { number, code in
                        OutgoingMail(to: submission.email, subject: number, body: code)
                    }
                )
                return try await desk.verify(number: receipt.number, code: receipt.code, calendar: BusinessCalendar(), answerDays: 3)
            }
            if case .verified(_, _, let known) = try await run(submission(name: "山田太郎")) { #expect(known) } else { Issue.record("spaces ignored") }
            if case .verified = try await run(submission(name: "ＹＡＭＡＤＡ", purposes: nil)) { Issue.record("wrong name must not match") }
            var byPhone = submission(name: "T. Yamada")
            byPhone.phone = "０３１２３４５６７８"
            if case .verified = try await run(byPhone) {} else { Issue.record("phone digits match") }
            #expect(try await run(submission(name: "別人")) == .itemMismatch, "an unconfirmed inquiry's name is not registered")
            var attackerPhone = submission(name: "別人")
            attackerPhone.phone = "090-0000-0000"
            #expect(try await run(attackerPhone) == .itemMismatch, "nor its phone")
            if case .verified(_, _, let known) = try await run(submission(email: "nobody@example.jp")) {
                #expect(!known)
            } else {
                Issue.record("an unknown address is verified too")
            }
        }
    }
}

extension RequestTests {
    @Test(
        "R-DSR-4: a download token is refused once expired, when changed, or for a request that is not a completed disclosure",
        arguments: TestDatabase.available
    )
    func downloadTokens(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let desk = RightsRequestDesk(vault: fixture.vault)
            let receipt = try await desk.submit(
                try validated(fixture, submission()),
                mail: { number, code in
                    OutgoingMail(to: "taro@example.jp", subject: number, body: code)
                }
            )
            let future = Date().addingTimeInterval(3_600)
            let token = desk.disclosureToken(number: receipt.number, expires: future)
            #expect(try await desk.downloadLink(number: receipt.number, token: token) == nil, "not completed yet")
            let past = desk.disclosureToken(number: receipt.number, expires: Date().addingTimeInterval(-1))
            #expect(try await desk.downloadLink(number: receipt.number, token: past) == nil)
            #expect(try await desk.downloadLink(number: receipt.number, token: token.replacingOccurrences(of: ".", with: ".0")) == nil)
            #expect(try await desk.downloadLink(number: "R20000101-AAAAAA", token: token) == nil, "bound to its number")
            _ = try await desk.verify(number: receipt.number, code: receipt.code, calendar: BusinessCalendar(), answerDays: 3)
            let detail = try #require(try await desk.open(id: receipt.id, actor: "staff:1"))
            try await desk.complete(detail, policy: fixture.policy, actor: "staff:1") { content in
                OutgoingMail(to: content.email, subject: "done", body: "done")
            }
            let found = try #require(try await desk.downloadLink(number: receipt.number, token: token))
            #expect(found.format == .json && found.subjectID.isEmpty, "no inquiry was sent from this address")
            #expect(try await desk.downloadLink(number: receipt.number, token: past) == nil, "still refused once expired")

            // R-SEC-3: hostile stamps are refused before any arithmetic (Int.max used to trap in the conversion).
            let signature = String(token.split(separator: ".")[1])
            for stamp in [
                "9223372036854775807", "99999999999999999999", "-1", "1e20", "nan", "", "+1", " 1", "0x10",
                String(Int(Date().timeIntervalSince1970) + 365 * 86_400),
            ] {
                #expect(try await desk.downloadLink(number: receipt.number, token: "\(stamp).\(signature)") == nil, "stamp \(stamp)")
            }
            for hostile in ["", ".", "..", "1.2.3", String(repeating: "9", count: 10_000), "\(Int.max).x"] {
                #expect(try await desk.downloadLink(number: receipt.number, token: hostile) == nil)
            }
            let farFuture = desk.disclosureToken(number: receipt.number, expires: Date().addingTimeInterval(RightsRequestDesk.downloadLifetime * 2))
            #expect(try await desk.downloadLink(number: receipt.number, token: farFuture) == nil, "longer than a link ever lives")
        }
    }

    /// A disclosure request from `email`, verified and completed by staff; its download token.
    func completedDisclosure(_ fixture: VaultFixture, email: String = "taro@example.jp") async throws -> (RightsRequestReceipt, String) {
        let desk = RightsRequestDesk(vault: fixture.vault)
        let receipt = try await desk.submit(try validated(fixture, submission(email: email))) { number, code in
            OutgoingMail(to: email, subject: number, body: code)
        }
        _ = try await desk.verify(number: receipt.number, code: receipt.code, calendar: BusinessCalendar(), answerDays: 3)
        let detail = try #require(try await desk.open(id: receipt.id, actor: "staff:1"))
        try await desk.complete(detail, policy: fixture.policy, actor: "staff:1") { content in
            OutgoingMail(to: content.email, subject: "done", body: "done")
        }
        return (receipt, desk.disclosureToken(number: receipt.number, expires: Date().addingTimeInterval(RightsRequestDesk.downloadLifetime)))
    }

    /// Has a download code mailed for `link`: its ticket and the code the mail carried.
    func mailedDownloadCode(_ desk: RightsRequestDesk, _ link: RightsRequestDesk.DownloadLink) async throws -> (ticket: String, code: String) {
        var code = ""
        let issued = try await desk.issueDownloadCode(link) { address, sent in
            code = sent
            return OutgoingMail(to: address, subject: "download", body: sent)
        }
        guard case let .sent(ticket) = issued else { throw TestDatabaseError("no code was sent: \(issued)") }
        return (ticket, code)
    }

    @Test(
        "#21, R-DSR-4: the download link alone opens nothing — a code mailed to the request's address does, once, in time, within five tries; ten codes per link; erasure removes the codes",
        arguments: TestDatabase.available
    )
    func downloadCodes(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            _ = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            let desk = RightsRequestDesk(vault: fixture.vault)
            let (receipt, token) = try await completedDisclosure(fixture)
            let link = try #require(try await desk.downloadLink(number: receipt.number, token: token))
            #expect(!link.subjectID.isEmpty && link.emailIndex == BlindIndex.of(email: "taro@example.jp", key: fixture.vault.keys.ring.blindIndexKey))

            var mailed: [(address: String, code: String)] = []
            let sent = try await desk.issueDownloadCode(link) { address, code in
                mailed.append((address, code))
                return OutgoingMail(to: address, subject: "download", body: code)
            }
            guard case let .sent(ticket) = sent else {
                Issue.record("a code must be sent: \(sent)")
                return
            }
            #expect(mailed.map(\.address) == ["taro@example.jp"], "only to the address the request proved")
            let code = try #require(mailed.first?.code)
            let stored = try await fixture.data.read { db in
                try await db.select().columns("code_hash", "attempts").from("download_codes").where("id", .equal, ticket).first()
            }
            #expect(try stored?.decode(column: "code_hash", as: String.self) != code, "the code is stored hashed")
            let queued = try await fixture.data.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'download-code'").first(decodingColumn: "n", as: Int.self)
            }
            #expect(queued == 1)

            let wrong = code == "000000" ? "111111" : "000000"
            #expect(try await desk.enterDownloadCode(link, ticket: ticket, code: wrong) == .wrongCode(attemptsLeft: 4))
            #expect(try await desk.enterDownloadCode(link, ticket: "nonsense", code: code) == .notValid, "another ticket")
            #expect(try await desk.enterDownloadCode(link, ticket: String(repeating: "x", count: 10_000), code: code) == .notValid)
            #expect(try await desk.enterDownloadCode(link, ticket: ticket, code: code) == .granted)
            #expect(try await desk.enterDownloadCode(link, ticket: ticket, code: code) == .notValid, "a code opens one download")

            // Another completed disclosure's link cannot use this request's ticket.
            let (otherReceipt, otherToken) = try await completedDisclosure(fixture, email: "hanako@example.jp")
            let other = try #require(try await desk.downloadLink(number: otherReceipt.number, token: otherToken))
            let (second, latest) = try await mailedDownloadCode(desk, link)
            #expect(try await desk.enterDownloadCode(other, ticket: second, code: latest) == .notValid, "bound to its request")
            #expect(
                try await desk.enterDownloadCode(
                    link,
                    ticket: second,
                    code: latest,
                    at: Date().addingTimeInterval(RightsRequestDesk.codeLifetime + 1)
                )
                    == .notValid,
                "expired after ten minutes"
            )

            // Ten codes per link in all; the eleventh is refused and nothing is queued for it.
            for _ in 3...RightsRequestDesk.downloadCodeLimit {
                guard case .sent = try await desk.issueDownloadCode(link, mail: { OutgoingMail(to: $0, subject: "d", body: $1) }) else {
                    Issue.record("codes up to the limit are sent")
                    return
                }
            }
            #expect(try await desk.issueDownloadCode(link, mail: { OutgoingMail(to: $0, subject: "d", body: $1) }) == .limitReached)
            let afterLimit = try await fixture.data.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'download-code'").first(decodingColumn: "n", as: Int.self)
            }
            #expect(afterLimit == RightsRequestDesk.downloadCodeLimit)

            // Erasure takes the codes with the request's content; the link then finds nothing.
            try await SubjectRights(vault: fixture.vault).erase(subjectID: link.subjectID, actor: "staff:1", source: "test")
            let left = try await fixture.data.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM download_codes WHERE request_id <> \(bind: other.requestID)")
                    .first(decodingColumn: "n", as: Int.self)
            }
            #expect(left == 0)
            #expect(try await desk.downloadLink(number: receipt.number, token: token) == nil)
            #expect(try await desk.issueDownloadCode(link, mail: { OutgoingMail(to: $0, subject: "d", body: $1) }) == .notValid)
        }
    }
}

extension RequestTests {
    @Test(
        "housekeeping removes spent codes and ended sessions and lapses requests whose code was never entered",
        arguments: TestDatabase.available
    )
    func housekeeping(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let start = try Date("2026-11-29T00:00:00Z", strategy: .iso8601)
            let access = SelfService(vault: fixture.vault)
            let issued = try await access.issueCode(
                email: "taro@example.jp",
                mail: { OutgoingMail(to: "taro@example.jp", subject: "c", body: $0) },
                at: start
            )
            guard case .signedIn = try await access.enter(ticket: issued.ticket, code: issued.code, at: start) else {
                Issue.record("the code must sign in")
                return
            }
            let desk = RightsRequestDesk(vault: fixture.vault)
            let waiting = try await desk.submit(
                try validated(fixture, submission()),
                mail: { OutgoingMail(to: "taro@example.jp", subject: $0, body: $1) },
                at: start
            )
            let keeper = Housekeeping(database: fixture.data, logger: .init(label: "test"))
            #expect(try await keeper.run(now: start.addingTimeInterval(60)) == Housekeeping.Pass(), "nothing is due yet")
            let later = start.addingTimeInterval(2 * 86_400)
            #expect(try await keeper.run(now: later) == Housekeeping.Pass(codes: 1, sessions: 1, lapsedRequests: 1))
            #expect(try await desk.queue(statuses: [.lapsed]).map(\.number) == [waiting.number])
            #expect(try await keeper.run(now: later) == Housekeeping.Pass(), "a second pass finds nothing")

            // Sign-in failure counts go once they hold no one off and a day has passed; recent ones stay.
            let staff = StaffDirectory(database: fixture.data, bcryptCost: 4)
            _ = try await staff.signIn(email: "nobody@mirai-career.example", password: "wrong-password!", client: "203.0.113.7", now: start)
            _ = try await staff.signIn(email: "nobody@mirai-career.example", password: "wrong-password!", client: "198.51.100.2", now: later)
            #expect(try await keeper.run(now: later) == Housekeeping.Pass(signInFailures: 1))
            #expect(try await keeper.run(now: later) == Housekeeping.Pass())
        }
    }
}
