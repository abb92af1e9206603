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

@Suite("Consent ledger and preferences")
struct ConsentTests {
    static func event(
        _ client: any TestClientProtocol,
        _ body: String,
        type: String = "text/plain;charset=UTF-8",
        gpc: Bool = false
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: type]
        if gpc { headers[HTTPField.Name("Sec-GPC")!] = "1" }
        return try await client.execute(uri: "/api/v1/events", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Sends an inquiry through the JSON API from a browser holding `identifier`, which links it to the person.
    /// Sends an inquiry from a browser with `identifier`; with `installation`, the sender then confirms it by the link
    /// in the receipt mail (only then is the identifier linked).
    static func inquiry(
        _ client: any TestClientProtocol,
        cookieName: String,
        email: String,
        identifier: String,
        confirmingWith installation: Installation? = nil
    ) async throws {
        let response = try await client.execute(
            uri: "/api/v1/inquiries",
            method: .post,
            headers: [.contentType: "application/json", .cookie: "\(cookieName)=\(identifier)"],
            body: ByteBuffer(string: #"{"service":"agent","fields":{"name":"山田 太郎","email":"\#(email)","topic":"service","message":"相談"}}"#)
        )
        #expect(response.status == .created)
        if let installation {
            let number = try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: String])["number"] ?? ""
            #expect(try await confirmInquiry(client, installation, number: number) == .ok)
        }
    }

