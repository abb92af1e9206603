import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-DSR-6: one clock — the due date counts from the day the request was received, whatever day it is verified;
/// two weeks from receipt are marked; requests received outside the site join the same queue with their real date.
@Suite("Request clocks")
struct RequestClockTests {
    static func valid(
        _ fixture: VaultFixture,
        _ type: String = "disclosure",
        email: String = "taro@example.jp",
        name: String = "山田 太郎"
    )
        throws -> ValidatedRightsRequest
    {
        try RightsRequestForm.validate(RightsRequestSubmission(type: type, email: email, name: name), policy: fixture.policy).get()
    }

    @Test(
        "R-DSR-6: a request received late on Thursday and verified after midnight is due three business days from Thursday, not Friday",
        arguments: TestDatabase.available
    )
    func countsFromReceipt(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let desk = RightsRequestDesk(vault: fixture.vault)
            let thursdayNight = try Date("2026-02-12T14:55:00Z", strategy: .iso8601)  // 23:55 in Tokyo
            let receipt = try await desk.submit(
                try Self.valid(fixture),
                mail: { number, code in OutgoingMail(to: "taro@example.jp", subject: number, body: code) },
                at: thursdayNight
            )
            let fridayMorning = thursdayNight.addingTimeInterval(8 * 60)  // 00:03 on Friday in Tokyo
            let queueBefore = try await RightsRequestDesk.queue(in: fixture.data, statuses: [.unverified])
            #expect(queueBefore.first?.verifiedAt == nil && queueBefore.first.map { LocalDate(japanAt: $0.receivedAt!) }?.description == "2026-02-12")
            let outcome = try await desk.verify(
                number: receipt.number,
                code: receipt.code,
                calendar: BusinessCalendar(),
                answerDays: 3,
                at: fridayMorning
            )
            // Friday 13, Monday 16, Tuesday 17 (counting from Friday would give Wednesday 18).
            #expect(outcome == .verified(number: receipt.number, due: LocalDate(iso: "2026-02-17")!, known: false))
            let entry = try #require(try await desk.queue().first)
            #expect(LocalDate(japanAt: try #require(entry.receivedAt)).description == "2026-02-12")
            #expect(LocalDate(japanAt: try #require(entry.verifiedAt)).description == "2026-02-13")
            #expect(entry.legalMarker?.description == "2026-02-26")
            #expect(!entry.pastLegalMarker(on: LocalDate(iso: "2026-02-26")!) && entry.pastLegalMarker(on: LocalDate(iso: "2026-02-27")!))
        }
    }

    @Test(
        "R-DSR-6: staff enter a request received by post with its day of receipt (across Golden Week) and the identity check; open at once, matched, mailed, audited; a date ahead or over a year old refused",
        arguments: TestDatabase.available
    )
    func entered(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let inquiry = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            let desk = RightsRequestDesk(vault: fixture.vault)
            let now = try Date("2026-05-08T01:00:00Z", strategy: .iso8601)
            func enter(_ day: String, email: String = "taro@example.jp") async throws -> (id: String, number: String, due: LocalDate) {
                try await desk.enter(
                    try Self.valid(fixture, "erasure", email: email),
                    receivedOn: LocalDate(iso: day)!,
                    channel: .post,
                    identityCheck: .documentCopy,
                    calendar: BusinessCalendar(),
                    answerDays: 3,
                    actor: "staff:dpo",
                    confirmation: { address, number, due, _ in OutgoingMail(to: address, subject: "received \(number)", body: "due \(due)") },
                    at: now
                )
            }
            await #expect(throws: RequestEntryError.receivedOn) { try await enter("2026-05-09") }
            await #expect(throws: RequestEntryError.receivedOn) { try await enter("2025-05-07") }
            // Tuesday 28 April: the 29th and 4–6 May are holidays, 2–3 May a weekend.
            let entered = try await enter("2026-04-28")
            #expect(entered.due.description == "2026-05-07")
            let detail = try #require(try await desk.open(id: entered.id, actor: "staff:dpo"))
            #expect(detail.entry.status == .open && detail.entry.channel == "post" && detail.identityCheck == "document-copy")
            #expect(detail.subjectID == inquiry.subjectID, "matched by the address")
            #expect(LocalDate(japanAt: try #require(detail.entry.receivedAt)).description == "2026-04-28")
            #expect(detail.entry.legalMarker?.description == "2026-05-12")
            // No code can open or lapse it.
            #expect(try await desk.verify(number: entered.number, code: "000000", calendar: BusinessCalendar(), answerDays: 3, at: now) == .notValid)
            let mails = try await fixture.data.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'request-received'").first(decodingColumn: "n", as: Int.self)
            }
            #expect(mails == 1)
            let events = try await AuditLog.entries(in: fixture.data, limit: 1_000).map(\.event).filter { $0.record == "request:\(entered.id)" }
            #expect(events.map(\.action).prefix(2) == ["request.create", "request.verify"] && events.allSatisfy { $0.actor == "staff:dpo" })
            #expect(events.first?.detail == "type=erasure channel=post received=2026-04-28")
            let unknown = try await enter("2026-05-01", email: "stranger@example.jp")
            #expect(try await desk.open(id: unknown.id, actor: "staff:dpo")?.subjectID == "")
        }
    }
}
