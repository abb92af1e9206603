import Crypto
import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-PUR-5, R-MAIL-1: campaigns reach only people who consented and did not stop them; each message is written once,
/// through the purpose guard, with a one-click unsubscribe that takes effect at once and holds for the address.
@Suite("Campaigns")
struct CampaignTests {
    static let key = SymmetricKey(size: .bits256)

    static func compose(_ campaign: Campaign, _ to: String, _ links: CampaignLinks) -> OutgoingMail {
        OutgoingMail(
            to: to,
            subject: campaign.subject,
            body: campaign.body + (links.survey.map { "\nhttps://example.jp/surveys/\($0)" } ?? ""),
            listUnsubscribe: "https://example.jp/unsubscribe/\(links.unsubscribe)"
        )
    }

    @Test(
        "R-PUR-5: the audience is the consenting, confirmed, unsuspended, unsuppressed people of the campaign's services",
        arguments: TestDatabase.available
    )
    func audience(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let desk = CampaignDesk(guardian: fixture.guardian)
            let consents = PurposeConsents(database: fixture.data, versions: fixture.guardian.versions)
            let rights = SubjectRights(vault: fixture.vault)
            let yes = try await fixture.submitConfirmed(fixture.submission(email: "a@example.jp", consent: true))
            _ = try await fixture.submitConfirmed(fixture.submission(email: "b@example.jp"))
            _ = try await fixture.submit(fixture.submission(email: "c@example.jp", consent: true))
            let suspended = try await fixture.submitConfirmed(fixture.submission(email: "d@example.jp", consent: true))
            try await rights.suspend(subjectID: suspended.subjectID, purpose: "marketing", actor: "test", source: "test")
            let otherService = try await fixture.submitConfirmed(fixture.submission(service: "executive", email: "e@example.jp", consent: true))
            let withdrawn = try await fixture.submitConfirmed(fixture.submission(email: "f@example.jp", consent: true))
            try await consents.record(
                subjectID: withdrawn.subjectID,
                purpose: "marketing",
                granted: false,
                policy: fixture.policy,
                source: "me",
                shownText: ""
            )
            let erased = try await fixture.submitConfirmed(fixture.submission(email: "g@example.jp", consent: true))
            _ = try await rights.erase(subjectID: erased.subjectID, actor: "test", source: "test")

            #expect(try await desk.audience(purposeID: "marketing", services: ["agent"]) == [yes.subjectID])
            #expect(
                Set(try await desk.audience(purposeID: "marketing", services: ["agent", "executive"])) == [yes.subjectID, otherService.subjectID]
            )
            #expect(try await desk.audience(purposeID: "marketing", services: []) == [])

