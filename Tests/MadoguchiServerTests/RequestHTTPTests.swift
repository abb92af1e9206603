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

@Suite("Requests over HTTP")
struct RequestHTTPTests {
    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: String, type: String = "application/json") async throws -> TestResponse
    {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: type], body: ByteBuffer(string: body))
    }

    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any])
    }

    /// Delivers the queued mail and returns what was sent.
    static func deliver(_ installation: Installation) async throws -> [MailMessage] {
        let mailer = FlakyMailer(failures: 0)
        let worker = OutboxWorker(
            database: installation.database,
            keys: installation.vault.keys,
            mailer: mailer,
            from: installation.policy.requests.email,
            messageDomain: "example",
            logger: Logger(label: "test")
        )
        try await worker.deliverDue()
        return mailer.sent
    }

    static func code(in mail: MailMessage) throws -> String {
        let line = try #require(mail.body.split(separator: "\n").first { $0.hasPrefix("確認コード: ") })
        return String(line.dropFirst("確認コード: ".count))
    }

    // R-DSR-1, R-DSR-2, R-CON-1: intake, code by mail, verification, confirmation naming the officer and contact.
    @Test(
        "R-DSR-2: the same 202 for a known and an unknown address; the mailed code opens the request once; the confirmation names the officer",
        arguments: TestDatabase.available
    )
    func intakeAndVerify(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let inquiry = try await Self.post(
                client,
                "/api/v1/inquiries",
                #"{"service":"agent","fields":{"name":"山田 太郎","email":"taro@example.jp","topic":"service","message":"相談"}}"#
            )
            #expect(inquiry.status == .created)
            _ = try await Self.deliver(installation)

            let known = try await Self.post(
                client,
                "/api/v1/requests",
                #"{"type":"disclosure","email":"taro@example.jp","name":"山田 太郎","delivery":"csv"}"#
            )
            let unknown = try await Self.post(
                client,
                "/api/v1/requests",
                #"{"type":"disclosure","email":"nobody@example.jp","name":"誰か","delivery":"csv"}"#
            )
            #expect(known.status == .accepted && unknown.status == .accepted)
            var first = try Self.object(known)
            var second = try Self.object(unknown)
            let number = try #require(first["number"] as? String)
            #expect(number.hasPrefix("R") && number != second["number"] as? String)
            for key in ["number", "verify"] {
                first[key] = nil
                second[key] = nil
            }
            #expect(NSDictionary(dictionary: first).isEqual(to: second), "nothing tells a known address from an unknown one")
            #expect(!known.text.contains("taro"), "the response echoes no personal data")

            let mails = try await Self.deliver(installation)
            let mail = try #require(mails.first { $0.subject.contains(number) })
            #expect(mail.to == "taro@example.jp")
            #expect(mail.body.contains(installation.policy.officer.email) && mail.body.contains(installation.policy.requests.email))
            let code = try Self.code(in: mail)
            let verify = "/api/v1/requests/\(number)/verify"
            let wrong = try await Self.post(client, verify, #"{"code":"\#(code == "000000" ? "111111" : "000000")"}"#)
            #expect(wrong.status == .forbidden)
            #expect(try Self.object(wrong)["attempts_left"] as? Int == 4)
            #expect(try Self.object(wrong)["title"] as? String == "Forbidden")
            let right = try await Self.post(client, verify, #"{"code":"\#(code)"}"#)
            #expect(right.status == .ok)
            let opened = try Self.object(right)
            #expect(opened["status"] as? String == "open")
            let due = try #require(LocalDate(iso: opened["due"] as? String ?? ""))
            #expect(try installation.policy.requests.calendar.due(received: LocalDate(japanAt: Date()), businessDays: 3) == due)
            #expect(try await Self.post(client, verify, #"{"code":"\#(code)"}"#).status == .notFound, "a code works once")

            let received = try #require(try await Self.deliver(installation).first { $0.subject.contains("受け付けました") })
            #expect(received.to == "taro@example.jp")
            #expect(received.body.contains(due.japanese) && received.body.contains(due.english))
            #expect(received.body.contains("開示") && received.body.contains(installation.policy.officer.email))
            #expect(try await RightsRequestDesk(vault: installation.vault).queue().map(\.number) == [number])
        }
    }

    @Test("bad requests get clear errors and change nothing: types, fields, JSON, media type, size, numbers, codes, floods")
    func badInput() async throws {
        try await withServer { installation, client in
            func post(_ body: String, type: String = "application/json") async throws -> TestResponse {
                try await Self.post(client, "/api/v1/requests", body, type: type)
            }
            let invalid = try await post(#"{"type":"everything","email":"a@b.jp\r\nBcc: x@y.jp","name":"","purposes":["marketing"]}"#)
            #expect(invalid.status == .unprocessableContent)
            let errors = try #require(try Self.object(invalid)["errors"] as? [[String: Any]])
            let byField = Dictionary(uniqueKeysWithValues: errors.map { ($0["field"] as! String, $0["code"] as! String) })
            #expect(byField == ["type": "invalid-choice", "email": "multiple-lines", "name": "missing", "purposes": "unknown-field"])
            #expect(errors.allSatisfy { ($0["message_ja"] as? String)?.isEmpty == false && ($0["message_en"] as? String)?.isEmpty == false })
            let suspension = try await post(#"{"type":"suspension","email":"a@b.jp","name":"A","purposes":["profiling"]}"#)
            #expect(suspension.text.contains("invalid-choice"))
            #expect(try await post("{not json").status == .badRequest)
            #expect(try await post(#"{"type":"disclosure","email":1}"#).status == .badRequest)
            #expect(try await post(#"{"type":"disclosure"}"#, type: "text/plain").status == .unsupportedMediaType)
            let huge = try await post(
                #"{"type":"correction","email":"a@b.jp","name":"A","details":""# + String(repeating: "x", count: 70_000) + #""}"#
            )
            #expect(huge.status == .contentTooLarge)

            #expect(try await Self.post(client, "/api/v1/requests/../../etc/verify", #"{"code":"123456"}"#).status == .notFound)
            #expect(try await Self.post(client, "/api/v1/requests/R20261129-XXXXXX/verify", #"{"code":"123456"}"#).status == .notFound)
            #expect(try await Self.post(client, "/api/v1/requests/R20261129-XXXXXX/verify", #"{"code":"12ab"}"#).status == .badRequest)
            #expect(try await Self.post(client, "/api/v1/requests/R20261129-XXXXXX/verify", #"{"kode":"123456"}"#).status == .badRequest)

            // One mailbox gets at most five codes an hour, whichever clients ask.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<6 {
                statuses.append(try await post(#"{"type":"erasure","email":"flood@example.jp","name":"A"}"#).status)
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == .accepted })
            #expect(statuses.last == .tooManyRequests)
            #expect(try await RightsRequestDesk(vault: installation.vault).queue(statuses: RightsRequestStatus.allCases).count == 5)
        }
    }
}

extension RequestHTTPTests {
    /// Sends a request through the API and verifies it with the mailed code; returns its number and id.
    static func openRequest(
        _ client: any TestClientProtocol,
        _ installation: Installation,
        _ body: String
    ) async throws -> (number: String, id: String) {
        let response = try await post(client, "/api/v1/requests", body)
        let number = try #require(try object(response)["number"] as? String)
        let mail = try #require(try await deliver(installation).first { $0.subject.contains(number) })
        let verified = try await post(client, "/api/v1/requests/\(number)/verify", #"{"code":"\#(try code(in: mail))"}"#)
        #expect(verified.status == .ok)
        let id = try await installation.database.read { db in
            try await db.select().column("id").from("requests").where("number", .equal, number).first(decodingColumn: "id", as: String.self)
        }
        return (number, try #require(id))
    }

    // R-DSR-1, R-DSR-3, R-DSR-4, R-DSR-5: staff carry requests out (the system does the work) or refuse them with a reason.
    @Test(
        "R-DSR-1: the privacy officer's queue flags due dates; disclosure is downloaded by the person, erasure erases, refusal mails the reason",
        arguments: TestDatabase.available
    )
    func staffQueue(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            _ = try await Self.post(
                client,
                "/api/v1/inquiries",
                #"{"service":"agent","fields":{"name":"山田 太郎","email":"taro@example.jp","topic":"service","message":"相談です"}}"#
            )
            _ = try await Self.deliver(installation)
            let disclosure = try await Self.openRequest(
                client,
                installation,
                #"{"type":"disclosure","email":"taro@example.jp","name":"山田 太郎","delivery":"csv"}"#
            )
            let refused = try await Self.openRequest(
                client,
                installation,
                #"{"type":"correction","email":"taro@example.jp","name":"山田 太郎","details":"社名を変えて"}"#
            )
            _ = try await Self.deliver(installation)

            let operatorBrowser = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            #expect(try await operatorBrowser.get(client, "/console/requests").status == .forbidden, "operators do not handle requests")
            #expect(try await operatorBrowser.post(client, "/console/requests/\(disclosure.id)/complete", [:]).status == .forbidden)
            let officer = try await StaffBrowser.signIn(client, installation, email: "dpo@mirai-career.example", role: .privacyOfficer)
            let list = try await officer.get(client, "/console/requests")
            #expect(list.status == .ok)
            #expect(list.text.contains(disclosure.number) && list.text.contains(refused.number))
            let page = "/console/requests/\(disclosure.id)"
            let detail = try await officer.get(client, page)
            #expect(detail.text.contains("taro@example.jp") && detail.text.contains("CSV"))

            // Disclosure: a link by mail; the person downloads the CSV.
            let done = try await officer.post(client, "/console/requests/\(disclosure.id)/complete", [:], page: page)
            #expect(done.status == .seeOther)
            let notice = try #require(try await Self.deliver(installation).first { $0.subject.contains(disclosure.number) })
            #expect(notice.to == "taro@example.jp" && notice.body.contains(installation.policy.officer.email))
            let link = try #require(notice.body.split(separator: "\n").first { $0.contains("/download?token=") })
            let path = String(link[try #require(link.range(of: "/requests/")).lowerBound...])
            #expect(notice.body.contains("確認コード") && notice.body.contains("code for the download"), "the mail says a code will follow")
            // #21: the link alone opens a page, never the file; a code mailed to the request's address opens it.
            let landing = try await client.execute(uri: path, method: .get)
            #expect(landing.status == .ok && landing.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(!landing.text.contains("相談です") && landing.text.contains("確認コードを送る") && landing.text.contains("CSV"))
            let english = try await client.execute(uri: path + "&lang=en", method: .get)
            #expect(english.text.contains("Download your disclosure") && english.text.contains("Send me a code"))
            let token = String(try #require(path.split(separator: "=").last))
            #expect(english.text.contains("href=\"/requests/\(disclosure.number)/download?token=\(token)\""), "the language switch keeps the token")
            let bare = "/requests/\(disclosure.number)/download"
            let form = try await FormSession.open(client, path)
            #expect(
                try await form.post(client, ["token": token, "ticket": "x", "code": "123456"], path: bare).status == .gone,
                "a guessed ticket and code deliver nothing"
            )
            #expect(try await form.post(client, ["token": token + "0"], path: bare + "/code").status == .notFound, "a changed token is refused")
            #expect(try await form.post(client, [:], path: bare + "/code").status == .notFound, "no token, nothing sent")
            #expect(try await Self.deliver(installation).isEmpty, "nothing was mailed for refused links")
            let sent = try await form.post(client, ["token": token], path: bare + "/code")
            #expect(sent.status == .ok && sent.text.contains("autocomplete=\"one-time-code\""))
            let ticketStart = try #require(sent.text.range(of: "name=\"ticket\" value=\"")).upperBound
            let ticket = String(sent.text[ticketStart...].prefix { $0 != "\"" })
            let codeMail = try #require(try await Self.deliver(installation).first { $0.subject.contains(disclosure.number) })
            #expect(codeMail.to == "taro@example.jp" && !codeMail.body.contains(token), "to the request's address; the link is not repeated")
            let code = try Self.code(in: codeMail)
            let wrong = code == "000000" ? "111111" : "000000"
            let wrongAnswer = try await form.post(client, ["token": token, "ticket": ticket, "code": wrong], path: bare)
            #expect(wrongAnswer.status == .unprocessableContent && wrongAnswer.text.contains("あと4回"))
            #expect(try await form.post(client, ["token": token, "ticket": ticket, "code": "12"], path: bare).status == .unprocessableContent)
            #expect(
                try await form.post(client, ["token": token, "ticket": ticket, "code": code], path: bare, token: "forged").status == .forbidden,
                "the form is CSRF-protected"
            )
            let download = try await form.post(client, ["token": token, "ticket": ticket, "code": code], path: bare)
            #expect(download.status == .ok)
            #expect(download.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"disclosure-\(disclosure.number).csv\"")
            #expect(download.text.contains("field.message,相談です"))
            #expect(
                try await form.post(client, ["token": token, "ticket": ticket, "code": code], path: bare).status == .gone,
                "a code opens one download"
            )
            #expect(try await client.execute(uri: path + "0", method: .get).status == .notFound, "a changed token is refused")
            #expect(
                try await officer.post(client, "/console/requests/\(disclosure.id)/complete", [:], page: page).status == .conflict,
                "a request is carried out once"
            )

            // Refusal: the reason is required and is sent to the person.
            let refusePage = "/console/requests/\(refused.id)"
            #expect(
                try await officer.post(client, "/console/requests/\(refused.id)/refuse", ["reason": " "], page: refusePage).status
                    == .unprocessableContent
            )
            #expect(
                try await officer.post(
                    client,
                    "/console/requests/\(refused.id)/refuse",
                    ["reason": "ご登録の社名は変更できません。"],
                    page: refusePage
                ).status == .seeOther
            )
            let refusal = try #require(try await Self.deliver(installation).first { $0.subject.contains(refused.number) })
            #expect(refusal.body.contains("ご登録の社名は変更できません。"))
            #expect(try await officer.post(client, "/console/requests/\(refused.id)/complete", [:], page: refusePage).status == .conflict)

            // Erasure: the person's key is gone after the officer carries it out.
            let erasure = try await Self.openRequest(client, installation, #"{"type":"erasure","email":"taro@example.jp","name":"山田太郎"}"#)
            _ = try await Self.deliver(installation)
            let subjectID = try #require(
                try await installation.database.read { db in
                    try await db.select().column("subject_id").from("requests").where("id", .equal, erasure.id)
                        .first(decodingColumn: "subject_id", as: String.self)
                }
            )
            #expect(
                try await officer.post(client, "/console/requests/\(erasure.id)/complete", [:], page: "/console/requests/\(erasure.id)").status
                    == .seeOther
            )
            #expect(try await installation.vault.keys.key(subjectID: subjectID) == nil)
            let erased = try #require(try await Self.deliver(installation).first { $0.subject.contains(erasure.number) })
            #expect(erased.body.contains("監査ログ") && erased.body.contains("audit log"), "the person is told what is kept")
            // R-DSR-5: the person's requests no longer open for staff, and the disclosure link ends with them.
            #expect(try await officer.get(client, page).status == .notFound, "the person's earlier request no longer opens")
            let erasurePage = try await officer.get(client, "/console/requests/\(erasure.id)")
            #expect(erasurePage.status == .notFound && !erasurePage.text.contains("taro@example.jp"))
            #expect(try await client.execute(uri: path, method: .get).status == .notFound, "the download link ends with the erasure")
            #expect(try await AuditLog.verify(installation.database) == .intact(entries: try await AuditLog.entries(in: installation.database).count))
        }
    }
}

