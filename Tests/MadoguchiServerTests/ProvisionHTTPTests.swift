import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Provision records on the console")
struct ProvisionHTTPTests {
    @Test(
        "R-TPP-2: the privacy officer records a provision on the inquiry page (errors named, input kept); others neither see nor post the form; a stopped person is refused",
        arguments: TestDatabase.available
    )
    func console(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let number = try await submitInquiry(client)
            let id = try await inquiryID(number: number, installation)
            let path = "/console/inquiries/\(id)"
            let officer = try await StaffBrowser.signIn(client, installation, email: "dpo@mirai-career.example", role: .privacyOfficer)
            let page = try await officer.get(client, path + "?lang=en")
            #expect(page.text.contains("Provision to third parties") && page.text.contains("None recorded."))
            #expect(page.text.contains("Required by laws and regulations (Art. 27(1)(i))"))

            let today = LocalDate(japanAt: Date()).description
            let noItems = try await officer.post(
                client,
                path + "/provisions?lang=en",
                ["recipient": "Sample Staffing Co.", "provided_on": today, "basis": "legal:laws-and-regulations"],
                page: path
            )
            #expect(noItems.status == .unprocessableContent && noItems.text.contains("choose at least one item provided"))
            #expect(noItems.text.contains("value=\"Sample Staffing Co.\""), "what was typed is kept")
            let badDate = try await officer.post(
                client,
                path + "/provisions?lang=en",
                ["recipient": "Sample Staffing Co.", "provided_on": "2026-13-45", "item_name": "on", "basis": "legal:laws-and-regulations"],
                page: path
            )
            #expect(badDate.status == .unprocessableContent && badDate.text.contains("the date must be a day within the last three years"))
            let badBasis = try await officer.post(
                client,
                path + "/provisions?lang=en",
                ["recipient": "Sample Staffing Co.", "provided_on": today, "item_name": "on", "basis": "legal:whatever"],
                page: path
            )
            #expect(badBasis.status == .unprocessableContent && badBasis.text.contains("Choose a basis."))
            let recorded = try await officer.post(
                client,
                path + "/provisions?lang=en",
                [
                    "recipient": "Sample Staffing Co.", "provided_on": today, "item_name": "on", "item_email": "on",
                    "basis": "legal:laws-and-regulations",
                ],
                page: path
            )
            #expect(recorded.status == .seeOther)
            let after = try await officer.get(client, path + "?lang=en").text
            #expect(after.contains("<td>Sample Staffing Co.</td>") && after.contains("E-mail address, Name"))

            // An operator answers inquiries but keeps no provision register.
            let operatorStaff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            #expect(!(try await operatorStaff.get(client, path + "?lang=en").text.contains("Provision to third parties")))
            let forbidden = try await operatorStaff.post(
                client,
                path + "/provisions",
                ["recipient": "X", "provided_on": today, "item_name": "on", "basis": "legal:laws-and-regulations"],
                page: path
            )
            #expect(forbidden.status == .forbidden)

            // Stopped: refused, said so, nothing added.
            let subjectID = try #require(try await ProvisionRegister(database: installation.database).subjectID(ofInquiry: id))
            try await SubjectRights(vault: installation.vault).suspend(
                subjectID: subjectID,
                purpose: SubjectRights.provisionPurpose,
                actor: "test",
                source: "test"
            )
            let stopped = try await officer.post(
                client,
                path + "/provisions?lang=en",
                ["recipient": "Another Co.", "provided_on": today, "item_name": "on", "basis": "legal:laws-and-regulations"],
                page: path
            )
            #expect(stopped.status == .conflict && stopped.text.contains("had provision to third parties (or every use) stopped"))
            #expect(try await ProvisionRegister(database: installation.database).records(subjectID: subjectID).count == 1)
        }
    }
}
