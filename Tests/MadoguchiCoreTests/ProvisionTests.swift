import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-TPP-2: every provision to a third party is recorded with its basis, refused for a person who stopped it, kept
/// for three years (past erasure), disclosed to the person, and removed when its time is over.
@Suite("Provision records")
struct ProvisionTests {
    static let today = LocalDate(japanAt: Date())

    @Test(
        "R-TPP-2: a provision is recorded with recipient, date, items and basis, audited and disclosed; bad records are refused by name",
        arguments: TestDatabase.available
    )
    func recording(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let register = ProvisionRegister(database: fixture.data)
            let person = try await fixture.submitConfirmed(fixture.submission(email: "a@example.jp", consent: true))
            func record(
                _ subjectID: String? = nil,
                recipient: String = "株式会社サンプル人材",
                on date: LocalDate = Self.today,
                items: [String] = ["name", "email"],
                basis: ProvisionBasis = .legal(.lawsAndRegulations)
            ) async throws -> ProvisionRecord {
                try await register.record(
                    subjectID: subjectID ?? person.subjectID,
                    recipient: recipient,
                    providedOn: date,
                    items: items,
                    basis: basis,
                    by: "staff:1",
                    policy: fixture.policy,
                    today: Self.today
                )
            }
            await #expect(throws: ProvisionError.recipient) { _ = try await record(recipient: "  ") }
            await #expect(throws: ProvisionError.recipient) { _ = try await record(recipient: String(repeating: "社", count: 201)) }
            await #expect(throws: ProvisionError.recipient) { _ = try await record(recipient: "A社\nBcc: x") }
            await #expect(throws: ProvisionError.noItems) { _ = try await record(items: []) }
            await #expect(throws: ProvisionError.unknownItem("address")) { _ = try await record(items: ["name", "address"]) }
            await #expect(throws: ProvisionError.date) { _ = try await record(on: Self.today.adding(days: 1)) }
            await #expect(throws: ProvisionError.date) { _ = try await record(on: Self.today.adding(years: -4)) }
            await #expect(throws: ProvisionError.unknownPerson) { _ = try await record("nobody") }

            // Consent: only a standing consent of this person.
            let consents = try await register.standingConsents(subjectID: person.subjectID)
            #expect(consents.map(\.purpose) == ["marketing"])
            let other = try await fixture.submitConfirmed(fixture.submission(email: "b@example.jp", consent: true))
            let othersConsent = try #require(try await register.standingConsents(subjectID: other.subjectID).first)
            await #expect(throws: ProvisionError.consentNotGranted) { _ = try await record(basis: .consent(othersConsent.id)) }
            await #expect(throws: ProvisionError.consentNotGranted) { _ = try await record(basis: .consent("no-such-consent")) }
            let byConsent = try await record(basis: .consent(try #require(consents.first).id))
            let byLaw = try await record(recipient: "〇〇労働局", items: ["name"], basis: .legal(.stateAffairs))
            #expect(byLaw.keepUntil == Self.today.adding(years: 3))
            try await PurposeConsents(database: fixture.data, versions: fixture.guardian.versions).record(
                subjectID: person.subjectID,
                purpose: "marketing",
                granted: false,
                policy: fixture.policy,
                source: "me",
                shownText: ""
            )
            await #expect(throws: ProvisionError.consentNotGranted, "a withdrawn consent no longer covers a provision") {
                _ = try await record(basis: .consent(try #require(consents.first).id))
            }

            #expect(try await register.records(subjectID: person.subjectID).map(\.id) == [byConsent.id, byLaw.id])
            let audit = try await AuditLog.entries(in: fixture.data).filter { $0.event.action == "provision.record" }
            #expect(audit.count == 2 && audit.allSatisfy { $0.event.subjectID == person.subjectID })

            // In the person's disclosure (and so in a "disclosure of provision records" request's download).
            let disclosure = try #require(
                try await SubjectRights(vault: fixture.vault).disclosure(subjectID: person.subjectID, actor: "person", source: "test")
            )
            #expect(disclosure.provisionRecords.map { $0["recipient"] } == ["株式会社サンプル人材", "〇〇労働局"])
            #expect(disclosure.provisionRecords.last?["basis"] == "legal:state-affairs" && disclosure.provisionRecords.last?["items"] == "name")
            #expect(disclosure.csv().contains("provision_record,2,recipient,〇〇労働局"))
        }
    }

    @Test(
        "R-TPP-2: nothing is provided for a person who stopped provision or every use; the refusal is audited; records outlive erasure, then go after three years",
        arguments: TestDatabase.available
    )
    func stoppedAndKept(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let register = ProvisionRegister(database: fixture.data)
            let rights = SubjectRights(vault: fixture.vault)
            func record(_ subjectID: String, on date: LocalDate = Self.today) async throws -> ProvisionRecord {
                try await register.record(
                    subjectID: subjectID,
                    recipient: "株式会社サンプル人材",
                    providedOn: date,
                    items: ["name"],
                    basis: .legal(.lawsAndRegulations),
                    by: "staff:1",
                    policy: fixture.policy,
                    today: Self.today
                )
            }
            for stop in [SubjectRights.provisionPurpose, SubjectRights.allPurposes] {
                let person = try await fixture.submitConfirmed(fixture.submission(email: "\(stop == "*" ? "all" : "tpp")@example.jp"))
                try await rights.suspend(subjectID: person.subjectID, purpose: stop, actor: "test", source: "test")
                await #expect(throws: ProvisionError.stopped) { _ = try await record(person.subjectID) }
                #expect(try await register.records(subjectID: person.subjectID).isEmpty)
            }
            let refusals = try await AuditLog.entries(in: fixture.data).filter { $0.event.action == "provision.refused" }
            #expect(refusals.count == 2)

            let person = try await fixture.submitConfirmed(fixture.submission(email: "kept@example.jp"))
            let old = try await record(person.subjectID, on: Self.today.adding(days: -400))
            let recent = try await record(person.subjectID)
            _ = try await rights.erase(subjectID: person.subjectID, actor: "test", source: "test")
            #expect(try await register.records(subjectID: person.subjectID).map(\.id) == [old.id, recent.id], "kept past erasure")

            let housekeeping = Housekeeping(database: fixture.data, logger: Logger(label: "test"))
            #expect(try await housekeeping.run().provisionRecords == 0)
            // The day after the older one's three years: it goes, the recent one stays.
            let later = Date().addingTimeInterval(Double(3 * 365 - 400 + 2) * 86_400)
            #expect(try await housekeeping.run(now: later).provisionRecords == 1)
            #expect(try await register.records(subjectID: person.subjectID).map(\.id) == [recent.id])
        }
    }

    @Test("R-TPP-2: a basis travels as consent:ID or legal:GROUND; anything else is no basis")
    func basisCodes() {
        #expect(ProvisionBasis(code: "consent:01a2") == .consent("01a2"))
        #expect(ProvisionBasis(code: "legal:public-health") == .legal(.publicHealth))
        for bad in ["", "consent:", "legal:", "legal:legitimate-interest", "consent:" + String(repeating: "a", count: 200), "other:1"] {
            #expect(ProvisionBasis(code: bad) == nil, "\(bad.prefix(20))")
        }
        #expect(LocalDate(year: 2024, month: 2, day: 29)?.adding(years: 3) == LocalDate(year: 2027, month: 2, day: 28))
    }
}
