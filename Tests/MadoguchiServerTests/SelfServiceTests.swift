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

@Suite("Self-service /me")
struct SelfServiceTests {
    static func csrf(_ html: String) -> String {
        let marker = "name=\"_csrf\" value=\""
        return html.range(of: marker).map { String(html[$0.upperBound...].prefix { $0 != "\"" }) } ?? ""
    }

    /// Signs in at /me with the mailed code; returns the session cookie.
    static func signIn(_ client: any TestClientProtocol, _ installation: Installation, email: String) async throws -> String {
        let start = try await FormSession.open(client, "/me")
        let sent = try await start.post(client, ["email": email], path: "/me/code")
        #expect(sent.status == .seeOther)
        let location = try #require(sent.headers[.location])
        let mail = try #require(try await RequestHTTPTests.deliver(installation).first { $0.body.contains("確認コード: ") })
        #expect(mail.to == email)
        let code = String(try #require(mail.body.split(separator: "\n").first { $0.hasPrefix("確認コード: ") }).dropFirst("確認コード: ".count))
        let form = try await FormSession.open(client, location)
        let ticket = String(location.split(separator: "=").last ?? "")
        let wrong = try await form.post(client, ["ticket": ticket, "code": code == "000000" ? "111111" : "000000"], path: "/me/verify")
        #expect(wrong.status == .unprocessableContent)
        #expect(wrong.text.contains("あと4回"))
        let entered = try await form.post(client, ["ticket": ticket, "code": code], path: "/me/verify")
        #expect(entered.status == .seeOther)
        let setCookie = try #require(entered.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/me"))
        #expect(try await form.post(client, ["ticket": ticket, "code": code], path: "/me/verify").status == .gone, "a code works once")
        return String(setCookie.split(separator: ";")[0])
    }

    @Test(
        "R-PUR-5: on /me a person gives or withdraws consent to a purpose in one step; the latest answer decides at once",
        arguments: TestDatabase.available
    )
    func consentOnMe(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let number = try await submitInquiry(client, email: "taro@example.jp")
            let id = try await inquiryID(number: number, installation)
            let cookie = try await Self.signIn(client, installation, email: "taro@example.jp")
            func page() async throws -> String {
                let response = try await client.execute(uri: "/me?lang=en", method: .get, headers: [.cookie: cookie])
                return response.text
            }
            func answer(_ purpose: String, _ granted: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/me/consents?lang=en",
                    method: .post,
                    headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: formEncode(["_csrf": Self.csrf(try await page()), "purpose": purpose, "granted": granted]))
                )
            }
            let before = try await page()
            #expect(before.contains("id=\"h-purposes\"") && before.contains("Now: you have not consented."))
            #expect(before.contains("name=\"purpose\" value=\"marketing\"") && !before.contains("name=\"purpose\" value=\"answer-inquiries\""))
            await #expect(throws: PurposeRefused.self) {
                _ = try await installation.guardian.inquiry(id: id, purpose: "marketing", actor: "staff:1")
            }

            let granted = try await answer("marketing", "yes")
            #expect(granted.status == .seeOther && granted.headers[.location] == "/me?lang=en#h-purposes")
            let after = try await page()
            #expect(after.contains("Now: you consent.") && after.contains(">Withdraw consent</button>"))
            #expect(try await installation.guardian.inquiry(id: id, purpose: "marketing", actor: "staff:1")?.values["email"] == "taro@example.jp")

            #expect(try await answer("marketing", "no").status == .seeOther)
            #expect(try await page().contains("Now: you have withdrawn your consent."))
            await #expect(throws: PurposeRefused(purpose: "marketing", reason: .noConsent, record: "inquiry:\(id)")) {
                _ = try await installation.guardian.inquiry(id: id, purpose: "marketing", actor: "staff:1")
            }

            // Only the purposes asked about can be answered, and only yes or no.
            for (purpose, value) in [("answer-inquiries", "no"), ("profiling", "yes"), ("marketing", "maybe"), ("", "")] {
                #expect(try await answer(purpose, value).status == .badRequest, "\(purpose) \(value)")
            }
            // Every answer is kept with the version, the way it was given and the words shown, and audited.
            let rows = try await installation.database.read { db in
                try await db.select().columns("granted", "policy_version", "source", "shown_text").from("consents")
                    .where("purpose_id", .equal, "marketing").orderBy("created_at").all()
            }
            #expect(rows.count == 2)
            #expect(try rows.map { try $0.decode(column: "source", as: String.self) } == ["me", "me"])
            #expect(
                try rows.map { try $0.decode(column: "policy_version", as: String.self) } == [
                    installation.policy.version, installation.policy.version,
                ]
            )
            let marketing = try #require(installation.policy.purpose(id: "marketing"))
            #expect(try rows.first?.decode(column: "shown_text", as: String.self) == marketing.text.en)
            let actions = try await AuditLog.entries(in: installation.database).map(\.event.action)
            #expect(actions.contains("consent.grant") && actions.contains("consent.withdraw"))
            // The person's own copy carries the words they were shown.
            let export = try await client.execute(uri: "/me/export?format=json", method: .get, headers: [.cookie: cookie]).text
            #expect(export.contains("\"shown_text\"") && export.contains(marketing.text.en))
        }
    }

    // R-SELF-1: the person sees everything and changes, adds and deletes it at once, audited.
    @Test(
        "R-SELF-1: after the mailed code the person sees everything, changes and adds fields, deletes an inquiry, then everything",
        arguments: TestDatabase.available
    )
    func selfService(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let first = try await submitInquiry(client, email: "taro@example.jp")
            let second = try await submitInquiry(client, service: "executive", email: "taro@example.jp")
            let someoneElse = try await submitInquiry(client, email: "hanako@example.jp")
            let staff = try await installation.staff.add(
                email: "op@mirai-career.example",
                role: .operator,
                departmentID: nil,
                policy: installation.policy,
                actor: "test"
            ).user
            try await InquiryDesk(guardian: installation.guardian).forward(
                try await inquiryID(number: first, installation),
                to: "agent-support",
                note: "",
                by: staff,
                policy: installation.policy
            )
            let cookie = try await Self.signIn(client, installation, email: "taro@example.jp")
            func get(_ path: String) async throws -> TestResponse { try await client.execute(uri: path, method: .get, headers: [.cookie: cookie]) }
            func post(_ path: String, _ fields: [String: String], token: String? = nil) async throws -> TestResponse {
                var all = fields
                if let token { all["_csrf"] = token } else { all["_csrf"] = Self.csrf(try await get("/me").text) }
                return try await client.execute(
                    uri: path,
                    method: .post,
                    headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: formEncode(all))
                )
            }
            let overview = try await get("/me")
            #expect(overview.status == .ok && overview.headers[.cacheControl] == "no-store")
            #expect(overview.text.contains(first) && overview.text.contains(second) && overview.text.contains("山田 太郎"))
            #expect(!overview.text.contains(someoneElse), "only the person's own data")
            #expect(overview.text.contains("エージェント事業部 サポート課"), "forwarding records are shown")
            let sessionToken = String(cookie.split(separator: "=").last ?? "")
            #expect(sessionToken.count == 64 && !overview.text.contains(sessionToken), "the HttpOnly session token never appears in the page")

            // Change the name and add a phone number: at once, audited.
            #expect(try await post("/me/inquiries/\(first)", ["field_name": "山田 次郎", "field_phone": "03-1234-5678"]).status == .seeOther)
            let changed = try await get("/me").text
            #expect(changed.contains("山田 次郎") && changed.contains("03-1234-5678"))
            let actions = try await AuditLog.entries(in: installation.database).map(\.event.action)
            #expect(actions.filter { $0 == "field.correct" }.count == 2)
            let bad = try await post("/me/inquiries/\(first)", ["field_email": "not-an-address"])
            #expect(bad.status == .unprocessableContent && bad.text.contains("role=\"alert\""))
            #expect(try await post("/me/inquiries/Q20000101-AAAAAA", ["field_name": "x"]).status == .notFound)
            #expect(try await post("/me/inquiries/\(someoneElse)", ["field_name": "x"]).status == .notFound, "someone else's inquiry")
            #expect(try await post("/me/inquiries/\(someoneElse)/delete", [:]).status == .notFound)
            #expect(try await post("/me/inquiries/\(first)", ["field_name": "x"], token: "forged").status == .forbidden)

            let export = try await get("/me/export?format=json")
            #expect(export.status == .ok && export.text.contains("山田 次郎") && export.text.contains("madoguchi.disclosure.v1"))
            #expect(try await get("/me/export?format=csv").text.hasPrefix("section,record,field,value"))

            #expect(try await post("/me/inquiries/\(second)/delete", [:]).status == .seeOther)
            #expect(!(try await get("/me").text.contains(second)))

            #expect(try await post("/me/erase", [:]).status == .unprocessableContent, "erasing needs the confirmation box")
            let erased = try await post("/me/erase", ["confirm": "yes"])
            #expect(erased.status == .ok && erased.text.contains("監査ログ"))
            #expect(try await get("/me").text.contains("name=\"email\""), "signed out: back to the start")
            #expect(
                try await installation.database.read { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM inquiries").first(decodingColumn: "n", as: Int.self)
                } == 1,
                "only the other person's inquiry remains"
            )
        }
    }

    @Test(
        "R-SELF-1: a changed e-mail address moves the person with it: a code to the new address finds them, the old one nothing; someone else's address is refused",
        arguments: TestDatabase.available
    )
    func emailChange(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let first = try await submitInquiry(client, email: "taro@example.jp")
            _ = try await submitInquiry(client, email: "hanako@example.jp")
            let cookie = try await Self.signIn(client, installation, email: "taro@example.jp")
            func post(_ path: String, _ fields: [String: String]) async throws -> TestResponse {
                let page = try await client.execute(uri: "/me", method: .get, headers: [.cookie: cookie]).text
                var all = fields
                all["_csrf"] = Self.csrf(page)
                return try await client.execute(
                    uri: path,
                    method: .post,
                    headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: formEncode(all))
                )
            }
            let clash = try await post("/me/inquiries/\(first)", ["field_email": "hanako@example.jp"])
            #expect(clash.status == .conflict && clash.text.contains("別の方のご登録に使われている"), "someone else's address is refused")
            #expect(try await installation.subjectID(email: "hanako@example.jp") != installation.subjectID(email: "taro@example.jp"))

            let subject = try await installation.subjectID(email: "taro@example.jp")
            #expect(try await post("/me/inquiries/\(first)", ["field_email": "taro.new@example.jp"]).status == .seeOther)
            #expect(try await installation.subjectID(email: "taro.new@example.jp") == subject, "the index follows the change")
            #expect(try await installation.subjectID(email: "taro@example.jp").isEmpty, "the old address finds nothing")
            let still = try await client.execute(uri: "/me", method: .get, headers: [.cookie: cookie])
            #expect(still.text.contains(first), "the open session follows the address")

            let renewed = try await Self.signIn(client, installation, email: "taro.new@example.jp")
            let page = try await client.execute(uri: "/me", method: .get, headers: [.cookie: renewed]).text
            #expect(page.contains(first) && page.contains("taro.new@example.jp"), "signed in with the new address, the person's data is there")
            let old = try await Self.signIn(client, installation, email: "taro@example.jp")
            #expect(try await client.execute(uri: "/me", method: .get, headers: [.cookie: old]).text.contains("保有している個人データはありません"))
            #expect(
                try await AuditLog.entries(in: installation.database).contains {
                    $0.event.action == "subject.email-change" && $0.event.subjectID == subject
                }
            )
        }
    }

    @Test("an unknown address gets the same code page and then sees that nothing is held; bad input is refused")
    func unknownAndBad() async throws {
        try await withServer { installation, client in
            let cookie = try await Self.signIn(client, installation, email: "nobody@example.jp")
            let page = try await client.execute(uri: "/me", method: .get, headers: [.cookie: cookie])
            #expect(page.text.contains("保有している個人データはありません"))
            let start = try await FormSession.open(client, "/me")
            #expect(try await start.post(client, ["email": "not an address"], path: "/me/code").status == .unprocessableContent)
            #expect(try await start.post(client, ["email": "a@b.jp"], path: "/me/code", token: "forged").status == .forbidden)
            let form = try await FormSession.open(client, "/me/verify?ticket=nothing")
            #expect(try await form.post(client, ["ticket": "nothing", "code": "12345a"], path: "/me/verify").status == .unprocessableContent)
            #expect(try await form.post(client, ["ticket": "nothing", "code": "123456"], path: "/me/verify").status == .gone)
            let anonymous = try await client.execute(
                uri: "/me/erase",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "confirm=yes")
            )
            #expect(anonymous.status == .seeOther, "no session: sent to sign in, nothing erased")
            for _ in 0..<5 { _ = try await start.post(client, ["email": "flood@example.jp"], path: "/me/code") }
            #expect(try await start.post(client, ["email": "flood@example.jp"], path: "/me/code").status == .tooManyRequests)
        }
    }
}
