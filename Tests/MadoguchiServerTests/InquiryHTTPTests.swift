import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import SQLKit
import Testing

/// A browser's view of one form: its cookie and token.
struct FormSession {
    let cookie: String
    let token: String

    static func open(_ client: any TestClientProtocol, _ path: String = "/inquiry/agent") async throws -> FormSession {
        let response = try await client.execute(uri: path, method: .get)
        let setCookie = try #require(response.headers[.setCookie])
        let cookie = String(setCookie.split(separator: ";")[0])
        let html = response.text
        let marker = "name=\"_csrf\" value=\""
        let start = try #require(html.range(of: marker)).upperBound
        let token = String(html[start...].prefix { $0 != "\"" })
        return FormSession(cookie: cookie, token: token)
    }

    func post(
        _ client: any TestClientProtocol,
        _ fields: [String: String],
        path: String = "/inquiry/agent",
        token: String? = nil,
        cookie: Bool = true
    ) async throws -> TestResponse {
        var all = fields
        all["_csrf"] = token ?? self.token
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if cookie { headers[.cookie] = self.cookie }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: formEncode(all)))
    }
}

/// Follows the confirmation link of an inquiry's receipt mail and presses the button, as the sender does.
func confirmInquiry(_ client: any TestClientProtocol, mail: MailMessage) async throws -> HTTPResponse.Status {
    let line = try #require(mail.body.split(separator: "\n").first { $0.contains("/inquiry/confirm/") })
    let path = String(line[try #require(line.range(of: "/inquiry/confirm/")).lowerBound...])
    let form = try await FormSession.open(client, path)
    let token = String(path.split(separator: "=").last ?? "")
    return try await form.post(client, ["token": token], path: String(path.prefix { $0 != "?" })).status
}

/// Confirms inquiry `number` through its link's page, with the token the receipt mail carries.
func confirmInquiry(_ client: any TestClientProtocol, _ installation: Installation, number: String) async throws -> HTTPResponse.Status {
    let path = "/inquiry/confirm/\(number)"
    let token = installation.vault.confirmationToken(number: number)
    let form = try await FormSession.open(client, path + "?token=\(token)")
    return try await form.post(client, ["token": token], path: path).status
}

func formEncode(_ fields: [String: String]) -> String {
    fields.sorted { $0.key < $1.key }.map { key, value in
        "\(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
    }.joined(separator: "&")
}

/// Japanese pages have no query; English ones carry `?lang=en`.
func href(_ path: String, _ language: Language) -> String {
    language == .ja ? path : "\(path)?lang=en"
}

let goodFields = ["name": "山田 太郎", "email": "taro@example.jp", "topic": "service", "message": "転職の相談をしたいです。"]

func count(_ table: String, _ installation: Installation) async throws -> Int {
    try await installation.database.read { db in
        try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first(decodingColumn: "n", as: Int.self) ?? -1
    }
}

@Suite("Inquiry forms and API")
struct InquiryHTTPTests {
    @Test(
        "R-SVC-1, R-REQ-1: each service has its form: purposes, required marks, consequence, policy link, unticked consent",
        arguments: Language.allCases
    )
    func form(_ language: Language) async throws {
        let t = try await strings(language)
        try await withServer { installation, client in
            for service in installation.policy.services {
                let response = try await client.execute(uri: href("/inquiry/\(service.id)", language), method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                let cookie = try #require(response.headers[.setCookie])
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
                let html = response.text
                #expect(
                    html.contains("<h1>\(t["inquiry_title"]!.replacingOccurrences(of: "{service}", with: service.name[language]).htmlEscaped)</h1>")
                )
                for field in installation.policy.fields(for: service) {
                    let present = html.contains("id=\"f-\(field.id)\"") && html.contains(field.label[language].htmlEscaped)
                    #expect(present, "\(field.id)")
                }
                #expect(html.occurrences(of: "<span class=\"req\">") == 4)
                #expect(html.contains(installation.policy.missingItemsConsequence[language].htmlEscaped))
                #expect(html.contains(installation.policy.purposes[0].text[language].htmlEscaped))
                // R-PUR-5: the optional purposes are asked separately and never pre-ticked.
                #expect(html.contains("<input type=\"checkbox\" name=\"consent\" value=\"yes\">"), "consent is never pre-ticked")
                #expect(html.contains("href=\"\(href("/privacy", language))\""))
                #expect(html.contains("name=\"_csrf\" value=\""))
            }
            let index = try await client.execute(uri: "/inquiry", method: .get)
            #expect(index.status == .ok)
            #expect(index.text.contains("href=\"/inquiry/executive\""))
        }
    }

    @Test(
        "a valid form is stored with its audit entry and confirmation mail, then the receipt page shows the number",
        arguments: TestDatabase.available
    )
    func submit(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let session = try await FormSession.open(client)
            let response = try await session.post(client, goodFields.merging(["consent": "yes"]) { $1 })
            #expect(response.status == .seeOther)
            let location = try #require(response.headers[.location])
            #expect(location.hasPrefix("/inquiry/agent/received?number=Q"))
            let receipt = try await client.execute(uri: location, method: .get)
            #expect(receipt.status == .ok)
            #expect(receipt.text.contains(String(location.suffix(16))))
            #expect(try await count("inquiries", installation) == 1)
            #expect(try await count("outbox", installation) == 1)
            #expect(try await count("consents", installation) == 0, "consent waits for the address's owner to confirm")
            #expect(try await AuditLog.verify(installation.database) == .intact(entries: 1))
            // The session's token works for a second inquiry from the same browser.
            let again = try await session.post(client, goodFields)
            #expect(again.status == .seeOther)
            // The link in the receipt mail confirms the first inquiry: the consent counts from then.
            let mail = try #require(try await RequestHTTPTests.deliver(installation).first { $0.subject.contains(String(location.suffix(16))) })
            #expect(try await confirmInquiry(client, mail: mail) == .ok)
            #expect(try await count("consents", installation) == 1)
            // The consent keeps the words of the box the person ticked, in the form's language.
            let shown = try await installation.database.read { db in
                try await db.select().column("shown_text").from("consents").first(decodingColumn: "shown_text", as: String?.self)
            }
            let marketing = try #require(installation.policy.purpose(id: "marketing"))
            #expect(shown == .some(.some("次の目的での利用に同意します: " + marketing.text.ja)))
        }
    }

    @Test(
        "R-PUR-5, R-DSR-2: an inquiry typed with someone else's address grants no consent, registers nothing and links no browser until the link in the receipt mail is confirmed; a GET confirms nothing",
        arguments: TestDatabase.available
    )
    func confirmation(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            // Taro's own inquiry, without consent.
            let own = try await submitInquiry(client, email: "taro@example.jp")
            #expect(try await confirmInquiry(client, installation, number: own) == .ok)
            // Someone else uses Taro's address, ticks consent and sends from their browser.
            let cookieName = installation.policy.informativeData.cookieName
            let attacker = ConsentEvent.newIdentifier()
            let session = try await FormSession.open(client)
            let forged = try await client.execute(
                uri: "/inquiry/agent",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "\(session.cookie); \(cookieName)=\(attacker)"],
                body: ByteBuffer(string: formEncode(goodFields.merging(["name": "別人", "consent": "yes", "_csrf": session.token]) { $1 }))
            )
            #expect(forged.status == .seeOther)
            let forgedNumber = String(try #require(forged.headers[.location]).suffix(16))
            #expect(try await count("consents", installation) == 0, "no consent for Taro's data")
            #expect(try await count("identifier_links", installation) == 0, "the sender's browser is not linked to Taro")
            let taroInquiry = try await inquiryID(number: own, installation)
            do {
                _ = try await installation.guardian.inquiry(id: taroInquiry, purpose: "marketing", actor: "test")
                Issue.record("marketing use of Taro's data without his consent")
            } catch {}

            // The link: a GET shows a button and changes nothing; a bad token is refused; the POST needs the form token.
            let token = installation.vault.confirmationToken(number: forgedNumber)
            let page = try await client.execute(uri: "/inquiry/confirm/\(forgedNumber)?token=\(token)", method: .get)
            #expect(page.status == .ok && page.text.contains("確認する") && page.text.contains(forgedNumber))
            #expect(try await count("consents", installation) == 0, "a mail scanner opening the link confirms nothing")
            let wrong = try await client.execute(uri: "/inquiry/confirm/\(forgedNumber)?token=\(String(repeating: "0", count: 64))", method: .get)
            #expect(wrong.status == .notFound && wrong.text.contains("無効"))
            #expect(try await client.execute(uri: "/inquiry/confirm/\(own)?token=\(token)", method: .get).status == .notFound, "bound to its number")
            let form = try await FormSession.open(client, "/inquiry/confirm/\(forgedNumber)?token=\(token)")
            #expect(try await form.post(client, ["token": token], path: "/inquiry/confirm/\(forgedNumber)", token: "forged").status == .forbidden)
            #expect(try await count("consents", installation) == 0)

            // Only Taro, who receives the mail, can confirm; then the consent counts, dated from the click.
            let before = Date()
            #expect(try await form.post(client, ["token": token], path: "/inquiry/confirm/\(forgedNumber)").status == .ok)
            #expect(try await count("consents", installation) == 1)
            #expect(try await count("identifier_links", installation) == 1)
            let again = try await form.post(client, ["token": token], path: "/inquiry/confirm/\(forgedNumber)")
            #expect(again.status == .ok && again.text.contains("すでに確認済み"))
            #expect(try await count("consents", installation) == 1, "confirmed once")
            let document = try #require(
                try await SubjectRights(vault: installation.vault).disclosure(
                    subjectID: try await installation.subjectID(email: "taro@example.jp"),
                    actor: "test",
                    source: "test"
                )
            )
            let granted = try #require(document.consents.first)
            #expect(granted.purpose == "marketing" && granted.createdAt >= before.formatted(.iso8601).prefix(19).description)
            #expect(try await AuditLog.entries(in: installation.database).contains { $0.event.action == "inquiry.confirm" })
        }
    }

    @Test(
        "R-REQ-1: missing or invalid fields redisplay the form with the input kept, an error beside each field, and nothing stored",
        arguments: Language.allCases
    )
    func invalid(_ language: Language) async throws {
        let t = try await strings(language)
        try await withServer { installation, client in
            let path = href("/inquiry/agent", language)
            let session = try await FormSession.open(client, path)
            let response = try await session.post(
                client,
                [
                    "name": "", "email": "taro@", "topic": "service", "message": "<script>alert('x')</script>", "phone": "abc", "consent": "yes",
                ],
                path: path
            )
            #expect(response.status == .unprocessableContent)
            let html = response.text
            let nameError = t["err_missing"]!.replacingOccurrences(of: "{label}", with: language == .ja ? "お名前" : "Name")
            #expect(html.contains("<p class=\"error\" id=\"e-name\">\(nameError.htmlEscaped)</p>"))
            #expect(html.contains("id=\"e-email\""))
            #expect(html.contains("id=\"e-phone\""))
            #expect(!html.contains("id=\"e-message\""))
            #expect(html.contains("value=\"taro@\""), "input kept")
            #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</textarea>"), "input kept, escaped")
            #expect(!html.contains("<script>"))
            #expect(html.contains("name=\"consent\" value=\"yes\" checked"), "the person's own choice is kept")
            #expect(html.contains("aria-invalid=\"true\""))
            #expect(html.contains("role=\"alert\""))
            #expect(try await count("inquiries", installation) == 0)
            #expect(try await count("audit_log", installation) == 0)
        }
    }

    @Test("R-SEC-2: a form without a valid CSRF token and cookie is refused, the input kept, nothing stored")
    func csrf() async throws {
        try await withServer { installation, client in
            let session = try await FormSession.open(client)
            for (token, cookie) in [
                ("", true), ("forged.token.value", true), (session.token, false), ("1.\(session.token.split(separator: ".")[1]).AAAA", true),
            ] {
                let response = try await session.post(client, goodFields, token: token, cookie: cookie)
                #expect(response.status == .forbidden)
                #expect(response.text.contains("フォームの有効期限が切れたため"))
                #expect(response.text.contains("value=\"taro@example.jp\""))
            }
            // A token from another browser's cookie does not fit.
            let other = try await FormSession.open(client)
            let mixed = try await session.post(client, goodFields, token: other.token == session.token ? "x" : other.token)
            #expect(mixed.status == .forbidden || other.cookie == session.cookie)
            #expect(try await count("inquiries", installation) == 0)
        }
    }

    @Test("bad bodies get a clear 4xx: oversized, invalid UTF-8, unknown service")
    func badBodies() async throws {
        try await withServer { installation, client in
            let session = try await FormSession.open(client)
            let huge = try await session.post(client, goodFields.merging(["message": String(repeating: "あ", count: 30_000)]) { $1 })
            #expect(huge.status == .contentTooLarge)
            let invalid = try await client.execute(
                uri: "/inquiry/agent",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: session.cookie],
                body: ByteBuffer(bytes: Array("name=%FF%FE&_csrf=\(session.token)".utf8))
            )
            #expect(invalid.status == .badRequest)
            let unknown = try await client.execute(uri: "/inquiry/nursing?lang=en", method: .get)
            #expect(unknown.status == .notFound)
            #expect(unknown.text.contains("There is no such service"))
            #expect(unknown.text.contains("href=\"/inquiry/agent?lang=en\""))
            let unknownPost = try await session.post(client, goodFields, path: "/inquiry/nursing")
            #expect(unknownPost.status == .notFound)
            let fakeReceipt = try await client.execute(uri: "/inquiry/agent/received?number=%3Cscript%3E", method: .get)
            #expect(fakeReceipt.status == .badRequest)
            #expect(try await count("inquiries", installation) == 0)
        }
    }

    @Test("R-SEC-2: too many submissions from one client get 429 with Retry-After")
    func rateLimit() async throws {
        let fresh = try await TestDatabase.sqlite.makeLocation()
        let keys = try Fixtures.temporaryDirectory()
        let installation = try await Installation.prepare(testConfiguration(fresh.location, keys: keys, limit: (2, 600)), logger: quietLogger)
        let app = Application(router: buildRouter(installation), logger: quietLogger)
        try await app.test(.router) { client in
            let session = try await FormSession.open(client)
            #expect(try await session.post(client, goodFields).status == .seeOther)
            #expect(try await session.post(client, goodFields).status == .seeOther)
            let limited = try await session.post(client, goodFields)
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(limited.text.contains("送信が多すぎます"))
            let api = try await client.execute(
                uri: "/api/v1/inquiries",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}")
            )
            #expect(api.status == .tooManyRequests)
            #expect(api.headers[.contentType] == "application/problem+json")
        }
        await installation.close()
        try await fresh.cleanUp()
    }

    @Test("the JSON API: 201 with a number, or a problem document naming each field", arguments: TestDatabase.available)
    func api(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            func post(_ body: String, type: String = "application/json") async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/inquiries", method: .post, headers: [.contentType: type], body: ByteBuffer(string: body))
            }
            let ok = try await post(
                #"{"service":"accountant","fields":{"name":"佐藤 花子","email":"hanako@example.jp","topic":"other","message":"質問です"},"consent_to_optional_purposes":false}"#
            )
            #expect(ok.status == .created)
            let number = try #require(try JSONSerialization.jsonObject(with: Data(ok.text.utf8)) as? [String: String])["number"]
            #expect(number?.hasPrefix("Q") == true)

            let invalid = try await post(#"{"service":"agent","fields":{"email":"a@b.jp\r\nBcc: x@y.jp","admin":"1"}}"#)
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.headers[.contentType] == "application/problem+json")
            let problem = try #require(try JSONSerialization.jsonObject(with: Data(invalid.text.utf8)) as? [String: Any])
            let errors = try #require(problem["errors"] as? [[String: Any]])
            let byField = Dictionary(uniqueKeysWithValues: errors.map { ($0["field"] as! String, $0["code"] as! String) })
            #expect(byField == ["admin": "unknown-field", "email": "multiple-lines", "name": "missing", "topic": "missing", "message": "missing"])
            #expect(errors.allSatisfy { ($0["message_ja"] as? String)?.isEmpty == false && ($0["message_en"] as? String)?.isEmpty == false })

            #expect(try await post("{not json").status == .badRequest)
            #expect(try await post(#"{"service":"agent","fields":{"name":1}}"#).status == .badRequest)
            #expect(try await post(#"{"service":"agent"}"#, type: "text/plain").status == .unsupportedMediaType)
            let unknown = try await post(#"{"service":"nursing","fields":{}}"#)
            #expect(unknown.status == .notFound)
            #expect(unknown.text.contains("agent, accountant, tax-accountant, executive"))
            let huge = try await post(#"{"service":"agent","fields":{"message":""# + String(repeating: "x", count: 70_000) + #""}}"#)
            #expect(huge.status == .contentTooLarge)
            #expect(try await count("inquiries", installation) == 1)
        }
    }

    @Test("R-SEC-1, R-OPS-1: JSON logs — one object per line with each request's id; health checks at debug; nothing personal")
    func jsonLogs() async throws {
        let marker = "Zq8Marker\(Int.random(in: 100_000...999_999))"
        let capture = LogCapture()
        let logger = Logger(label: "madoguchi") { label in JSONLogHandler(label: label, level: .info) { capture.append($0) } }
        try await withServer { installation, _ in
            let app = Application(router: buildRouter(installation), logger: logger)
            try await app.test(.router) { client in
                let api = try await client.execute(
                    uri: "/api/v1/inquiries",
                    method: .post,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(
                        string:
                            #"{"service":"agent","fields":{"name":"\#(marker)","email":"\#(marker)@example.jp","topic":"other","message":"\#(marker)"}}"#
                    )
                )
                #expect(api.status == .created)
                #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/privacy?code=\(marker)", method: .get).status == .ok)
            }
        }
        let objects = try capture.lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let requests = objects.filter { $0["message"] as? String == "request" }
        #expect(requests.count == 2, "the inquiry and the page; the health check only at debug: \(capture.lines)")
        for line in requests {
            #expect((line["hb.request.id"] as? String)?.isEmpty == false && line["level"] as? String == "info")
            #expect((line["time"] as? String)?.hasSuffix("Z") == true && line["label"] as? String == "madoguchi")
        }
        #expect(Set(requests.compactMap { $0["hb.request.id"] as? String }).count == 2, "each request has its own id")
        #expect(requests.contains { $0["path"] as? String == "/privacy" }, "the path without its query string")
        #expect(!capture.lines.contains { $0.lowercased().contains(marker.lowercased()) }, "nothing personal, no query string")
    }

    @Test("R-SEC-1: a marker sent in name, e-mail and message appears nowhere in the database files or the logs")
    func nothingInPlaintext() async throws {
        let marker = "Zq7Marker\(Int.random(in: 100_000...999_999))"
        let capture = LogCapture()
        let fresh = try await TestDatabase.sqlite.makeLocation()
        let keys = try Fixtures.temporaryDirectory()
        let installation = try await Installation.prepare(testConfiguration(fresh.location, keys: keys), logger: capture.logger)
        let app = Application(router: buildRouter(installation), logger: capture.logger)
        try await app.test(.router) { client in
            let session = try await FormSession.open(client)
            for index in 0..<3 {
                let response = try await session.post(
                    client,
                    [
                        "name": "\(marker) 太郎", "email": "\(marker.lowercased())\(index)@example.jp", "topic": "service",
                        "message": "本文 \(marker) です", "phone": "03-1234-5678",
                    ]
                )
                #expect(response.status == .seeOther)
            }
            let api = try await client.execute(
                uri: "/api/v1/inquiries",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(
                    string:
                        #"{"service":"agent","fields":{"name":"\#(marker)","email":"\#(marker)@example.jp","topic":"other","message":"\#(marker)"}}"#
                )
            )
            #expect(api.status == .created)
        }
        await installation.close()
        guard case let .sqlite(path) = fresh.location else { return }
        var scanned = 0
        for file in [
            path, path + "-wal", keys.appendingPathComponent("keystore.sqlite").path,
            keys.appendingPathComponent("keystore.sqlite").path + "-wal",
        ] {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            scanned += data.count
            #expect(!data.contains(Data(marker.utf8)), "\(file)")
            #expect(!data.contains(Data(marker.lowercased().utf8)), "\(file)")
        }
        #expect(scanned > 0)
        #expect(!capture.lines.contains { $0.contains(marker) || $0.lowercased().contains(marker.lowercased()) })
        try await fresh.cleanUp()
    }
}