    // R-OPT-1, R-OPT-4, R-INF-1: the ledger keeps identifier, choice, vendor-list and policy version, time, GPC.
    @Test(
        "R-OPT-1: events from sendBeacon are validated and kept in the ledger; GPC is recorded; a stale vendor list is refused",
        arguments: TestDatabase.available
    )
    func events(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let list = VendorList.version(of: installation.policy)
            let config = try #require(
                try JSONSerialization.jsonObject(with: Data(try await client.execute(uri: "/api/v1/consent-config", method: .get).text.utf8))
                    as? [String: Any]
            )
            #expect(config["vendor_list"] as? String == list && config["cookie_name"] as? String == installation.policy.informativeData.cookieName)
            #expect((config["vendors"] as? [[String: Any]])?.count == installation.policy.vendors.count, "the snippet reads the same declarations")
            let id = ConsentEvent.newIdentifier()
            let vendors = installation.policy.vendors.map { "\"\($0.id)\":\($0.category == .advertising ? "false" : "true")" }.joined(separator: ",")
            #expect(try await Self.event(client, #"{"id":"\#(id)","kind":"notice","vendor_list":"\#(list)"}"#).status == .noContent)
            #expect(
                try await Self.event(
                    client,
                    #"{"id":"\#(id)","kind":"choice","vendors":{\#(vendors)},"vendor_list":"\#(list)"}"#,
                    type: "application/json",
                    gpc: true
                ).status == .noContent
            )
            let ledger = ConsentLedger(database: installation.database)
            let stored = try await ledger.events(identifier: id)
            #expect(stored.map(\.kind) == [.notice, .choice])
            #expect(stored.last?.gpc == true && stored.last?.vendorListVersion == list && stored.last?.policyVersion == installation.policy.version)
            #expect(stored.last?.vendors.count == installation.policy.vendors.count)

            func status(_ body: String) async throws -> HTTPResponse.Status { try await Self.event(client, body).status }
            #expect(try await status(#"{"id":"short","kind":"notice","vendor_list":"\#(list)"}"#) == .unprocessableContent)
            #expect(try await status(#"{"id":"\#(id)","kind":"sell","vendor_list":"\#(list)"}"#) == .unprocessableContent)
            #expect(
                try await status(#"{"id":"\#(id)","kind":"choice","vendors":{"evil-tracker":true},"vendor_list":"\#(list)"}"#)
                    == .unprocessableContent,
                "undeclared vendors are never recorded as allowed"
            )
            #expect(try await status(#"{"id":"\#(id)","kind":"choice","vendors":{},"vendor_list":"\#(list)"}"#) == .unprocessableContent)
            let stale = try await Self.event(client, #"{"id":"\#(id)","kind":"notice","vendor_list":"v0000"}"#)
            #expect(stale.status == .conflict && stale.text.contains(list))
            #expect(try await status("{not json") == .badRequest)
            #expect(try await status(#"{"id":"\#(id)","kind":"notice","vendor_list":"\#(list)","gpc":"yes"}"#) == .badRequest)
            #expect(try await status(#"{"id":"\#(id)","kind":"choice","vendors":{"a":"on"},"vendor_list":"\#(list)"}"#) == .badRequest)
            #expect(try await status(#"["id"]"#) == .badRequest)
            #expect(try await Self.event(client, "{}", type: "application/x-www-form-urlencoded").status == .unsupportedMediaType)
            #expect(
                try await status(#"{"id":"\#(id)","kind":"notice","vendor_list":"\#(list)","pad":""# + String(repeating: "x", count: 5_000) + #""}"#)
                    == .contentTooLarge
            )
            #expect(try await ledger.events(identifier: id).count == 2, "nothing refused was stored")
        }
    }

    // R-OPT-1, R-OPT-2, R-OPT-4: the switches work without JavaScript.
    @Test(
        "R-OPT-2: /preferences saves a choice under a new identifier, shows it again, honours GPC, and reset removes the identifier",
        arguments: TestDatabase.available
    )
    func preferences(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let cookieName = installation.policy.informativeData.cookieName
            let fresh = try await client.execute(uri: "/preferences", method: .get, headers: [HTTPField.Name("Sec-GPC")!: "1"])
            #expect(fresh.status == .ok && fresh.text.contains("GPC"))
            let advertising = try #require(installation.policy.vendors.first { $0.category == .advertising })
            let analytics = try #require(installation.policy.vendors.first { $0.category == .analytics })
            #expect(!fresh.text.contains("name=\"vendor_\(advertising.id)\" value=\"on\" checked"), "GPC turns advertising off")
            #expect(fresh.text.contains("name=\"vendor_\(analytics.id)\" value=\"on\" checked"), "notice mode: the rest is on")
            #expect(!(fresh.headers[.setCookie] ?? "").contains(cookieName + "="), "no identifier before a choice")

            let form = try await FormSession.open(client, "/preferences")
            let saved = try await form.post(client, ["vendor_\(analytics.id)": "on"], path: "/preferences")
            #expect(saved.status == .seeOther)
            let setCookie = try #require(saved.headers[.setCookie])
            #expect(
                setCookie.hasPrefix(cookieName + "=") && setCookie.contains("SameSite=Lax")
                    && setCookie.contains("Max-Age=\(installation.policy.informativeData.cookieLifetimeDays * 86_400)")
            )
            let identifier = String(setCookie.split(separator: ";")[0].dropFirst(cookieName.count + 1))
            #expect(ConsentEvent.isIdentifier(identifier))
            let choice = try #require(try await ConsentLedger(database: installation.database).events(identifier: identifier).last)
            #expect(choice.kind == .choice && choice.vendors[analytics.id] == true && choice.vendors[advertising.id] == false)

            let again = try await client.execute(uri: "/preferences", method: .get, headers: [.cookie: "\(cookieName)=\(identifier)"])
            #expect(again.text.contains("name=\"vendor_\(analytics.id)\" value=\"on\" checked"))
            #expect(!again.text.contains("name=\"vendor_\(advertising.id)\" value=\"on\" checked"))

            #expect(try await form.post(client, [:], path: "/preferences", token: "forged").status == .forbidden)
            let reset = try await client.execute(
                uri: "/preferences/reset",
                method: .post,
                headers: [.cookie: "\(form.cookie); \(cookieName)=\(identifier)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: formEncode(["_csrf": form.token]))
            )
            #expect(reset.status == .seeOther)
            #expect(reset.headers[.setCookie]?.hasPrefix("\(cookieName)=;") == true && reset.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await ConsentLedger(database: installation.database).events(identifier: identifier).last?.kind == .reset)
        }
    }
}

