import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-BRE-1: leak incidents with their report deadlines and the notification of the people concerned.
@Suite("Leak incidents")
struct IncidentTests {
    static let policy: Policy = { try! PolicyLoader.parse(yaml: try! Fixtures.examplePolicyText(), file: "example") }()

    static func form(_ overrides: [String: String] = [:]) -> [String: String] {
        [
            "found_on": "2026-04-01", "occurred_on": "2026-03-30", "kind": "leak", "summary": "A mailing list was sent with every address visible.",
            "item_email": "on", "item_name": "on", "affected": "120", "cause": "Addresses put in To instead of Bcc.",
        ].merging(overrides) { $1 }
    }

    static func report(_ overrides: [String: String] = [:], today: String = "2026-04-02") throws -> IncidentReport {
        try IncidentReport.from(form: form(overrides), policy: policy, today: LocalDate(iso: today)!).get()
    }

    @Test(
        "R-BRE-1: reportable cases and their deadlines from the day of awareness — preliminary 3rd to 5th day, final 30th (60th for an unlawful purpose)"
    )
    func deadlines() throws {
        let small = try Self.report()
        #expect(!small.reportable && small.deadlines == nil, "120 people, no special case: not reportable")
        let many = try Self.report(["affected": "1001"])
        #expect(many.overThousand && many.reportable)
        #expect(!(try Self.report(["affected": "1000"])).reportable, "more than 1,000, not 1,000")
        let special = try Self.report(["special_care": "on"])
        let deadlines = try #require(special.deadlines)
        #expect(deadlines.preliminaryFrom.description == "2026-04-04" && deadlines.preliminaryBy.description == "2026-04-06")
        #expect(deadlines.finalBy.description == "2026-05-01")
        #expect(try #require(try Self.report(["unlawful_purpose": "on"]).deadlines).finalBy.description == "2026-05-31")

        func incident(_ report: IncidentReport, preliminary: String? = nil, final: String? = nil, linked: Int = 0, notified: Int = 0) -> Incident {
            Incident(
                id: "i",
                number: "L20260401-AAAA",
                report: report,
                preliminaryReportedOn: preliminary.flatMap(LocalDate.init(iso:)),
                finalReportedOn: final.flatMap(LocalDate.init(iso:)),
                linked: linked,
                notified: notified,
                createdBy: "staff:x",
                createdAt: Date(),
                updatedAt: Date()
            )
        }
        let open = incident(special)
        #expect(open.flags(today: LocalDate(iso: "2026-04-03")!) == [])
        #expect(open.flags(today: LocalDate(iso: "2026-04-04")!) == [.preliminaryDue])
        #expect(open.flags(today: LocalDate(iso: "2026-04-06")!) == [.preliminaryDue])
        #expect(open.flags(today: LocalDate(iso: "2026-04-07")!) == [.preliminaryOverdue])
        #expect(open.flags(today: LocalDate(iso: "2026-05-02")!) == [.preliminaryOverdue, .finalOverdue])
        #expect(incident(special, preliminary: "2026-04-03").flags(today: LocalDate(iso: "2026-05-01")!) == [])
        #expect(incident(special, preliminary: "2026-04-03").flags(today: LocalDate(iso: "2026-05-02")!) == [.finalOverdue])
        #expect(incident(special, final: "2026-04-05").flags(today: LocalDate(iso: "2026-06-01")!) == [], "a final report filed at once covers both")
        #expect(
            incident(special, preliminary: "2026-04-03", final: "2026-04-20", linked: 3, notified: 1).flags(today: LocalDate(iso: "2026-06-01")!) == [
                .peopleNotNotified
            ]
        )
        #expect(
            incident(small, linked: 3).flags(today: LocalDate(iso: "2027-01-01")!) == [],
            "nothing is due for an incident that need not be reported"
        )
    }

    @Test("R-BRE-1: the report form names every problem by its field and reads nothing half")
    func form() throws {
        func problems(_ overrides: [String: String], today: String = "2026-04-02") -> [String] {
            switch IncidentReport.from(form: Self.form(overrides), policy: Self.policy, today: LocalDate(iso: today)!) {
            case .success: return []
            case let .failure(error):
                guard case let .invalid(list) = error else { return ["?"] }
                return list.map(\.field)
            }
        }
        #expect(problems(["found_on": ""]) == ["found_on"])
        #expect(problems(["found_on": "2026-04-03"]) == ["found_on"], "not in the future")
        #expect(problems(["found_on": "2026-02-30"]) == ["found_on"])
        #expect(problems(["found_on": "1999-01-01"]) == ["found_on"])
        #expect(problems(["occurred_on": "2026-04-02"]) == ["occurred_on"], "not after the day of awareness")
        #expect(problems(["kind": "theft"]) == ["kind"])
        #expect(problems(["summary": "   "]) == ["summary"])
        #expect(problems(["summary": String(repeating: "あ", count: 4_001)]) == ["summary"])
        #expect(problems(["item_email": "", "item_name": ""]) == ["items"])
        for affected in ["", "abc", "-1", "1.5", "99999999999999999999", "200000001"] {
            #expect(problems(["affected": affected]) == ["affected"], "\(affected)")
        }
        #expect(problems(["found_on": "", "kind": "", "summary": "", "affected": "x"]) == ["found_on", "kind", "summary", "affected"])
        let report = try Self.report(["suspected": "on", "financial_harm": "on", "other": "Reported to the police."])
        #expect(try IncidentReport.from(form: report.form, policy: Self.policy, today: LocalDate(iso: "2026-04-02")!).get() == report)
    }

    @Test(
        "R-BRE-1: registered, edited, reports dated, people linked by inquiry number and notified once each through the outbox, all audited; erasure unlinks, disclosure lists it",
        arguments: TestDatabase.available
    )
    func register(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let register = IncidentRegister(vault: fixture.vault)
            let first = try await fixture.submit(fixture.submission(email: "one@example.jp"))
            let second = try await fixture.submit(fixture.submission(email: "two@example.jp"))
            let again = try await fixture.submit(fixture.submission(email: "one@example.jp"))
            let today = LocalDate(japanAt: Date())
            let report = try Self.report(
                ["found_on": today.adding(days: -2).description, "occurred_on": "", "special_care": "on"],
                today: today.description
            )
            let incident = try await register.register(report, actor: "staff:dpo")
            #expect(incident.number.hasPrefix("L") && incident.report == report && incident.linked == 0)

            var edited = report
            edited.prevention = "Bcc enforced by the mail tool."
            try await register.update(id: incident.id, with: edited, actor: "staff:dpo")
            await #expect(throws: IncidentError.notFound) { try await register.update(id: "nope", with: edited, actor: "staff:dpo") }
            await #expect(throws: IncidentError.reportDate) {
                try await register.recordReport(id: incident.id, stage: .preliminary, on: today.adding(days: -3), actor: "staff:dpo")
            }
            await #expect(throws: IncidentError.reportDate) {
                try await register.recordReport(id: incident.id, stage: .preliminary, on: today.adding(days: 1), actor: "staff:dpo")
            }
            try await register.recordReport(id: incident.id, stage: .preliminary, on: today, actor: "staff:dpo")

            await #expect(throws: IncidentError.unknownInquiries(["Q20990101-ZZZZZZ"])) {
                try await register.link(id: incident.id, inquiryNumbers: [first.number, "Q20990101-ZZZZZZ"], actor: "staff:dpo")
            }
            await #expect(throws: IncidentError.noInquiries) { try await register.link(id: incident.id, inquiryNumbers: [" "], actor: "staff:dpo") }
            #expect(
                try await register.link(
                    id: incident.id,
                    inquiryNumbers: [first.number, again.number.lowercased(), second.number],
                    actor: "staff:dpo"
                ) == 2
            )
            #expect(try await register.link(id: incident.id, inquiryNumbers: [first.number], actor: "staff:dpo") == 0, "linked once")

            let stored = try #require(try await register.incident(id: incident.id))
            #expect(stored.report.prevention == "Bcc enforced by the mail tool." && stored.preliminaryReportedOn == today && stored.linked == 2)

            // Two staff press "notify" at once: each person gets one mail.
            let policy = fixture.policy
            let compose: @Sendable (String, Incident) -> OutgoingMail = { address, incident in
                OutgoingMail(to: address, subject: "Notice \(incident.number)", body: incident.report.summary)
            }
            async let a = register.notify(id: incident.id, policy: policy, actor: "staff:dpo", compose: compose)
            async let b = register.notify(id: incident.id, policy: policy, actor: "staff:admin", compose: compose)
            let results = try await [a, b]
            #expect(results.map(\.queued).reduce(0, +) == 2)
            #expect(try await register.notify(id: incident.id, policy: policy, actor: "staff:dpo", compose: compose).queued == 0)
            let queued = try await fixture.data.read { db in
                try await db.raw("SELECT subject_id FROM outbox WHERE kind = 'incident-notice'").all(decodingColumn: "subject_id", as: String.self)
            }
            #expect(queued.sorted() == [first.subjectID, second.subjectID].sorted())
            #expect(try #require(try await register.incident(id: incident.id)).notified == 2)

            let actions = try await AuditLog.entries(in: fixture.data, limit: 10_000).map(\.event)
            #expect(actions.filter { $0.action == "incident.notify" }.count == 2)
            #expect(actions.contains { $0.action == "inquiry.read" && $0.purpose == "incident-notice" && $0.subjectID == first.subjectID })
            for action in ["incident.create", "incident.update", "incident.report", "incident.link"] {
                #expect(actions.contains { $0.action == action }, "\(action)")
            }

            let disclosure = try #require(
                try await SubjectRights(vault: fixture.vault).disclosure(subjectID: first.subjectID, actor: "test", source: "test")
            )
            #expect(disclosure.incidents.map { $0["number"] } == [incident.number])
            #expect(disclosure.incidents.first?["notified_at"]?.isEmpty == false)

            try await SubjectRights(vault: fixture.vault).erase(subjectID: first.subjectID, actor: "test", source: "test")
            let after = try #require(try await register.incident(id: incident.id))
            #expect(after.linked == 1 && after.report.affected == 120, "the link goes, the incident's count stays")
        }
    }
}
