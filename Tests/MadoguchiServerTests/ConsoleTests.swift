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

/// A signed-in staff browser.
struct StaffBrowser {
    let cookie: String

    static let password = "correct horse battery"

    /// Creates the account through a set-up link and signs in through the form.
    static func signIn(
        _ client: any TestClientProtocol,
        _ installation: Installation,
        email: String,
        role: StaffRole,
        department: String? = nil,
        contractor: String? = nil
    ) async throws -> StaffBrowser {
        let (_, token) = try await installation.staff.add(
            email: email,
            role: role,
            departmentID: department,
            contractorID: contractor,
            policy: installation.policy,
            actor: "test"
        )
        _ = try await installation.staff.completeSetup(token: token, password: password)
        return try await signIn(client, email: email, password: password)
    }

    /// Signs an existing account in through the form.
    static func signIn(_ client: any TestClientProtocol, email: String, password: String) async throws -> StaffBrowser {
        let form = try await FormSession.open(client, "/console/sign-in")
        let response = try await form.post(client, ["email": email, "password": password], path: "/console/sign-in")
        #expect(response.status == .seeOther)
        let setCookie = try #require(response.headers[.setCookie])
        return StaffBrowser(cookie: String(setCookie.split(separator: ";")[0]))
    }

    func get(_ client: any TestClientProtocol, _ path: String) async throws -> TestResponse {
        try await client.execute(uri: path, method: .get, headers: [.cookie: cookie])
    }

    /// Posts a console form with the CSRF token of the page at `page`.
    func post(
        _ client: any TestClientProtocol,
        _ path: String,
        _ fields: [String: String],
        page: String = "/console/inquiries",
        token: String? = nil
    ) async throws -> TestResponse {
        let html = try await get(client, page).text
        let marker = "name=\"_csrf\" value=\""
        let csrf = html.range(of: marker).map { String(html[$0.upperBound...].prefix { $0 != "\"" }) } ?? ""
        var all = fields
        all["_csrf"] = token ?? csrf
        return try await client.execute(
            uri: path,
            method: .post,
            headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: formEncode(all))
        )
    }
}