            // The suppression survives a new inquiry that ticks the box again; only consent on /me lifts it.
            _ = try await fixture.submitConfirmed(fixture.submission(email: "f@example.jp", consent: true))
            #expect(try await desk.audience(purposeID: "marketing", services: ["agent"]) == [yes.subjectID])
            try await consents.record(
                subjectID: withdrawn.subjectID,
                purpose: "marketing",
                granted: true,
                policy: fixture.policy,
                source: "me",
                shownText: ""
            )
            // Several granted answers (the form twice, then /me): the person is counted once, from the latest.
            #expect(try await desk.audience(purposeID: "marketing", services: ["agent"]) == [yes.subjectID, withdrawn.subjectID].sorted())
        }
    }

    @Test("R-MAIL-1: a draft is checked; starting queues the audience once; bad drafts are refused by name", arguments: TestDatabase.available)
    func drafts(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let desk = CampaignDesk(guardian: fixture.guardian)
            func create(
                purpose: String = "marketing",
                services: [String] = ["agent"],
                subject: String = "秋のご案内",
                body: String = "本文"
            )
                async throws -> Campaign
            {
                try await desk.create(
                    kind: .magazine,
                    purposeID: purpose,
                    services: services,
                    subject: subject,
                    body: body,
                    by: "staff:1",
                    policy: fixture.policy
                )
            }
            await #expect(throws: CampaignError.purposeNotConsentBased("answer-inquiries")) { _ = try await create(purpose: "answer-inquiries") }
            await #expect(throws: CampaignError.purposeNotConsentBased("nothing")) { _ = try await create(purpose: "nothing") }
            await #expect(throws: CampaignError.noServices) { _ = try await create(services: []) }
            await #expect(throws: CampaignError.unknownService("nowhere")) { _ = try await create(services: ["nowhere"]) }
            await #expect(throws: CampaignError.subjectLength) { _ = try await create(subject: String(repeating: "件", count: 201)) }
            await #expect(throws: CampaignError.subjectLength) { _ = try await create(subject: "a\r\nBcc: x@example.jp") }
            await #expect(throws: CampaignError.bodyLength) { _ = try await create(body: "") }

            _ = try await fixture.submitConfirmed(fixture.submission(email: "a@example.jp", consent: true))
            let campaign = try await create()
            #expect(campaign.status == .draft)
            #expect(try await desk.start(id: campaign.id, by: "staff:1") == 1)
            await #expect(throws: CampaignError.notDraft) { _ = try await desk.start(id: campaign.id, by: "staff:1") }
            #expect(try await desk.progress(id: campaign.id) == CampaignProgress(queued: 1, sent: 0, skipped: 0))
            let actions = try await AuditLog.entries(in: fixture.data).map(\.event.action)
            #expect(actions.contains("campaign.create") && actions.contains("campaign.start"))
        }
    }

    @Test(
        "R-MAIL-1: each recipient is mailed once, through the guard, with one-click unsubscribe; one who unsubscribes mid-send gets nothing after",
        arguments: TestDatabase.available
    )
    func delivery(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let desk = CampaignDesk(guardian: fixture.guardian)
            var people: [(subjectID: String, email: String)] = []
            for email in ["a@example.jp", "b@example.jp", "c@example.jp"] {
                people.append((try await fixture.submitConfirmed(fixture.submission(email: email, consent: true)).subjectID, email))
            }
            // Recipients are written in subject order.
            people.sort { $0.subjectID < $1.subjectID }
            let campaign = try await desk.create(
                kind: .notice,
                purposeID: "marketing",
                services: ["agent"],
                subject: "お知らせ",
                body: "新しいサービスを始めました。",
                by: "staff:1",
                policy: fixture.policy
            )
            #expect(try await desk.start(id: campaign.id, by: "staff:1") == 3)

            // Two passes at once: whatever each picks, nobody's mail is written twice.
            async let one = desk.deliver(limit: 1, policy: fixture.policy, unsubscribeKey: Self.key, compose: Self.compose)
            async let two = desk.deliver(limit: 1, policy: fixture.policy, unsubscribeKey: Self.key, compose: Self.compose)
            _ = try await (one, two)
            let early = try await desk.progress(id: campaign.id)
            #expect((1...2).contains(early.sent) && early.sent + early.queued == 3 && early.skipped == 0)
            let written = try await fixture.data.read { db in
                try await db.select().column("subject_id").from("outbox").where("kind", .equal, "campaign").all()
                    .map { try $0.decode(column: "subject_id", as: String.self) }
            }
            #expect(written.count == early.sent && Set(written).count == written.count)

            // Someone still waiting unsubscribes before their turn: nothing is written for them.
            let waiting = try #require(people.first { !written.contains($0.subjectID) })
            let token = CampaignDesk.unsubscribeToken(campaignID: campaign.id, subjectID: waiting.subjectID, key: Self.key)
            #expect(try await desk.unsubscribe(token: token, key: Self.key, policy: fixture.policy)?.id == campaign.id)
            #expect(try await desk.unsubscribe(token: token, key: Self.key, policy: fixture.policy)?.id == campaign.id, "repeating changes nothing")
            #expect(try await desk.deliver(limit: 10, policy: fixture.policy, unsubscribeKey: Self.key, compose: Self.compose) == false)
            #expect(try await desk.progress(id: campaign.id) == CampaignProgress(queued: 0, sent: 2, skipped: 1))
            #expect(try await desk.campaign(id: campaign.id)?.status == .sent)
            let withdrawals = try await fixture.data.read { db in
                try await db.select().column("source").from("consents").where("subject_id", .equal, waiting.subjectID)
                    .where("granted", .equal, false).all().map { try $0.decode(column: "source", as: String.self) }
            }
            #expect(withdrawals == ["unsubscribe-link"], "one withdrawal, however often the link is used")
            #expect(try await desk.audience(purposeID: "marketing", services: ["agent"]).contains(waiting.subjectID) == false)

            // The mail: to the address the guard opened, with the one-click headers; each read audited for the purpose.
            let mailer = RecordingMailer()
            _ = try await fixture.outboxWorker(mailer).deliverDue(limit: 50)
            let campaignMail = mailer.sent.filter { $0.subject == "お知らせ" }
            #expect(campaignMail.map(\.to).sorted() == people.filter { $0.subjectID != waiting.subjectID }.map(\.email).sorted())
            let rendered = try #require(campaignMail.first).rendered()
            #expect(rendered.contains("List-Unsubscribe: <https://example.jp/unsubscribe/\(campaign.id)."))
            #expect(rendered.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
            let reads = try await AuditLog.entries(in: fixture.data).filter { $0.event.actor == "campaign:\(campaign.id)" }
            #expect(reads.count >= 2 && reads.allSatisfy { $0.event.action == "inquiry.read" && $0.event.purpose == "marketing" })
        }
    }

    @Test(
        "R-MAIL-1: the records of consent of a person mailed under a purpose outlive their erasure by a month after the last mail, then go",
        arguments: TestDatabase.available
    )
    func consentRecordsKept(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let desk = CampaignDesk(guardian: fixture.guardian)
            let mailed = try await fixture.submitConfirmed(fixture.submission(email: "a@example.jp", consent: true)).subjectID
            let campaign = try await desk.create(
                kind: .magazine,
                purposeID: "marketing",
                services: ["agent"],
                subject: "ニュース",
                body: "本文",
                by: "staff:1",
                policy: fixture.policy
            )
            let sentAt = Date(timeIntervalSinceNow: -10 * 86_400)
            _ = try await desk.start(id: campaign.id, by: "staff:1", at: sentAt)
            _ = try await desk.deliver(limit: 10, policy: fixture.policy, unsubscribeKey: Self.key, compose: Self.compose, at: sentAt)
            // Someone who consented but was never mailed: nothing of theirs outlives the erasure.
            let unmailed = try await fixture.submitConfirmed(fixture.submission(email: "b@example.jp", consent: true)).subjectID
            let rights = SubjectRights(vault: fixture.vault)
            _ = try await rights.erase(subjectID: mailed, actor: "test", source: "test")
            _ = try await rights.erase(subjectID: unmailed, actor: "test", source: "test")

            let rows = try await fixture.data.read { db in
                try await db.select().columns("email_index", "purpose_id", "granted", "source", "shown_text", "keep_until").from(
                    "mail_consent_records"
                ).all()
            }
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            let index = BlindIndex.of(email: "a@example.jp", key: fixture.ring.blindIndexKey)
            #expect(try row.decode(column: "email_index", as: String.self) == index)
            #expect(try row.decode(column: "purpose_id", as: String.self) == "marketing" && row.decode(column: "granted", as: Bool.self))
            #expect(try row.decode(column: "source", as: String.self) == "inquiry-form", "how the consent was given")
            let remaining = try await fixture.data.read { db in
                try await db.select().column("id").from("consents").all().count
            }
            #expect(remaining == 0, "the person's own consents go with them")

            // Housekeeping keeps them until a month (32 days) after the mail, then removes them.
            let housekeeping = Housekeeping(database: fixture.data, logger: Logger(label: "test"))
            #expect(try await housekeeping.run(now: Date()).mailConsentRecords == 0)
            #expect(try await housekeeping.run(now: sentAt.addingTimeInterval(33 * 86_400)).mailConsentRecords == 1)
        }
    }

    @Test("R-MAIL-1: a token this server did not make is refused before any lookup, and changes nothing")
    func tokens() async throws {
        let good = CampaignDesk.unsubscribeToken(campaignID: "01a2-b3", subjectID: "01a2-c4", key: Self.key)
        #expect(CampaignDesk.verify(token: good, key: Self.key)?.subjectID == "01a2-c4")
        for bad in [
            "", ".", "..", good + "x", good.replacingOccurrences(of: "c4", with: "c5"), String(repeating: "a", count: 5_000),
            "01a2-b3.01a2-c4.", "x'; DROP TABLE campaigns;--.a.b", "01a2-b3.01a2-c4.\u{0}",
        ] {
            #expect(CampaignDesk.verify(token: bad, key: Self.key) == nil, "\(bad.prefix(30))")
        }
        #expect(CampaignDesk.verify(token: good, key: SymmetricKey(size: .bits256)) == nil, "another server's key")
    }
}
