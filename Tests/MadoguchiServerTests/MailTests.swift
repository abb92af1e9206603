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

/// A transport that fails a set number of times, then records what it sends.
final class FlakyMailer: Mailer, @unchecked Sendable {
    private let lock = NSLock()
    private var failuresLeft: Int
    private(set) var sent: [MailMessage] = []

    init(failures: Int) { failuresLeft = failures }

    func send(_ message: MailMessage) async throws {
        struct Down: Error {}
        try lock.withLock {
            if failuresLeft > 0 {
                failuresLeft -= 1
                throw Down()
            }
            sent.append(message)
        }
    }
}

@Suite("Mail")
struct MailTests {
    // R-MAIL-1 (safe rendering and the transactional outbox)
    @Test("messages render as RFC 5322 with encoded headers; header injection is refused")
    func rendering() throws {
        let message = MailMessage(
            from: "privacy@mirai-career.example",
            to: "taro@example.jp",
            subject: "【ミライキャリア】お問い合わせを受け付けました / We have received your inquiry (Q20261129-ABCDEF)",
            body: "一行目\n.二行目\n",
            messageID: "abc@mirai-career.example",
            date: Date(timeIntervalSince1970: 0)
        )
        let text = try message.rendered()
        #expect(text.contains("\r\nSubject: =?UTF-8?B?"))
        #expect(text.contains("Date: Thu, 01 Jan 1970 09:00:00 +0900\r\n"))
        #expect(text.contains("Content-Type: text/plain; charset=UTF-8\r\n"))
        #expect(!text.contains("一行目"), "the body is base64")
        #expect(text.split(separator: "\r\n").allSatisfy { $0.count <= 78 })
        let body = String(text.components(separatedBy: "\r\n\r\n")[1].filter { !$0.isNewline })
        #expect(String(decoding: Data(base64Encoded: body)!, as: UTF8.self) == "一行目\r\n.二行目\r\n")
        for bad in ["taro@example.jp\r\nBcc: evil@example.jp", "taro@example.jp\nX: y", "<taro@example.jp>", ""] {
            var injected = message
            injected.to = bad
            #expect(throws: MailError.self) { try injected.rendered() }
        }
    }

    @Test("dates are in Japan time; every line end of the body becomes CRLF; long subjects split between characters")
    func renderingDetails() throws {
        let newYear = try Date("2026-12-31T15:00:00Z", strategy: .iso8601)
        let message = MailMessage(
            from: "privacy@mirai-career.example",
            to: "taro@example.jp",
            subject: String(repeating: "お問い合わせ", count: 12),
            body: "a\r\nb\nc\rd\n\ne",
            messageID: "x@example",
            date: newYear
        )
        let text = try message.rendered()
        #expect(text.contains("Date: Fri, 01 Jan 2027 00:00:00 +0900\r\n"))
        let body = String(text.components(separatedBy: "\r\n\r\n")[1].filter { !$0.isNewline })
        #expect(String(decoding: Data(base64Encoded: body)!, as: UTF8.self) == "a\r\nb\r\nc\r\nd\r\n\r\ne")
        let header = text.components(separatedBy: "\r\n\r\n")[0]
        let words = header.components(separatedBy: "Subject: ")[1].components(separatedBy: "\r\nMessage-ID")[0]
            .components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        let decoded = words.map { word -> String in
            let payload = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            return String(decoding: Data(base64Encoded: String(payload))!, as: UTF8.self)
        }
        #expect(decoded.joined() == String(repeating: "お問い合わせ", count: 12), "every word decodes on its own")
        var tabbed = message
        tabbed.subject = "Tab\there"
        #expect(try tabbed.rendered().contains("Subject: =?UTF-8?B?"), "control characters are encoded, not passed through")
    }

