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

@Suite("Campaigns over HTTP")
struct CampaignHTTPTests {
    @Test(
        "R-MAIL-1: staff who may send write a draft, see its reach and a sample, and start it; the mail's one-click link works without a session or CSRF token, a GET stops nothing",
        arguments: TestDatabase.available
    )
    func flow(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            // One person who agreed to marketing mail and confirmed their inquiry.
            let session = try await FormSession.open(client)
            #expect(try await session.post(client, goodFields.merging(["consent": "yes"]) { $1 }).status == .seeOther)
            let receipt = try #require(try await RequestHTTPTests.deliver(installation).first)
            #expect(try await confirmInquiry(client, mail: receipt) == .ok)

            let staff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            let list = try await staff.get(client, "/console/campaigns?lang=en")
            #expect(list.status == .ok && list.text.contains("New campaign") && list.text.contains("No campaigns yet."))
            let refused = try await staff.post(
                client,
                "/console/campaigns?lang=en",
                ["kind": "magazine", "purpose": "marketing", "subject": "Autumn news", "body": "Hello"],
                page: "/console/campaigns"
            )
            #expect(refused.status == .unprocessableContent && refused.text.contains("choose at least one service"))
            #expect(refused.text.contains("value=\"Autumn news\""), "what was typed is kept")
            let created = try await staff.post(
                client,
                "/console/campaigns?lang=en",
                ["kind": "magazine", "purpose": "marketing", "service_agent": "on", "subject": "Autumn news", "body": "Hello from us."],
                page: "/console/campaigns"
            )
            #expect(created.status == .seeOther)
            let detailPath = String(try #require(created.headers[.location]).prefix { $0 != "?" })
            let draft = try await staff.get(client, detailPath + "?lang=en")
            #expect(draft.text.contains("Sent now, it would reach 1 people.") && draft.text.contains("Hello from us."))
            #expect(draft.text.contains("Sender: ") && draft.text.contains("List-Unsubscribe"))

            #expect(try await staff.post(client, detailPath + "/start", [:], page: detailPath).status == .seeOther)
            #expect(try await staff.post(client, detailPath + "/start", [:], page: detailPath).status == .conflict, "started once")
            #expect(try await installation.deliverCampaigns(limit: 10) == false)
            let mail = try #require(try await RequestHTTPTests.deliver(installation).first { $0.subject == "Autumn news" })
            #expect(mail.to == "taro@example.jp" && mail.body.hasPrefix("Hello from us."))
            let link = try #require(mail.listUnsubscribe)
            let path = String(link[try #require(link.range(of: "/unsubscribe/")).lowerBound...])
            #expect(mail.body.contains(link), "the link is in the text too")
            // SEMA Art. 4: the sender, address and contact the policy names for advertising mail, and where to refuse.
            #expect(mail.body.contains("送信者: 株式会社ミライキャリア\n住所: 東京都千代田区丸の内九丁目9番9号 ミライビル\nお問い合わせ: privacy@mirai-career.example"))
            #expect(mail.body.contains("または次のアドレスへご連絡ください: mail-stop@mirai-career.example"))
            #expect(mail.body.contains("Sender: Mirai Career Inc.\nAddress: Mirai Building, 9-9-9 Marunouchi, Chiyoda-ku, Tokyo"))
            #expect(mail.body.contains("or write to: mail-stop@mirai-career.example"))
            #expect(try await staff.get(client, detailPath + "?lang=en").text.contains("1 sent (0 failed), 0 skipped, 0 waiting"))

            func latestMarketing() async throws -> Bool? {
                try await installation.database.read { db in
                    try await db.select().column("granted").from("consents").where("purpose_id", .equal, "marketing")
                        .orderBy("created_at", .descending).orderBy("id", .descending).limit(1).first(decodingColumn: "granted", as: Bool.self)
                }
            }
            let page = try await client.execute(uri: path + "?lang=en", method: .get)
            #expect(page.status == .ok && page.text.contains("Stop the mail"))
            #expect(try await latestMarketing() == true, "a GET stops nothing")
            let oneClick = try await client.execute(
                uri: path,
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "List-Unsubscribe=One-Click")
            )
            #expect(oneClick.status == .ok && oneClick.text.contains("配信を止めました"))
            #expect(try await latestMarketing() == false)
            let forged = try await client.execute(uri: path + "x", method: .post, body: ByteBuffer(string: "List-Unsubscribe=One-Click"))
            #expect(forged.status == .notFound)

            // Only roles that may send see campaigns.
            let member = try await StaffBrowser.signIn(
                client,
                installation,
                email: "pro@mirai-career.example",
                role: .department,
                department: "professional"
            )
            #expect(try await member.get(client, "/console/campaigns").status == .forbidden)
        }
    }
}
