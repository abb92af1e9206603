import Foundation
import HTTPTypes
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import SQLKit
import Testing

@testable import MadoguchiCore

/// A real SMTP server for the tests: `scripts/smtp-sink.py` (aiosmtpd from PyPI), writing messages to a folder.
struct SMTPSink {
    let child: Child.Running
    let directory: URL
    let port: Int

    /// aiosmtpd is importable, or CI requires these tests (`MADOGUCHI_REQUIRE_SMTP=1`, set by .ci/run).
    static func available() async -> Bool {
        if ProcessInfo.processInfo.environment["MADOGUCHI_REQUIRE_SMTP"] == "1" { return true }
        let probe = try? await Child.run("/usr/bin/env", ["python3", "-c", "import aiosmtpd"])
        return probe?.exitCode == 0
    }

    static func start(_ extra: [String] = []) async throws -> SMTPSink {
        let directory = try Fixtures.temporaryDirectory()
        let script = Fixtures.repositoryRoot.appendingPathComponent("scripts/smtp-sink.py").path
        let child = try await Child.Running.start("/usr/bin/env", ["python3", script, directory.path, "0"] + extra)
        // "ready PORT": the sink picks a free port itself (a random one could be in use by another connection).
        let words = (child.firstLine ?? "").trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard words.first == "ready", let port = words.dropFirst().first.flatMap({ Int($0) }) else {
            _ = try? await child.stop()
            try? FileManager.default.removeItem(at: directory)
            throw TestDatabaseError("the SMTP sink did not start (pip install aiosmtpd)")
        }
        return SMTPSink(child: child, directory: directory, port: port)
    }

    /// Closes the sink's standard input, which ends it, and removes its folder.
    func stop() async {
        _ = try? await child.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func messages() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".eml") }.sorted()
            .map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }
    }
}

let smtpMessage = MailMessage(
    from: "privacy@mirai-career.example",
    to: "taro@example.jp",
    subject: "【ミライキャリア】お問い合わせを受け付けました (Q20261129-ABCDEF)",
    body: "山田様\n.先頭がドットの行\n",
    messageID: "smtp-test@mirai-career.example",
    date: Date()
)

// R-MAIL-1: delivery through a real SMTP server.
@Suite("SMTP transport", .serialized, .enabled { await SMTPSink.available() })
struct SMTPTests {
    @Test("a message reaches a real SMTP server intact")
    func plain() async throws {
        let sink = try await SMTPSink.start()
        let mailer = SMTPMailer(configuration: try SMTPConfiguration(url: "smtp://127.0.0.1:\(sink.port)?security=none"))
        try await mailer.send(smtpMessage)
        let received = try sink.messages()
        await sink.stop()
        #expect(received.count == 1)
        let text = try #require(received.first)
        #expect(text.contains("X-Envelope-From: privacy@mirai-career.example"))
        #expect(text.contains("X-Envelope-To: taro@example.jp"))
        let body = String(text.components(separatedBy: "\r\n\r\n")[1].filter { !$0.isNewline })
        #expect(String(decoding: Data(base64Encoded: body) ?? Data(), as: UTF8.self) == "山田様\r\n.先頭がドットの行\r\n")
    }

    @Test("#21: the envelope sender takes the bounces apart from the From header; EHLO gives the configured name; a hostile name is refused")
    func envelopeAndHelo() async throws {
        let sink = try await SMTPSink.start()
        var configuration = try SMTPConfiguration(url: "smtp://127.0.0.1:\(sink.port)?security=none")
        configuration.heloName = "inquiry.mirai-career.example"
        configuration.bounceAddress = "bounces@mirai-career.example"
        try await SMTPMailer(configuration: configuration).send(smtpMessage)
        let received = try sink.messages()
        await sink.stop()
        let text = try #require(received.first)
        #expect(text.contains("X-Envelope-From: bounces@mirai-career.example"), "\(text)")
        #expect(text.contains("X-Helo: inquiry.mirai-career.example"))
        #expect(text.contains("From: privacy@mirai-career.example"), "the reader still sees the privacy desk")
        for bad in ["", "a b", "host\r\nRSET", "-lead.example", "x..y", String(repeating: "a", count: 64) + ".example"] {
            #expect(!SMTPConfiguration.isValidHeloName(bad), "\(bad)")
        }
        #expect(SMTPConfiguration.isValidHeloName("mail-1.mirai-career.example"))
    }

