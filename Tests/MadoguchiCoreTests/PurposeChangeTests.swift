import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

/// R-VER-2: a version that adds or widens a purpose does not apply to data given under an older version until the
/// person consents; a version that removes a purpose stops that use at once. R-PUR-5: consent is given and withdrawn
/// in one step and the latest answer decides.
@Suite("Changes of purpose")
struct PurposeChangeTests {
    /// The example policy as a newer version: a new purpose `surveys` for the e-mail address and the message, and the
    /// message added to `match-history`.
    static func widened(_ policy: Policy) -> Policy {
        var newer = policy
        newer.version = "2027-01-01"
        if !newer.purposes.contains(where: { $0.id == "surveys" }) {
            newer.purposes.append(
                Purpose(
                    id: "surveys",
                    text: LocalizedText(ja: "アンケートのご依頼のため", en: "To ask you to answer surveys"),
                    retentionDays: 365,
                    requiresConsent: false
                )
            )
        }
        for index in newer.fields.indices where ["email", "message"].contains(newer.fields[index].id) {
            newer.fields[index].purposes.append("surveys")
        }
        for index in newer.fields.indices where newer.fields[index].id == "message" {
            newer.fields[index].purposes.append("match-history")
        }
        return newer
    }

    @Test(
        "R-VER-2: older data is refused for a new purpose and withheld from a widened one until the person consents",
        arguments: TestDatabase.available
    )
    func widenedPurposes(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let receipt = try await fixture.submitConfirmed(fixture.submission(email: "taro@example.jp"))
            let newer = Self.widened(fixture.policy)
            let versions = PolicyVersionStore(database: fixture.data)
            try await versions.store(newer, source: "")
            let guardian = PurposeGuard(vault: fixture.vault, versions: versions, current: newer)
            let record = "inquiry:\(receipt.id)"

            await #expect(throws: PurposeRefused(purpose: "surveys", reason: .purposeChanged, record: record)) {
                _ = try await guardian.inquiry(id: receipt.id, purpose: "surveys", actor: "staff:1")
            }
            // A widened purpose opens what it covered before; the newly added item is withheld, and the read says so.
            let history = try #require(try await guardian.inquiry(id: receipt.id, purpose: "match-history", actor: "staff:1"))
            #expect(history.values.keys.sorted() == ["email", "name"])
            let lastRead = try #require(try await AuditLog.entries(in: fixture.data).last)
            #expect(lastRead.event.action == "inquiry.read" && lastRead.event.detail.contains("withheld=message"))
            let refusal = try #require(try await AuditLog.entries(in: fixture.data).first { $0.event.action == "purpose.refused" })
            #expect(refusal.event.detail == "purpose-changed" && refusal.event.purpose == "surveys")

            // The person is asked about exactly these changes (and the purpose that needs consent anyway).
            let consents = PurposeConsents(database: fixture.data, versions: versions)
            let questions = try await consents.questions(subjectID: receipt.subjectID, current: newer)
            #expect(questions.map(\.purpose.id) == ["match-history", "marketing", "surveys"])
            #expect(questions.first { $0.purpose.id == "surveys" }?.changedFields == ["email", "message"])
            #expect(questions.first { $0.purpose.id == "match-history" }?.changedFields == ["message"])
            #expect(questions.first { $0.purpose.id == "marketing" }?.isChange == false)

            // Consent under the newer version opens the new uses.
            for purpose in ["surveys", "match-history"] {
                try await consents.record(
                    subjectID: receipt.subjectID,
                    purpose: purpose,
                    granted: true,
                    policy: newer,
                    source: "me",
                    shownText: "shown"
                )
            }
            let surveys = try #require(try await guardian.inquiry(id: receipt.id, purpose: "surveys", actor: "staff:1"))
            #expect(surveys.values.keys.sorted() == ["email", "message"])
            let widened = try #require(try await guardian.inquiry(id: receipt.id, purpose: "match-history", actor: "staff:1"))
            #expect(widened.values.keys.sorted() == ["email", "message", "name"])