extension ConsentTests {
    // R-INF-1, R-INF-2: once linked, the identifier's events are the person's data.
    @Test(
        "R-INF-2: an inquiry from a browser links its identifier; the events are disclosed and erased with the person; a reset cuts the link",
        arguments: TestDatabase.available
    )
    func linking(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let cookieName = installation.policy.informativeData.cookieName
            let list = VendorList.version(of: installation.policy)
            let id = ConsentEvent.newIdentifier()
            let other = ConsentEvent.newIdentifier()
            for identifier in [id, other] {
                #expect(try await Self.event(client, #"{"id":"\#(identifier)","kind":"notice","vendor_list":"\#(list)"}"#).status == .noContent)
            }
            func inquiry(_ email: String, _ identifier: String) async throws {
                try await Self.inquiry(client, cookieName: cookieName, email: email, identifier: identifier, confirmingWith: installation)
            }
            // Before its sender confirms the inquiry, the browser is linked to nobody (anyone can type an address).
            try await Self.inquiry(client, cookieName: cookieName, email: "taro@example.jp", identifier: id)
            #expect(try await count("identifier_links", installation) == 0)
            try await inquiry("taro@example.jp", id)
            try await inquiry("hanako@example.jp", other)
            try await inquiry("jiro@example.jp", id)  // a shared browser: the identifier stays Taro's
            let rights = SubjectRights(vault: installation.vault)
            func subject(_ email: String) async throws -> String { try await installation.subjectID(email: email) }
            let taro = try await subject("taro@example.jp")
            let document = try #require(try await rights.disclosure(subjectID: taro, actor: "test", source: "test"))
            #expect(document.informativeData.map { $0["identifier"] } == [id])
            #expect(document.informativeData.first?["event"] == "notice")
            #expect(document.csv().contains("informative_data,1,identifier,\(id)"))
            let jiro = try #require(try await rights.disclosure(subjectID: try await subject("jiro@example.jp"), actor: "test", source: "test"))
            #expect(jiro.informativeData.isEmpty, "an identifier is never linked to a second person")

            // Hanako resets her cookies: the link is cut, her disclosure no longer carries the identifier's events.
            let hanako = try await subject("hanako@example.jp")
            #expect(try await Self.event(client, #"{"id":"\#(other)","kind":"reset","vendor_list":"\#(list)"}"#).status == .noContent)
            #expect(try #require(try await rights.disclosure(subjectID: hanako, actor: "test", source: "test")).informativeData.isEmpty)

            // Taro is erased: the events of his identifier go with him.
            try await rights.erase(subjectID: taro, actor: "test", source: "test")
            #expect(try await ConsentLedger(database: installation.database).events(identifier: id).isEmpty)
            #expect(try await ConsentLedger(database: installation.database).events(identifier: other).count == 2, "others' events stay")
        }
    }
}

extension ConsentTests {
    @Test("R-INF-1: a verified request from a browser links its identifier to the person; an unverified one links nothing")
    func linkingByRequest() async throws {
        try await withServer { installation, client in
            let cookieName = installation.policy.informativeData.cookieName
            let id = ConsentEvent.newIdentifier()
            #expect(
                try await Self.event(client, #"{"id":"\#(id)","kind":"notice","vendor_list":"\#(VendorList.version(of: installation.policy))"}"#)
                    .status == .noContent
            )
            _ = try await RequestHTTPTests.post(
                client,
                "/api/v1/inquiries",
                #"{"service":"agent","fields":{"name":"山田 太郎","email":"taro@example.jp","topic":"service","message":"相談"}}"#
            )
            _ = try await RequestHTTPTests.deliver(installation)
            let sent = try await client.execute(
                uri: "/api/v1/requests",
                method: .post,
                headers: [.contentType: "application/json", .cookie: "\(cookieName)=\(id)"],
                body: ByteBuffer(string: #"{"type":"disclosure","email":"taro@example.jp","name":"山田 太郎"}"#)
            )
            let number = try #require(try RequestHTTPTests.object(sent)["number"] as? String)
            let taro = try await installation.subjectID(email: "taro@example.jp")
            let rights = SubjectRights(vault: installation.vault)
            #expect(
                try await rights.disclosure(subjectID: taro, actor: "test", source: "test")?.informativeData.isEmpty == true,
                "nothing is linked before the code"
            )
            let mail = try #require(try await RequestHTTPTests.deliver(installation).first { $0.subject.contains(number) })
            #expect(
                try await RequestHTTPTests.post(client, "/api/v1/requests/\(number)/verify", #"{"code":"\#(try RequestHTTPTests.code(in: mail))"}"#)
                    .status == .ok
            )
            #expect(try await rights.disclosure(subjectID: taro, actor: "test", source: "test")?.informativeData.map { $0["identifier"] } == [id])
        }
    }
}