    @Test("STARTTLS with AUTH PLAIN, and AUTH LOGIN where only it is offered; a wrong password is refused and nothing is delivered")
    func startTLSAndAuth() async throws {
        let keys = try Fixtures.temporaryDirectory()
        let cert = keys.appendingPathComponent("cert.pem").path
        let key = keys.appendingPathComponent("key.pem").path
        let openssl = try await Child.run(
            "/usr/bin/env",
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                "-subj", "/CN=localhost",
            ]
        )
        try #require(openssl.exitCode == 0, "openssl could not make a test certificate: \(openssl.stderr)")
        let sink = try await SMTPSink.start(["--starttls", cert, key, "--user", "relay", "--password", "s3cret pass"])
        var good = try SMTPConfiguration(url: "smtp://relay:s3cret%20pass@127.0.0.1:\(sink.port)?security=starttls")
        good.verifyCertificate = false
        try await SMTPMailer(configuration: good).send(smtpMessage)
        var bad = good
        bad.password = "wrong"
        // aiosmtpd answers a failed login slowly (it stalls, then hangs up), so the client's own deadline ends it.
        var impatient = SMTPMailer(configuration: bad)
        impatient.timeout = .seconds(3)
        await #expect(throws: SMTPError.self) { try await impatient.send(smtpMessage) }
        var noTLS = try SMTPConfiguration(url: "smtp://127.0.0.1:\(sink.port)?security=none")
        noTLS.verifyCertificate = false
        do {
            try await SMTPMailer(configuration: noTLS).send(smtpMessage)
            Issue.record("a server that requires STARTTLS must refuse plain mail")
        } catch let error as SMTPError {
            #expect(error.step == "MAIL FROM" && error.code == 530, "\(error)")
        }
        let received = try sink.messages()
        await sink.stop()
        // A server that offers only AUTH LOGIN (some relays still do).
        let loginOnly = try await SMTPSink.start(["--starttls", cert, key, "--user", "relay", "--password", "s3cret pass", "--login-only"])
        var login = try SMTPConfiguration(url: "smtp://relay:s3cret%20pass@127.0.0.1:\(loginOnly.port)?security=starttls")
        login.verifyCertificate = false
        try await SMTPMailer(configuration: login).send(smtpMessage)
        let viaLogin = try loginOnly.messages()
        await loginOnly.stop()
        try? FileManager.default.removeItem(at: keys)
        #expect(received.count == 1)
        #expect(received.first?.contains("X-Authenticated: True") == true)
        #expect(viaLogin.count == 1)
        #expect(viaLogin.first?.contains("X-Authenticated: True") == true)
    }

    @Test("the AUTH mechanism follows the server's EHLO: PLAIN first, LOGIN when only it is offered")
    func mechanismChoice() {
        #expect(SMTPMailer.authMechanism(["mail.example", "AUTH LOGIN PLAIN", "STARTTLS"]) == .plain)
        #expect(SMTPMailer.authMechanism(["mail.example", "AUTH LOGIN"]) == .login)
        #expect(SMTPMailer.authMechanism(["mail.example", "AUTH=LOGIN"]) == .login, "the old AUTH= form")
        #expect(SMTPMailer.authMechanism(["mail.example", "AUTH CRAM-MD5"]) == nil)
        #expect(SMTPMailer.authMechanism(["mail.example", "8BITMIME"]) == .plain, "no AUTH line: try PLAIN")
    }
}

extension SMTPTests {
    @Test("R-CON-1: an inquiry's confirmation travels from the outbox through SMTP to the person", arguments: TestDatabase.available)
    func outboxThroughSMTP(_ kind: TestDatabase) async throws {
        let sink = try await SMTPSink.start()
        try await withServer(kind) { installation, client in
            let number = try await submitInquiry(client, email: "hanako@example.jp")
            let worker = OutboxWorker(
                database: installation.database,
                keys: installation.vault.keys,
                mailer: SMTPMailer(configuration: try SMTPConfiguration(url: "smtp://127.0.0.1:\(sink.port)?security=none")),
                from: installation.policy.requests.email,
                messageDomain: "mirai-career.example",
                logger: quietLogger
            )
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(sent: 1))
            let received = try sink.messages()
            #expect(received.count == 1)
            #expect(received.first?.contains("X-Envelope-To: hanako@example.jp") == true)
            let body = String(received.first?.components(separatedBy: "\r\n\r\n")[1].filter { !$0.isNewline } ?? "")
            #expect(String(decoding: Data(base64Encoded: body) ?? Data(), as: UTF8.self).contains(number))
        }
        await sink.stop()
    }
}