    @Test(
        "R-CON-1: the confirmation mail reaches the outbox once, names the officer and the contact, and is audited",
        arguments: TestDatabase.available
    )
    func confirmationDelivered(_ kind: TestDatabase) async throws {
        let outbox = try Fixtures.temporaryDirectory()
        try await withServer(kind) { installation, client in
            let session = try await FormSession.open(client)
            let response = try await session.post(client, goodFields)
            let number = String(try #require(response.headers[.location]).suffix(16))
            let worker = OutboxWorker(
                database: installation.database,
                keys: installation.vault.keys,
                mailer: try FileOutboxMailer(directory: outbox),
                from: "privacy@mirai-career.example",
                messageDomain: "mirai-career.example",
                logger: quietLogger
            )
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(sent: 1))
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(), "nothing is sent twice")
            let files = try FileManager.default.contentsOfDirectory(atPath: outbox.path)
            #expect(files.count == 1)
            let text = try String(contentsOf: outbox.appendingPathComponent(files[0]), encoding: .utf8)
            #expect(text.contains("To: taro@example.jp\r\n"))
            let body = String(
                decoding: Data(base64Encoded: String(text.components(separatedBy: "\r\n\r\n")[1].filter { !$0.isNewline }))!,
                as: UTF8.self
            )
            #expect(body.contains(number))
            #expect(body.contains(installation.policy.officer.email))
            #expect(body.contains(installation.policy.requests.email))
            #expect(body.contains("個人情報保護管理者"))
            #expect(body.contains("Privacy officer"))
            let actions = try await AuditLog.entries(in: installation.database).map(\.event.action)
            #expect(actions == ["inquiry.create", "mail.sent"])
        }
        try? FileManager.default.removeItem(at: outbox)
    }

    @Test("an outage loses nothing: failed sends are retried later, then delivered once", arguments: TestDatabase.available)
    func retries(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            guard case let .success(valid) = fixture.policy.validate(fixture.submission()) else { return }
            _ = try await fixture.vault.submit(valid, policy: fixture.policy) { number in
                OutgoingMail(to: valid.email, subject: "Receipt \(number)", body: "Thank you")
            }
            let mailer = FlakyMailer(failures: 2)
            let worker = fixture.outboxWorker(mailer)
            let start = Date()
            #expect(try await worker.deliverDue(now: start) == OutboxWorker.Pass(retried: 1))
            #expect(try await worker.deliverDue(now: start.addingTimeInterval(30)) == OutboxWorker.Pass(), "not due yet")
            #expect(try await worker.deliverDue(now: start.addingTimeInterval(61)) == OutboxWorker.Pass(retried: 1))
            #expect(try await worker.deliverDue(now: start.addingTimeInterval(61 + 121)) == OutboxWorker.Pass(sent: 1))
            #expect(try await worker.deliverDue(now: start.addingTimeInterval(10_000)) == OutboxWorker.Pass())
            #expect(mailer.sent.count == 1)
            #expect(mailer.sent.first?.to == "taro@example.jp")
        }
    }

    @Test("a backlog larger than one pass is sent without waiting for the pass interval", arguments: TestDatabase.available)
    func backlog(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            guard case let .success(valid) = fixture.policy.validate(fixture.submission()) else { return }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<25 {
                    group.addTask {
                        _ = try await fixture.vault.submit(valid, policy: fixture.policy) { number in
                            OutgoingMail(to: valid.email, subject: "Receipt \(number) \(index)", body: "Thank you")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let mailer = FlakyMailer(failures: 0)
            let worker = fixture.outboxWorker(mailer)
            // Passes of 10 with an hour between passes that come back short: 25 messages need three passes in a row.
            let delivery = Task { await worker.run(every: .seconds(3_600), batch: 10) }
            for _ in 0..<600 where mailer.sent.count < 25 {
                try await Task.sleep(for: .milliseconds(50))
            }
            delivery.cancel()
            await delivery.value
            #expect(mailer.sent.count == 25)
            #expect(Set(mailer.sent.map(\.subject)).count == 25, "each message once")
        }
    }

    @Test(
        "R-OPS-1: a message the server refuses for good (5xx to its recipient) is failed at once, alone; an outage or a refused login is retried",
        arguments: TestDatabase.available
    )
    func refusedForGood(_ kind: TestDatabase) async throws {
        /// Refuses one recipient with 550, and everything with 535 (a login refused) while `loginRefused`.
        final class RefusingMailer: Mailer, @unchecked Sendable {
            private let lock = NSLock()
            private(set) var sent: [String] = []
            var loginRefused = false
            func send(_ message: MailMessage) async throws {
                try lock.withLock {
                    if loginRefused { throw SMTPError(step: "AUTH PLAIN", code: 535) }
                    if message.to == "nobody@example.jp" { throw SMTPError(step: "RCPT TO", code: 550) }
                    sent.append(message.to)
                }
            }
        }
        try await VaultFixture.with(kind) { fixture in
            for address in ["taro@example.jp", "nobody@example.jp", "hanako@example.jp"] {
                guard case let .success(valid) = fixture.policy.validate(fixture.submission(email: address)) else { return }
                _ = try await fixture.vault.submit(valid, policy: fixture.policy) { _ in OutgoingMail(to: valid.email, subject: "s", body: "b") }
            }
            let mailer = RefusingMailer()
            let worker = fixture.outboxWorker(mailer)
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(sent: 2, failed: 1))
            #expect(Set(mailer.sent) == ["taro@example.jp", "hanako@example.jp"])
            // A refused login is the configuration's, not a message's: retried, never failed at once.
            guard case let .success(next) = fixture.policy.validate(fixture.submission(email: "jiro@example.jp")) else { return }
            _ = try await fixture.vault.submit(next, policy: fixture.policy) { _ in OutgoingMail(to: next.email, subject: "s", body: "b") }
            mailer.loginRefused = true
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(retried: 1))
            #expect(SMTPError(step: "message", code: 554).refusesMessageForGood && !SMTPError(step: "RCPT TO", code: 450).refusesMessageForGood)
        }
    }

    @Test(
        "#21: failed mail is listed without its content, put back in the queue once (audited) and then sent; what is not a failed message is named",
        arguments: TestDatabase.available
    )
    func failedMailRetried(_ kind: TestDatabase) async throws {
        final class ToggleMailer: Mailer, @unchecked Sendable {
            private let lock = NSLock()
            private(set) var sent: [String] = []
            var refusing = true
            func send(_ message: MailMessage) async throws {
                try lock.withLock {
                    if refusing { throw SMTPError(step: "RCPT TO", code: 550) }
                    sent.append(message.to)
                }
            }
        }
        try await VaultFixture.with(kind) { fixture in
            guard case let .success(valid) = fixture.policy.validate(fixture.submission(email: "taro@example.jp")) else { return }
            _ = try await fixture.vault.submit(valid, policy: fixture.policy) { _ in OutgoingMail(to: valid.email, subject: "s", body: "b") }
            let mailer = ToggleMailer()
            let worker = fixture.outboxWorker(mailer)
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(failed: 1))
            let desk = FailedMail(database: fixture.data)
            let failed = try await desk.list()
            #expect(failed.count == 1 && failed[0].kind == "inquiry-confirmation" && failed[0].attempts == 0)
            let id = try #require(failed.first?.id)
            let outcome = try await desk.retry([id, id, "no-such-message"], actor: "cli")
            #expect(outcome == FailedMail.Requeued(requeued: [id], notFailed: ["no-such-message"]))
            #expect(try await desk.list().isEmpty)
            // Once back in the queue it is not a failed message: a second retry moves nothing.
            #expect(try await desk.retry([id], actor: "cli") == FailedMail.Requeued(requeued: [], notFailed: [id]))
            #expect(try await AuditLog.entries(in: fixture.data).filter { $0.event.action == "mail.requeue" }.map(\.event.record) == ["outbox:\(id)"])
            mailer.refusing = false
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(sent: 1))
            #expect(mailer.sent == ["taro@example.jp"])
            #expect(try await desk.retry([id], actor: "cli").requeued.isEmpty, "sent mail is never sent again")
        }
    }

    @Test("mail for a person whose key is gone is discarded, not sent", arguments: TestDatabase.available)
    func erasedRecipient(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            guard case let .success(valid) = fixture.policy.validate(fixture.submission()) else { return }
            let receipt = try await fixture.vault.submit(valid, policy: fixture.policy) { _ in
                OutgoingMail(to: valid.email, subject: "s", body: "b")
            }
            try await fixture.keyStore.transaction { db in
                try await db.delete(from: "subject_keys").where("subject_id", .equal, receipt.subjectID).run()
            }
            let mailer = FlakyMailer(failures: 0)
            let worker = fixture.outboxWorker(mailer)
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(discarded: 1))
            #expect(mailer.sent.isEmpty)
        }
    }
}
