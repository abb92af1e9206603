import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import SQLKit
import Testing

@Suite("Surveys over HTTP")
struct SurveyHTTPTests {
    @Test(
        "R-PUR-5: staff write a survey on the console; the recipient answers once on the page their mail links (CSRF-protected, bad answers named, input kept); counts for senders, free text for administrators only",
        arguments: TestDatabase.available
    )
    func flow(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let session = try await FormSession.open(client)
            #expect(try await session.post(client, goodFields.merging(["consent": "yes"]) { $1 }).status == .seeOther)
            let receipt = try #require(try await RequestHTTPTests.deliver(installation).first)
            #expect(try await confirmInquiry(client, mail: receipt) == .ok)

            let admin = try await StaffBrowser.signIn(client, installation, email: "admin@mirai-career.example", role: .admin)
            let base = ["kind": "survey", "purpose": "marketing", "service_agent": "on", "subject": "Survey", "body": "Tell us."]
            let untyped = try await admin.post(
                client,
                "/console/campaigns?lang=en",
                base.merging(["q1_text": "How was it?"]) { $1 },
                page: "/console/campaigns"
            )
            #expect(untyped.status == .unprocessableContent && untyped.text.contains("choose the form of question 1"))
            #expect(untyped.text.contains("value=\"How was it?\""), "the question typed is kept")
            let oneChoice = try await admin.post(
                client,
                "/console/campaigns?lang=en",
                base.merging(["q1_kind": "single", "q1_text": "How was it?", "q1_choices": "Good"]) { $1 },
                page: "/console/campaigns"
            )
            #expect(oneChoice.status == .unprocessableContent && oneChoice.text.contains("question 1 needs 2 to 10 choices"))
            let created = try await admin.post(
                client,
                "/console/campaigns?lang=en",
                base.merging([
                    "q1_kind": "single", "q1_text": "How was it?", "q1_choices": "Good\r\nBad\r\n",
                    "q2_kind": "text", "q2_text": "Anything else?",
                ]) { $1 },
                page: "/console/campaigns"
            )
            #expect(created.status == .seeOther)
            let detailPath = String(try #require(created.headers[.location]).prefix { $0 != "?" })
            #expect(try await admin.post(client, detailPath + "/start", [:], page: detailPath).status == .seeOther)
            _ = try await installation.deliverCampaigns(limit: 10)
            let mail = try #require(try await RequestHTTPTests.deliver(installation).first { $0.subject == "Survey" })
            let marker = try #require(mail.body.range(of: "/surveys/"))
            let path = String(mail.body[marker.lowerBound...].prefix { !$0.isWhitespace })

            // The page: the questions as a form; a forged or foreign link opens nothing.
            let page = try await client.execute(uri: path + "?lang=en", method: .get)
            #expect(page.status == .ok && page.text.contains("How was it?") && page.text.contains("type=\"radio\""))
            #expect(try await client.execute(uri: path + "x", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/surveys/" + String(repeating: "a", count: 5_000), method: .get).status == .notFound)

            let form = try await FormSession.open(client, path + "?lang=en")
            let noToken = try await form.post(client, ["q0": "0", "q1": "Kind staff"], path: path + "?lang=en", token: "forged")
            #expect(noToken.status == .forbidden && noToken.text.contains("Kind staff"), "a refused token keeps what was written")
            let badChoice = try await form.post(client, ["q0": "99999999999999999999"], path: path + "?lang=en")
            #expect(badChoice.status == .unprocessableContent && badChoice.text.contains("question 1 is not one of its choices"))
            let nothing = try await form.post(client, [:], path: path + "?lang=en")
            #expect(nothing.status == .unprocessableContent && nothing.text.contains("please answer at least one question"))
            let tooLong = try await form.post(client, ["q1": String(repeating: "x", count: 1_001)], path: path + "?lang=en")
            #expect(tooLong.status == .unprocessableContent && tooLong.text.contains("question 2 must be at most 1000 characters"))
            let answered = try await form.post(client, ["q0": "1", "q1": "Kind staff <script>"], path: path + "?lang=en")
            #expect(answered.status == .ok && answered.text.contains("Thank you for your answers."))
            let again = try await form.post(client, ["q0": "0"], path: path + "?lang=en")
            #expect(again.status == .conflict && again.text.contains("You answered this survey on"))

            // Counts for those who send; free text for administrators, escaped, and the read audited.
            let results = try await admin.get(client, detailPath + "?lang=en")
            #expect(results.text.contains("1 people answered.") && results.text.contains("Kind staff &lt;script&gt;"))
            // One answer is below k: its count is hidden (R-STA-1); a zero names no one.
            #expect(
                results.text.contains("<th scope=\"row\">Bad</th><td>hidden</td>") && results.text.contains("<th scope=\"row\">Good</th><td>0</td>")
            )
            let reads = try await AuditLog.entries(in: installation.database).filter { $0.event.action == "survey.read" }
            #expect(reads.count == 1 && reads.first?.event.purpose == "surveys")
            let sender = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            let counts = try await sender.get(client, detailPath + "?lang=en")
            #expect(counts.status == .ok && counts.text.contains("1 people wrote something"))
            #expect(!counts.text.contains("Kind staff") && counts.text.contains("Only administrators can read free-text answers."))
        }
    }
}
