import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Requests entered on the console")
struct RequestEntryHTTPTests {
    @Test(
        "R-DSR-6: the privacy officer enters a request received by post (problems named, input kept); it opens with its day of receipt, the check used and both dates shown",
        arguments: TestDatabase.available
    )
    func entry(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let officer = try await StaffBrowser.signIn(client, installation, email: "dpo@mirai-career.example", role: .privacyOfficer)
            let list = try await officer.get(client, "/console/requests?lang=en")
            #expect(list.text.contains("Enter a request received by e-mail, post, phone or in person"))
            let received = LocalDate(japanAt: Date()).adding(days: -2)
            let bad = try await officer.post(
                client,
                "/console/requests?lang=en",
                [
                    "type": "disclosure", "received_on": "2099-01-01", "channel": "post", "identity_check": "document-copy",
                    "email": "hanako@example.jp",
                ],
                page: "/console/requests"
            )
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("the day of receipt must be a day within the last year"))
            #expect(bad.text.contains("value=\"hanako@example.jp\""), "what was typed is kept")
            let noCheck = try await officer.post(
                client,
                "/console/requests?lang=en",
                ["type": "disclosure", "received_on": received.description, "channel": "fax", "email": "hanako@example.jp", "name": "山田 花子"],
                page: "/console/requests"
            )
            #expect(noCheck.status == .unprocessableContent)
            #expect(noCheck.text.contains("choose how the request arrived") && noCheck.text.contains("choose how the identity was checked"))
            let good = try await officer.post(
                client,
                "/console/requests?lang=en",
                [
                    "type": "disclosure", "received_on": received.description, "channel": "post", "identity_check": "document-copy",
                    "email": "hanako@example.jp", "name": "山田 花子",
                ],
                page: "/console/requests"
            )
            #expect(good.status == .seeOther)
            let path = try #require(good.headers[.location])
            let detail = try await officer.get(client, path)
            #expect(detail.text.contains(received.english) && detail.text.contains("Post") && detail.text.contains("A copy of an identity document"))
            #expect(detail.text.contains(received.adding(days: 14).english), "the two-week marker")
            let queue = try await officer.get(client, "/console/requests?lang=en").text
            #expect(queue.contains("<td>\(received.english)</td>"))
            let operatorStaff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            let refused = try await operatorStaff.post(
                client,
                "/console/requests",
                ["type": "disclosure", "received_on": received.description, "channel": "post", "identity_check": "document-copy"],
                page: "/console/inquiries"
            )
            #expect(refused.status == .forbidden)
        }
    }
}
