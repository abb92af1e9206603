import Foundation
import Logging
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import SQLKit
import Testing

/// R-SEC-1, R-SEC-3: the master key is never silently replaced, never made twice, and mail that cannot be opened
/// holds back nothing else.
@Suite("Master key")
struct MasterKeyTests {
    @Test(
        "a missing key file beside stored data is refused with a bilingual error naming the file; a fresh installation gets one",
        arguments: TestDatabase.available
    )
    func missingKeyRefused(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        let keys = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        let configuration = testConfiguration(fresh.location, keys: keys)
        let first = try await Installation.prepare(configuration, logger: quietLogger)
        #expect(FileManager.default.fileExists(atPath: configuration.keyFile), "a fresh installation creates its key")
        guard
            case let .success(valid) = first.policy.validate(
                InquirySubmission(
                    serviceID: "agent",
                    values: ["name": "山田 太郎", "email": "taro@example.jp", "topic": "service", "message": "相談"],
                    consentToOptionalPurposes: false
                )
            )
        else {
            Issue.record("invalid submission")
            return
        }
        _ = try await first.vault.submit(valid, policy: first.policy) { _ in OutgoingMail(to: "taro@example.jp", subject: "s", body: "b") }
        await first.close()

        // The key file moved away: refused, nothing created.
        let moved = keys.appendingPathComponent("moved.key")
        try FileManager.default.moveItem(atPath: configuration.keyFile, toPath: moved.path)
        do {
            _ = try await Installation.prepare(configuration, logger: quietLogger)
            Issue.record("started without its key")
        } catch let error as KeyRingError {
            #expect(error.text.ja.contains(configuration.keyFile) && error.text.ja.contains("新しいマスター鍵は作りません"))
            #expect(error.text.en.contains(configuration.keyFile) && error.text.en.contains("no new master key is made"))
        }
        #expect(!FileManager.default.fileExists(atPath: configuration.keyFile), "no new key was made beside the data")

        // A data copy restored without its key store (an empty one) is refused the same way.
        let otherKeys = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: otherKeys) }
        do {
            _ = try await Installation.prepare(testConfiguration(fresh.location, keys: otherKeys), logger: quietLogger)
            Issue.record("started a data copy without its keys")
        } catch is KeyRingError {}

        // The right key back: it starts again.
        try FileManager.default.moveItem(atPath: moved.path, toPath: configuration.keyFile)
        let again = try await Installation.prepare(configuration, logger: quietLogger)
        await again.close()
        try await fresh.cleanUp()
    }

    @Test("several processes creating the key file at once end up with one key")
    func oneKeyAtOnce() async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys/master.key").path
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    try KeyRing.load(path: path, environmentKey: nil, createIfMissing: true, logger: Logger(label: "test")).current.id
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1, "every loader reads the same key")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("keys").path)
        #expect(left == ["master.key"], "no temporary files are left: \(left)")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test(
        "mail that can never be opened (another master key, damaged) is failed on its own; the rest of its batch is sent",
        arguments: TestDatabase.available
    )
    func unreadableMail(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            var receipts: [InquiryReceipt] = []
            for index in 0..<6 {
                guard case let .success(valid) = fixture.policy.validate(fixture.submission(email: "p\(index)@example.jp")) else { return }
                receipts.append(
                    try await fixture.vault.submit(valid, policy: fixture.policy) { _ in
                        OutgoingMail(to: valid.email, subject: "message \(index)", body: "b")
                    }
                )
            }
            // One person's key wrapped by a master key this ring does not hold; one message damaged.
            let unwrappable = receipts[0].subjectID
            let damaged = receipts[1].subjectID
            try await fixture.keyStore.transaction { db in
                try await db.update("subject_keys").set("master_key_id", to: "0000000000000000")
                    .where("subject_id", .equal, unwrappable).run()
            }
            let damagedID =
                try await fixture.data.read { db in
                    try await db.select().column("id").from("outbox").where("subject_id", .equal, damaged)
                        .first(decodingColumn: "id", as: String.self)
                } ?? ""
            try await fixture.data.transaction { db in
                try await db.update("outbox").set("sealed", to: Data([1, 2, 3])).where("id", .equal, damagedID).run()
            }
            let mailer = FlakyMailer(failures: 0)
            let worker = fixture.outboxWorker(mailer)
            #expect(try await worker.deliverDue() == OutboxWorker.Pass(sent: 4, failed: 2))
            #expect(Set(mailer.sent.map(\.subject)) == ["message 2", "message 3", "message 4", "message 5"])
            let statuses = try await fixture.data.read { db in
                try await db.select().column("status").from("outbox").all(decodingColumn: "status", as: String.self)
            }
            #expect(statuses.sorted() == ["failed", "failed", "sent", "sent", "sent", "sent"], "nothing is left in 'sending'")
        }
    }
}