extension RequestHTTPTests {
    @Test("R-DSR-1: the request form works without JavaScript: errors beside the input kept, the mailed link fills in the code")
    func pages() async throws {
        try await withServer { installation, client in
            let form = try await FormSession.open(client, "/requests/new")
            let page = try await client.execute(uri: "/requests/new?lang=en", method: .get)
            #expect(page.text.contains("Requests about your personal data") && page.text.contains(installation.policy.officer.email))
            // R-DSR-6: agents are told where to send their documents and where the answer goes; the fee is stated.
            #expect(
                page.text.contains("If you are an agent (a statutory agent or someone the person appointed), write to privacy@mirai-career.example")
            )
            #expect(page.text.contains(try #require(installation.policy.requests.agents).en.htmlEscaped))
            #expect(page.text.contains("There is no fee."))
            let japanese = try await client.execute(uri: "/requests/new", method: .get).text
            #expect(japanese.contains("代理人(法定代理人・委任を受けた方)によるご請求は") && japanese.contains("手数料はいただきません。"))
            let invalid = try await form.post(client, ["type": "suspension", "email": "taro@example", "name": "山田"], path: "/requests/new")
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.text.contains("value=\"山田\"") && invalid.text.contains("#f-email") && invalid.text.contains("#f-purposes"))
            #expect(
                try await form.post(client, ["type": "disclosure", "email": "a@b.jp", "name": "A"], path: "/requests/new", token: "x").status
                    == .forbidden
            )
            let sent = try await form.post(
                client,
                ["type": "suspension", "email": "taro@example.jp", "name": "山田", "purpose_marketing": "yes"],
                path: "/requests/new"
            )
            #expect(sent.status == .seeOther)
            let location = try #require(sent.headers[.location])
            let mail = try #require(try await Self.deliver(installation).first)
            let link = try #require(mail.body.split(separator: "\n").first { $0.contains("/verify?code=") })
            let path = String(link[link.range(of: "/requests/")!.lowerBound...])
            #expect(path.hasPrefix(location))
            let filled = try await FormSession.open(client, path)
            let html = try await client.execute(uri: path, method: .get).text
            #expect(html.contains("value=\"\(try Self.code(in: mail))\""), "the link fills the code in; only the POST uses it")
            let done = try await filled.post(client, ["code": try Self.code(in: mail)], path: location)
            #expect(done.status == .ok && done.text.contains("ご請求を受け付けました"))
            #expect(try await client.execute(uri: "/requests/not-a-number/verify", method: .get).status == .notFound)
        }
    }
}