extension SMTPTests {
    @Test(
        "R-MAIL-1: campaign mail reaches a real SMTP server with its one-click headers; a person who unsubscribes mid-send receives nothing after",
        arguments: TestDatabase.available
    )
    func campaignThroughSMTP(_ kind: TestDatabase) async throws {
        let sink = try await SMTPSink.start()
        try await withServer(kind) { installation, client in
            let addresses = ["a@example.jp", "b@example.jp", "c@example.jp"]
            for address in addresses {
                let session = try await FormSession.open(client)
                #expect(try await session.post(client, goodFields.merging(["email": address, "consent": "yes"]) { $1 }).status == .seeOther)
            }
            for mail in try await RequestHTTPTests.deliver(installation) { #expect(try await confirmInquiry(client, mail: mail) == .ok) }
            let desk = CampaignDesk(guardian: installation.guardian)
            let campaign = try await desk.create(
                kind: .magazine,
                purposeID: "marketing",
                services: ["agent"],
                subject: "冬のご案内",
                body: "新しい求人のご案内です。",
                by: "staff:test",
                policy: installation.policy
            )
            #expect(try await desk.start(id: campaign.id, by: "staff:test") == 3)
            let worker = OutboxWorker(
                database: installation.database,
                keys: installation.vault.keys,
                mailer: SMTPMailer(configuration: try SMTPConfiguration(url: "smtp://127.0.0.1:\(sink.port)?security=none")),
                from: installation.policy.requests.email,
                messageDomain: "mirai-career.example",
                logger: quietLogger
            )
            func envelopes() throws -> [String] {
                try sink.messages().compactMap { message in
                    message.components(separatedBy: "\r\n").first { $0.hasPrefix("X-Envelope-To: ") }.map {
                        String($0.dropFirst("X-Envelope-To: ".count))
                    }
                }
            }

            // The first message goes out through SMTP.
            #expect(try await installation.deliverCampaigns(limit: 1))
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(sent: 1))
            let first = try #require(try sink.messages().first)
            #expect(first.contains("List-Unsubscribe: <http://127.0.0.1:8080/unsubscribe/\(campaign.id)."))
            #expect(first.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
            let sentTo = try envelopes()
            #expect(sentTo.count == 1)

            // Someone still waiting clicks their one-click link (as a mail client would: POST, no session, no token).
            let waiting = try await installation.database.read { db in
                try await db.select().column("subject_id").from("campaign_recipients").where("status", .equal, "queued")
                    .orderBy("subject_id").first(decodingColumn: "subject_id", as: String.self)
            }
            let subjectID = try #require(waiting)
            let token = CampaignDesk.unsubscribeToken(campaignID: campaign.id, subjectID: subjectID, key: installation.ring.unsubscribeKey)
            let stopped = try await client.execute(
                uri: "/unsubscribe/\(token)",
                method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "List-Unsubscribe=One-Click")
            )
            #expect(stopped.status == .ok)

            // The rest goes out; the person who stopped it gets nothing.
            #expect(try await installation.deliverCampaigns(limit: 10) == false)
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(sent: 1))
            let all = try envelopes()
            #expect(all.count == 2 && Set(all).count == 2 && Set(all).isSubset(of: Set(addresses)))
            #expect(try await desk.progress(id: campaign.id) == CampaignProgress(queued: 0, sent: 2, skipped: 1))
        }
        await sink.stop()
    }
}

@Suite("SMTP settings")
struct SMTPSettingsTests {
    @Test("SMTP URLs: defaults, and no password without TLS")
    func urls() throws {
        let starttls = try SMTPConfiguration(url: "smtp://user:p%40ss@mail.example.jp")
        #expect(starttls.port == 587 && starttls.security == .startTLS && starttls.password == "p@ss")
        #expect(!starttls.description.contains("p@ss"))
        let implicit = try SMTPConfiguration(url: "smtps://mail.example.jp")
        #expect(implicit.port == 465 && implicit.security == .implicitTLS)
        #expect(throws: MailConfigurationError.self) { try SMTPConfiguration(url: "smtp://user:pw@mail.example.jp?security=none") }
        #expect(throws: MailConfigurationError.self) { try SMTPConfiguration(url: "http://mail.example.jp") }
        #expect(throws: MailConfigurationError.self) { try SMTPConfiguration(url: "smtp://mail.example.jp?tls=yes") }
    }

    @Test("dot-stuffing doubles leading dots only")
    func dotStuffing() {
        #expect(SMTPMailer.dotStuffed("a\r\n.b\r\n..c\r\nd.\r\n") == "a\r\n..b\r\n...c\r\nd.\r\n")
    }
}