func submitInquiry(_ client: any TestClientProtocol, service: String = "agent", email: String = "taro@example.jp") async throws -> String {
    let session = try await FormSession.open(client, "/inquiry/\(service)")
    let response = try await session.post(client, goodFields.merging(["email": email]) { $1 }, path: "/inquiry/\(service)")
    return String(try #require(response.headers[.location]).suffix(16))
}

func inquiryID(number: String, _ installation: Installation) async throws -> String {
    try await installation.database.read { db in
        try await db.select().column("id").from("inquiries").where("number", .equal, number).first(decodingColumn: "id", as: String.self)
    } ?? ""
}

@Suite("Staff console")
struct ConsoleTests {
    @Test(
        "R-PUR-4: an inquiry shows the person's earlier inquiries for matching — only the items collected for it, each view audited; none for departments; none once suspended",
        arguments: TestDatabase.available
    )
    func matchHistory(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let first = try await submitInquiry(client, email: "taro@example.jp")
            _ = try await submitInquiry(client, email: "hanako@example.jp")
            let second = try await submitInquiry(client, service: "executive", email: "taro@example.jp")
            let firstID = try await inquiryID(number: first, installation)
            let secondID = try await inquiryID(number: second, installation)
            let admin = try await StaffBrowser.signIn(client, installation, email: "admin@mirai-career.example", role: .admin)

            let page = try await admin.get(client, "/console/inquiries/\(secondID)?lang=en").text
            #expect(page.contains("Earlier inquiries from the same person"))
            let heading = try #require(page.range(of: "Earlier inquiries from the same person"))
            let section = String(page[heading.lowerBound...])
            #expect(section.contains(first) && section.contains("taro@example.jp"))
            #expect(!section.contains("hanako@example.jp"), "someone else's inquiry is not the same person")
            let earlierPart = String(section.prefix(upTo: section.range(of: "<h2>")?.lowerBound ?? section.endIndex))
            #expect(!earlierPart.contains("転職の相談をしたいです。"), "the message was not collected for matching")
            let reads = try await AuditLog.entries(in: installation.database)
                .filter { $0.event.action == "inquiry.read" && $0.event.purpose == "match-history" }
            #expect(reads.map(\.event.record) == ["inquiry:\(firstID)"])
            #expect(reads.first?.event.actor.hasPrefix("staff:") == true)

            // The first inquiry has nothing earlier.
            #expect(try await admin.get(client, "/console/inquiries/\(firstID)?lang=en").text.contains("No earlier inquiries."))

            // A department member who may see the inquiry sees no history.
            #expect(
                try await admin.post(
                    client,
                    "/console/inquiries/\(secondID)/forward",
                    ["department": "executive-desk"],
                    page: "/console/inquiries/\(secondID)"
                ).status == .seeOther
            )
            let member = try await StaffBrowser.signIn(
                client,
                installation,
                email: "exec@mirai-career.example",
                role: .department,
                department: "executive-desk"
            )
            let memberPage = try await member.get(client, "/console/inquiries/\(secondID)?lang=en")
            #expect(memberPage.status == .ok && !memberPage.text.contains("Earlier inquiries from the same person"))

            // Once the person stops that use, the earlier inquiry is not shown, and the refusal is audited.
            let subjectID = try #require(try await installation.guardian.inquiry(id: firstID, purpose: "answer-inquiries", actor: "test")?.subjectID)
            try await SubjectRights(vault: installation.vault).suspend(subjectID: subjectID, purpose: "match-history", actor: "test", source: "test")
            let suspended = try await admin.get(client, "/console/inquiries/\(secondID)?lang=en").text
            #expect(suspended.contains("Not shown: the person had this use stopped."))
            let refusals = try await AuditLog.entries(in: installation.database).filter { $0.event.action == "purpose.refused" }
            #expect(refusals.last?.event.purpose == "match-history" && refusals.last?.event.detail == "suspended")
        }
    }

    @Test("R-SEC-2: staff sign in; wrong passwords lock the account; the console needs a session")
    func signIn() async throws {
        try await withServer { installation, client in
            let anonymous = try await client.execute(uri: "/console/inquiries", method: .get)
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/console/sign-in")
            let forged = try await client.execute(uri: "/console/inquiries", method: .get, headers: [.cookie: "mdg_staff=forged"])
            #expect(forged.status == .seeOther)

            let staff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            #expect(try await staff.get(client, "/console/inquiries").status == .ok)

            let form = try await FormSession.open(client, "/console/sign-in")
            let unknown = try await form.post(
                client,
                ["email": "nobody@mirai-career.example", "password": "whatever-password"],
                path: "/console/sign-in"
            )
            let wrong = try await form.post(client, ["email": "op@mirai-career.example", "password": "wrong-password!"], path: "/console/sign-in")
            #expect(unknown.status == .unauthorized && wrong.status == .unauthorized)
            #expect(unknown.text.contains("メールアドレスまたはパスワードが違います。") && wrong.text.contains("メールアドレスまたはパスワードが違います。"))
            for _ in 0..<4 {
                _ = try await form.post(client, ["email": "op@mirai-career.example", "password": "wrong-password!"], path: "/console/sign-in")
            }
            let locked = try await form.post(
                client,
                ["email": "op@mirai-career.example", "password": StaffBrowser.password],
                path: "/console/sign-in"
            )
            #expect(locked.status == .tooManyRequests, "locked even with the right password")
            let noToken = try await form.post(client, ["email": "op@mirai-career.example", "password": "x"], path: "/console/sign-in", token: "")
            #expect(noToken.status == .forbidden)

            // Sign-out ends the session.
            let out = try await staff.post(client, "/console/sign-out", [:])
            #expect(out.status == .seeOther)
            #expect(try await staff.get(client, "/console/inquiries").status == .seeOther)
        }
    }

    @Test("set-up links: weak passwords refused, a link works once")
    func setup() async throws {
        try await withServer { installation, client in
            let (_, token) = try await installation.staff.add(
                email: "new@mirai-career.example",
                role: .admin,
                departmentID: nil,
                policy: installation.policy,
                actor: "test"
            )
            let page = try await client.execute(uri: "/console/setup?token=\(token)", method: .get)
            #expect(page.status == .ok)
            let form = try await FormSession.open(client, "/console/setup?token=\(token)")
            let weak = try await form.post(client, ["token": token, "password": "short"], path: "/console/setup")
            #expect(weak.status == .unprocessableContent)
            let ok = try await form.post(client, ["token": token, "password": "a long enough password"], path: "/console/setup")
            #expect(ok.status == .ok)
            #expect(ok.text.contains("パスワードを設定しました"))
            let reused = try await form.post(client, ["token": token, "password": "another long password"], path: "/console/setup")
            #expect(reused.status == .gone)
            await #expect(throws: StaffError.departmentRequired) {
                _ = try await installation.staff.add(
                    email: "d@mirai-career.example",
                    role: .department,
                    departmentID: nil,
                    policy: installation.policy,
                    actor: "test"
                )
            }
            await #expect(throws: StaffError.duplicateEmail) {
                _ = try await installation.staff.add(
                    email: "NEW@mirai-career.example",
                    role: .admin,
                    departmentID: nil,
                    policy: installation.policy,
                    actor: "test"
                )
            }
        }
    }

    @Test(
        "R-PUR-3, R-TPP-1, R-AUD-1: staff read, forward and answer; the answer is mailed and kept; every step is audited",
        arguments: TestDatabase.available
    )
    func answerAndForward(_ kind: TestDatabase) async throws {
        let outbox = try Fixtures.temporaryDirectory()
        try await withServer(kind) { installation, client in
            let number = try await submitInquiry(client)
            let id = try await inquiryID(number: number, installation)
            let staff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)

            let list = try await staff.get(client, "/console/inquiries?service=agent&status=new")
            #expect(list.text.contains(number))
            #expect(!list.text.contains("taro@example.jp"), "the list decrypts nothing")
            let detail = try await staff.get(client, "/console/inquiries/\(id)")
            #expect(detail.status == .ok)
            #expect(detail.text.contains("taro@example.jp") && detail.text.contains("転職の相談をしたいです。"))

            let forwarded = try await staff.post(
                client,
                "/console/inquiries/\(id)/forward",
                ["department": "professional", "note": "至急"],
                page: "/console/inquiries/\(id)"
            )
            #expect(forwarded.status == .seeOther)
            let answered = try await staff.post(
                client,
                "/console/inquiries/\(id)/answer",
                ["answer": "ご連絡ありがとうございます。"],
                page: "/console/inquiries/\(id)"
            )
            #expect(answered.status == .seeOther)
            let after = try await staff.get(client, "/console/inquiries/\(id)").text
            #expect(after.contains("ご連絡ありがとうございます。"))
            #expect(after.contains("士業エージェント部"))
            #expect(after.contains("至急"))
            #expect(after.contains("回答済み"))

            let worker = OutboxWorker(
                database: installation.database,
                keys: installation.vault.keys,
                mailer: try FileOutboxMailer(directory: outbox),
                from: "privacy@mirai-career.example",
                messageDomain: "example",
                logger: quietLogger
            )
            #expect(try await worker.deliverDue().sent == 2)
            let bodies = try FileManager.default.contentsOfDirectory(atPath: outbox.path).map { name -> String in
                let text = try String(contentsOf: outbox.appendingPathComponent(name), encoding: .utf8)
                let base64 = String(text.components(separatedBy: "\r\n\r\n")[1].filter { !$0.isNewline })
                return String(decoding: Data(base64Encoded: base64)!, as: UTF8.self)
            }
            #expect(bodies.contains { $0.contains("ご連絡ありがとうございます。") && $0.contains(number) })

            let actions = try await AuditLog.entries(in: installation.database).map(\.event.action)
            for action in ["inquiry.create", "inquiry.read", "inquiry.forward", "inquiry.answer", "mail.sent"] {
                #expect(actions.contains(action), "\(action)")
            }
            #expect(try await AuditLog.verify(installation.database) == .intact(entries: actions.count))

            // Bad console input: empty answer, unknown department, unknown status, missing CSRF token.
            #expect(
                try await staff.post(client, "/console/inquiries/\(id)/answer", ["answer": "  "], page: "/console/inquiries/\(id)").status
                    == .unprocessableContent
            )
            #expect(
                try await staff.post(client, "/console/inquiries/\(id)/forward", ["department": "nowhere"], page: "/console/inquiries/\(id)").status
                    == .badRequest
            )
            #expect(
                try await staff.post(client, "/console/inquiries/\(id)/status", ["status": "deleted"], page: "/console/inquiries/\(id)").status
                    == .badRequest
            )
            #expect(try await staff.post(client, "/console/inquiries/\(id)/status", ["status": "closed"], token: "").status == .forbidden)
            #expect(try await staff.get(client, "/console/inquiries?status=bogus").status == .badRequest)
            #expect(try await staff.get(client, "/console/inquiries?from=2026-13-01").status == .badRequest)
            #expect(try await staff.get(client, "/console/inquiries/no-such-id").status == .notFound)
        }
        try? FileManager.default.removeItem(at: outbox)
    }

    @Test("R-SEC-2: the role × route matrix — departments see only what was forwarded to them; only admins and the officer read the audit log")
    func roles() async throws {
        try await withServer { installation, client in
            let forwardedNumber = try await submitInquiry(client, email: "a@example.jp")
            let otherNumber = try await submitInquiry(client, service: "executive", email: "b@example.jp")
            let forwardedID = try await inquiryID(number: forwardedNumber, installation)
            let otherID = try await inquiryID(number: otherNumber, installation)

            let admin = try await StaffBrowser.signIn(client, installation, email: "admin@mirai-career.example", role: .admin)
            let officer = try await StaffBrowser.signIn(client, installation, email: "officer@mirai-career.example", role: .privacyOfficer)
            let operatorStaff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)
            let member = try await StaffBrowser.signIn(
                client,
                installation,
                email: "pro@mirai-career.example",
                role: .department,
                department: "professional"
            )
            let outsider = try await StaffBrowser.signIn(
                client,
                installation,
                email: "exec@mirai-career.example",
                role: .department,
                department: "executive-desk"
            )
            let contractorStaff = try await StaffBrowser.signIn(
                client,
                installation,
                email: "staff@marketo.example",
                role: .contractor,
                contractor: "marketing-automation"
            )
            #expect(
                try await admin.post(
                    client,
                    "/console/inquiries/\(forwardedID)/forward",
                    ["department": "professional"],
                    page: "/console/inquiries/\(forwardedID)"
                ).status == .seeOther
            )

            struct Expectation {
                let browser: StaffBrowser
                let name: String
                let list: [String]
                let open: [String]
                let audit: HTTPResponse.Status
                var statistics: HTTPResponse.Status = .ok
            }
            let matrix = [
                Expectation(browser: admin, name: "admin", list: [forwardedNumber, otherNumber], open: [forwardedID, otherID], audit: .ok),
                Expectation(
                    browser: officer,
                    name: "privacy-officer",
                    list: [forwardedNumber, otherNumber],
                    open: [forwardedID, otherID],
                    audit: .ok
                ),
                Expectation(
                    browser: operatorStaff,
                    name: "operator",
                    list: [forwardedNumber, otherNumber],
                    open: [forwardedID, otherID],
                    audit: .forbidden
                ),
                Expectation(
                    browser: member,
                    name: "department (professional)",
                    list: [forwardedNumber],
                    open: [forwardedID],
                    audit: .forbidden,
                    statistics: .forbidden
                ),
                Expectation(browser: outsider, name: "department (executive)", list: [], open: [], audit: .forbidden, statistics: .forbidden),
                // Marketo's staff (marketing-automation) are entrusted every service's inquiries, name and address only.
                Expectation(
                    browser: contractorStaff,
                    name: "contractor (marketing-automation)",
                    list: [forwardedNumber, otherNumber],
                    open: [forwardedID, otherID],
                    audit: .forbidden,
                    statistics: .forbidden
                ),
            ]
            for row in matrix {
                let list = try await row.browser.get(client, "/console/inquiries").text
                for number in [forwardedNumber, otherNumber] {
                    #expect(list.contains(number) == row.list.contains(number), "\(row.name) list \(number)")
                }
                for id in [forwardedID, otherID] {
                    let status = try await row.browser.get(client, "/console/inquiries/\(id)").status
                    #expect(status == (row.open.contains(id) ? .ok : .notFound), "\(row.name) open")
                    let answer = try await row.browser.post(client, "/console/inquiries/\(id)/status", ["status": "in-progress"])
                    #expect(answer.status == (row.open.contains(id) ? .seeOther : .notFound), "\(row.name) status change")
                }
                #expect(try await row.browser.get(client, "/console/audit").status == row.audit, "\(row.name) audit")
                #expect(try await row.browser.get(client, "/console/statistics").status == row.statistics, "\(row.name) statistics")
                let managesRegisters: HTTPResponse.Status = row.audit == .ok ? .ok : .forbidden
                for path in ["/console/requests", "/console/incidents", "/console/contractors"] {
                    #expect(try await row.browser.get(client, path).status == managesRegisters, "\(row.name) \(path)")
                }
            }
            // Department members cannot forward.
            #expect(
                try await member.post(
                    client,
                    "/console/inquiries/\(forwardedID)/forward",
                    ["department": "executive-desk"],
                    page: "/console/inquiries/\(forwardedID)"
                ).status == .forbidden
            )
            let audit = try await officer.get(client, "/console/audit?lang=en").text
            #expect(audit.contains("Hash chain: intact"))
            #expect(audit.contains("The whole chain was last recomputed at"))
            #expect(audit.contains("inquiry.forward"))
            // The page checks on from where its last look ended, starting with that entry itself: changed after the
            // view, it is named on the next one.
            let last = try #require(try await AuditLog.entries(in: installation.database, limit: 10_000).last)
            try await installation.database.transaction { db in
                try await db.update("audit_log").set("detail", to: "changed").where("seq", .equal, last.sequence).run()
            }
            let broken = try await officer.get(client, "/console/audit").text
            #expect(broken.contains("ハッシュチェーン: 第\(last.sequence)項目で破損 — 前回の確認の後に変更されています"))
        }
    }
}
