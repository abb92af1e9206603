import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Leak incidents on the console")
struct IncidentHTTPTests {
    @Test(
        "R-BRE-1: the privacy officer registers an incident (problems named, input kept), sees its deadlines, records a report, links people and notifies them once; print and JSON; other roles refused",
        arguments: TestDatabase.available
    )
    func console(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let number = try await submitInquiry(client, email: "leaked@example.jp")
            let officer = try await StaffBrowser.signIn(client, installation, email: "dpo@mirai-career.example", role: .privacyOfficer)
            let list = try await officer.get(client, "/console/incidents?lang=en")
            #expect(list.status == .ok && list.text.contains("No incident is registered."))
            #expect(list.text.contains("href=\"/console/incidents?lang=en\""), "the navigation links the register")

            let today = LocalDate(japanAt: Date())
            let found = today.adding(days: -6).description
            let bad = try await officer.post(
                client,
                "/console/incidents?lang=en",
                ["found_on": "2999-01-01", "kind": "leak", "summary": "Mail sent with visible addresses", "affected": "many"],
                page: "/console/incidents"
            )
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("the day of awareness must be a day within the last ten years"))
            #expect(bad.text.contains("choose at least one item concerned") && bad.text.contains("give the number of people as a whole number"))
            #expect(bad.text.contains("href=\"#i-found-on\"") && bad.text.contains("aria-describedby=\"i-affected-error\""))
            #expect(bad.text.contains(">Mail sent with visible addresses</textarea>"), "what was typed is kept")

            let created = try await officer.post(
                client,
                "/console/incidents?lang=en",
                [
                    "found_on": found, "kind": "leak", "summary": "Mail sent with visible addresses", "item_email": "on",
                    "affected": "1500", "cause": "To instead of Bcc",
                ],
                page: "/console/incidents"
            )
            #expect(created.status == .seeOther)
            let path = try #require(created.headers[.location]).replacingOccurrences(of: "?lang=en", with: "")
            let detail = try await officer.get(client, path + "?lang=en")
            #expect(detail.text.contains("Must be reported"))
            #expect(detail.text.contains("The preliminary report is overdue"), "six days after awareness")
            #expect(detail.text.contains("Due by \(today.adding(days: 24).english)"))

            let early = try await officer.post(
                client,
                path + "/reports?lang=en",
                ["stage": "preliminary", "reported_on": today.adding(days: -7).description],
                page: path
            )
            #expect(early.status == .unprocessableContent && early.text.contains("the report date must be a day from the day of awareness to today"))
            let reported = try await officer.post(
                client,
                path + "/reports?lang=en",
                ["stage": "preliminary", "reported_on": today.description],
                page: path
            )
            #expect(reported.status == .seeOther)
            #expect(!(try await officer.get(client, path + "?lang=en").text.contains("The preliminary report is overdue")))

            let unknown = try await officer.post(client, path + "/people?lang=en", ["numbers": "Q20990101-ZZZZZZ"], page: path)
            #expect(unknown.status == .unprocessableContent && unknown.text.contains("there is no inquiry numbered Q20990101-ZZZZZZ"))
            #expect(unknown.text.contains(">Q20990101-ZZZZZZ</textarea>"))
            #expect(try await officer.post(client, path + "/people?lang=en", ["numbers": number], page: path).status == .seeOther)
            let notified = try await officer.post(client, path + "/notify?lang=en", [:], page: path)
            #expect(notified.status == .ok && notified.text.contains("Notices queued for sending: 1."))
            #expect(notified.text.contains("1 of 1 people notified"))
            #expect(try await officer.post(client, path + "/notify?lang=en", [:], page: path).text.contains("Notices queued for sending: 0."))
            let mails = try await installation.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'incident-notice'").first(decodingColumn: "n", as: Int.self)
            }
            #expect(mails == 1)

            let print = try await officer.get(client, path + "/report?lang=en")
            #expect(print.status == .ok && print.text.contains("More than 1,000 people are concerned") && print.text.contains("To instead of Bcc"))
            let json = try await officer.get(client, path + "/report.json")
            #expect(json.headers[.contentType] == "application/json; charset=utf-8")
            let export = try #require(try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any])
            #expect(export["reportable"] as? Bool == true && export["over_thousand"] as? Bool == true && export["people_notified"] as? Int == 1)
            #expect((export["deadlines"] as? [String: Any])?["final_by"] as? String == today.adding(days: 24).description)
            #expect((export["report"] as? [String: Any])?["found_on"] as? String == found)

            #expect(try await officer.get(client, "/console/incidents/nope").status == .notFound)
            let edit = try await officer.post(
                client,
                path + "?lang=en",
                ["found_on": found, "kind": "loss", "summary": "", "item_email": "on", "affected": "1500"],
                page: path
            )
            #expect(edit.status == .unprocessableContent && edit.text.contains("enter a summary"))

            let operatorStaff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            #expect(try await operatorStaff.get(client, "/console/incidents").status == .forbidden)
            #expect(try await operatorStaff.get(client, path + "/report.json").status == .forbidden)
            let refused = try await operatorStaff.post(client, path + "/notify", [:], page: "/console/inquiries")
            #expect(refused.status == .forbidden)
        }
    }
}
