import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Contractors on the console")
struct ContractorHTTPTests {
    @Test(
        "R-OUT-1: the privacy officer sees each contractor with what is due and records a review (a bad one named, input kept); others are refused",
        arguments: TestDatabase.available
    )
    func console(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let officer = try await StaffBrowser.signIn(client, installation, email: "dpo@mirai-career.example", role: .privacyOfficer)
            let page = try await officer.get(client, "/console/contractors?lang=en")
            #expect(page.status == .ok && page.text.contains("Assessment before selection") && page.text.contains("None recorded"))
            #expect(page.text.contains("support-desk: the confidentiality agreement ended on 2026-06-30"))
            let yesterday = LocalDate(japanAt: Date()).adding(days: -1).description
            let bad = try await officer.post(
                client,
                "/console/contractors?lang=en",
                ["contractor": "support-desk", "kind": "review", "on": yesterday, "result": "findings", "notes": ""],
                page: "/console/contractors"
            )
            #expect(bad.status == .unprocessableContent && bad.text.contains("describe the findings"))
            #expect(bad.text.contains("<option value=\"findings\" selected>"), "the choice is kept")
            let good = try await officer.post(
                client,
                "/console/contractors?lang=en",
                ["contractor": "support-desk", "kind": "agreement", "on": yesterday, "until": "2029-06-30", "notes": "Renewed for three years."],
                page: "/console/contractors"
            )
            #expect(good.status == .seeOther)
            let after = try await officer.get(client, "/console/contractors?lang=en").text
            #expect(!after.contains("support-desk: the confidentiality agreement ended") && after.contains("Renewed for three years."))
            let policyPage = try await officer.get(client, "/console/policy?lang=en").text
            #expect(!policyPage.contains("support-desk: the confidentiality agreement ended"), "the policy page's warning counts the records too")

            let operatorStaff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            #expect(try await operatorStaff.get(client, "/console/contractors").status == .forbidden)
        }
    }
}
