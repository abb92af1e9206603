import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import Testing

@Suite("Requests over HTTP")
struct RequestHTTPTests {
    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: String, type: String = "application/json") async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: type], body: ByteBuffer(string: body))
    }

    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any])
    }

    /// Delivers the queued mail and returns what was sent.
    static func deliver(_ installation: Installation) async throws -> [MailMessage] {
        let mailer = FlakyMailer(failures: 0)
        let worker = OutboxWorker(database: installation.database, keys: installation.vault.keys, mailer: mailer,
                                  from: installation.policy.requests.email, messageDomain: "example", logger: Logger(label: "test"))
        try await worker.deliverDue()
        return mailer.sent
    }

    static func code(in mail: MailMessage) throws -> String {
        let line = try #require(mail.body.split(separator: "\n").first { $0.hasPrefix("確認コード: ") })
        return String(line.dropFirst("確認コード: ".count))
    }

    // R-DSR-1, R-DSR-2, R-CON-1: intake, code by mail, verification, confirmation naming the officer and contact.
    @Test("R-DSR-2: the same 202 for a known and an unknown address; the mailed code opens the request once; the confirmation names the officer",
          arguments: TestDatabase.available)
    func intakeAndVerify(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let inquiry = try await Self.post(client, "/api/v1/inquiries",
                #"{"service":"agent","fields":{"name":"山田 太郎","email":"taro@example.jp","topic":"service","message":"相談"}}"#)
            #expect(inquiry.status == .created)
            _ = try await Self.deliver(installation)

            let known = try await Self.post(client, "/api/v1/requests", #"{"type":"disclosure","email":"taro@example.jp","name":"山田 太郎","delivery":"csv"}"#)
            let unknown = try await Self.post(client, "/api/v1/requests", #"{"type":"disclosure","email":"nobody@example.jp","name":"誰か","delivery":"csv"}"#)
            #expect(known.status == .accepted && unknown.status == .accepted)
            var first = try Self.object(known), second = try Self.object(unknown)
            let number = try #require(first["number"] as? String)
            #expect(number.hasPrefix("R") && number != second["number"] as? String)
            for key in ["number", "verify"] { first[key] = nil; second[key] = nil }
            #expect(NSDictionary(dictionary: first).isEqual(to: second), "nothing tells a known address from an unknown one")
            #expect(!known.text.contains("taro"), "the response echoes no personal data")

            let mails = try await Self.deliver(installation)
            let mail = try #require(mails.first { $0.subject.contains(number) })
            #expect(mail.to == "taro@example.jp")
            #expect(mail.body.contains(installation.policy.officer.email) && mail.body.contains(installation.policy.requests.email))
            let code = try Self.code(in: mail)
            let verify = "/api/v1/requests/\(number)/verify"
            let wrong = try await Self.post(client, verify, #"{"code":"\#(code == "000000" ? "111111" : "000000")"}"#)
            #expect(wrong.status == .unprocessableContent)
            #expect(try Self.object(wrong)["attempts_left"] as? Int == 4)
            let right = try await Self.post(client, verify, #"{"code":"\#(code)"}"#)
            #expect(right.status == .ok)
            let opened = try Self.object(right)
            #expect(opened["status"] as? String == "open")
            let due = try #require(LocalDate(iso: opened["due"] as? String ?? ""))
            #expect(try installation.policy.requests.calendar.due(received: LocalDate(japanAt: Date()), businessDays: 3) == due)
            #expect(try await Self.post(client, verify, #"{"code":"\#(code)"}"#).status == .gone, "a code works once")

            let received = try #require(try await Self.deliver(installation).first { $0.subject.contains("受け付けました") })
            #expect(received.to == "taro@example.jp")
            #expect(received.body.contains(due.japanese) && received.body.contains(due.english))
            #expect(received.body.contains("開示") && received.body.contains(installation.policy.officer.email))
            #expect(try await RequestDesk(vault: installation.vault).queue().map(\.number) == [number])
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
            let huge = try await post(#"{"type":"correction","email":"a@b.jp","name":"A","details":""# + String(repeating: "x", count: 70_000) + #""}"#)
            #expect(huge.status == .contentTooLarge)

            #expect(try await Self.post(client, "/api/v1/requests/../../etc/verify", #"{"code":"123456"}"#).status == .notFound)
            #expect(try await Self.post(client, "/api/v1/requests/R20261129-XXXXXX/verify", #"{"code":"123456"}"#).status == .gone)
            #expect(try await Self.post(client, "/api/v1/requests/R20261129-XXXXXX/verify", #"{"code":"12ab"}"#).status == .badRequest)
            #expect(try await Self.post(client, "/api/v1/requests/R20261129-XXXXXX/verify", #"{"kode":"123456"}"#).status == .badRequest)

            // One mailbox gets at most five codes an hour, whichever clients ask.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<6 {
                statuses.append(try await post(#"{"type":"erasure","email":"flood@example.jp","name":"A"}"#).status)
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == .accepted })
            #expect(statuses.last == .tooManyRequests)
            #expect(try await RequestDesk(vault: installation.vault).queue(statuses: RequestStatus.allCases).count == 5)
        }
    }
}