            // Withdrawal takes effect at once.
            try await consents.record(
                subjectID: receipt.subjectID,
                purpose: "surveys",
                granted: false,
                policy: newer,
                source: "me",
                shownText: "shown"
            )
            await #expect(throws: PurposeRefused(purpose: "surveys", reason: .purposeChanged, record: record)) {
                _ = try await guardian.inquiry(id: receipt.id, purpose: "surveys", actor: "staff:1")
            }
            #expect(try await consents.latest(subjectID: receipt.subjectID)["surveys"]?.granted == false)
            await #expect(throws: PurposeConsentError.unknownPurpose("profiling")) {
                try await consents.record(
                    subjectID: receipt.subjectID,
                    purpose: "profiling",
                    granted: true,
                    policy: newer,
                    source: "me",
                    shownText: ""
                )
            }

            // A version that removes a purpose stops that use at once, whatever the data was collected under.
            var narrower = newer
            narrower.version = "2027-06-01"
            narrower.purposes.removeAll { $0.id == "match-history" }
            for index in narrower.fields.indices { narrower.fields[index].purposes.removeAll { $0 == "match-history" } }
            try await versions.store(narrower, source: "")
            let narrowed = PurposeGuard(vault: fixture.vault, versions: versions, current: narrower)
            await #expect(throws: PurposeRefused(purpose: "match-history", reason: .undeclared, record: record)) {
                _ = try await narrowed.inquiry(id: receipt.id, purpose: "match-history", actor: "staff:1")
            }
            // A purpose both versions declare for the same items is used as before.
            let fresh = try await fixture.submitConfirmed(fixture.submission(email: "hanako@example.jp"))
            #expect(try await narrowed.inquiry(id: fresh.id, purpose: "answer-inquiries", actor: "staff:1")?.values["message"] != nil)
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: try await AuditLog.entries(in: fixture.data).count))
        }
    }

    @Test(
        "R-VER-2: a notice of a change of purpose goes to the people the change reaches who have not answered, their address opened for the notice alone",
        arguments: TestDatabase.available
    )
    func changeNotice(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let older = try await fixture.submitConfirmed(fixture.submission(email: "old@example.jp"))
            let answered = try await fixture.submitConfirmed(fixture.submission(email: "answered@example.jp"))
            let stopped = try await fixture.submitConfirmed(fixture.submission(email: "stopped@example.jp"))
            let elsewhere = try await fixture.submitConfirmed(fixture.submission(service: "executive", email: "exec@example.jp"))
            try await SubjectRights(vault: fixture.vault).suspend(
                subjectID: stopped.subjectID,
                purpose: SubjectRights.allPurposes,
                actor: "test",
                source: "test"
            )
            let newer = Self.widened(fixture.policy)
            let versions = PolicyVersionStore(database: fixture.data)
            try await versions.store(newer, source: "")
            let guardian = PurposeGuard(vault: fixture.vault, versions: versions, current: newer)
            let consents = PurposeConsents(database: fixture.data, versions: versions)
            try await consents.record(
                subjectID: answered.subjectID,
                purpose: "match-history",
                granted: false,
                policy: newer,
                source: "me",
                shownText: ""
            )
            // Someone who writes under the newer version gave their message for it knowingly: no notice.
            guard case let .success(valid) = newer.validate(fixture.submission(email: "new@example.jp")) else { throw TestDatabaseError("invalid") }
            let fresh = try await fixture.vault.submit(valid, policy: newer)
            _ = try await fixture.vault.confirm(number: fresh.number, token: fixture.vault.confirmationToken(number: fresh.number))

            let desk = CampaignDesk(guardian: guardian)
            func notice(_ purpose: String) async throws -> Campaign {
                try await desk.create(
                    kind: .changeNotice,
                    purposeID: purpose,
                    services: ["agent"],
                    subject: "利用目的の変更について",
                    body: "ご本人ページでお選びください。",
                    by: "staff:1",
                    policy: newer
                )
            }
            await #expect(throws: CampaignError.purposeNotChanged("answer-inquiries")) { _ = try await notice("answer-inquiries") }
            let campaign = try await notice("match-history")
            #expect(try await desk.audience(of: campaign) == [older.subjectID])
            #expect(try await desk.audience(of: campaign).contains(elsewhere.subjectID) == false, "another service's people")
            #expect(try await desk.start(id: campaign.id, by: "staff:1") == 1)
            #expect(try await desk.deliver(limit: 10, policy: newer, unsubscribeKey: CampaignTests.key, compose: CampaignTests.compose) == false)
            #expect(try await desk.progress(id: campaign.id) == CampaignProgress(queued: 0, sent: 1, skipped: 0))
            let read = try #require(try await AuditLog.entries(in: fixture.data).last { $0.event.actor == "campaign:\(campaign.id)" })
            #expect(read.event.purpose == "change-notice" && read.event.detail == "fields=email notice-of=match-history")
            // The notice opened the address only; the widened item stays withheld until the person consents.
            let history = try #require(try await guardian.inquiry(id: older.id, purpose: "match-history", actor: "staff:1"))
            #expect(history.values["message"] == nil)
        }
    }
}
