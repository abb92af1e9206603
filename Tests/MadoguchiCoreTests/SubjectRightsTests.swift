import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Suspension and erasure")
struct SubjectRightsTests {
    // R-PUR-2, R-DSR-1: a suspended purpose can no longer be used, by anyone.
    @Test(
        "R-PUR-2: a suspended purpose is refused at once (one purpose, or all), audited; resuming allows it again",
        arguments: TestDatabase.available
    )
    func suspension(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let rights = SubjectRights(vault: fixture.vault)
            let taro = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            let hanako = try await fixture.submit(fixture.submission(email: "hanako@example.jp"))
            _ = try #require(try await fixture.guardian.inquiry(id: taro.id, purpose: "match-history", actor: "staff:1"))

            try await rights.suspend(subjectID: taro.subjectID, purpose: "match-history", actor: "person", source: "request:R1")
            await #expect(throws: PurposeRefused(purpose: "match-history", reason: .suspended, record: "inquiry:\(taro.id)")) {
                _ = try await fixture.guardian.inquiry(id: taro.id, purpose: "match-history", actor: "staff:1")
            }
            _ = try #require(
                try await fixture.guardian.inquiry(id: taro.id, purpose: "answer-inquiries", actor: "staff:1"),
                "other purposes still work"
            )
            _ = try #require(
                try await fixture.guardian.inquiry(id: hanako.id, purpose: "match-history", actor: "staff:1"),
                "other people are not affected"
            )

            try await rights.suspend(subjectID: taro.subjectID, purpose: SubjectRights.allPurposes, actor: "person", source: "request:R2")
            await #expect(throws: PurposeRefused(purpose: "answer-inquiries", reason: .suspended, record: "inquiry:\(taro.id)")) {
                _ = try await fixture.guardian.inquiry(id: taro.id, purpose: "answer-inquiries", actor: "staff:1")
            }
            #expect(try await rights.suspendedPurposes(subjectID: taro.subjectID) == ["match-history", "*"])
            try await rights.resume(subjectID: taro.subjectID, purpose: SubjectRights.allPurposes, actor: "person")
            try await rights.resume(subjectID: taro.subjectID, purpose: "match-history", actor: "person")
            _ = try #require(try await fixture.guardian.inquiry(id: taro.id, purpose: "match-history", actor: "staff:1"))

            let actions = try await AuditLog.entries(in: fixture.data).map(\.event.action)
            #expect(actions.filter { $0 == "purpose.refused" }.count == 2)
            #expect(actions.contains("purpose.suspend") && actions.contains("purpose.resume"))
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: actions.count))
        }
    }

    // R-DSR-5: erasure destroys the key; a copy of the data taken before can no longer be read for that person.
    @Test("R-DSR-5: after erasure a copy of the database taken before it cannot be decrypted for that person; others still can")
    func erasureReachesCopies() async throws {
        try await VaultFixture.with(.sqlite) { fixture in
            let rights = SubjectRights(vault: fixture.vault)
            let taro = try await fixture.submit(fixture.submission(email: "taro@example.jp", consent: true))
            _ = try await fixture.submit(fixture.submission(service: "executive", email: "taro@example.jp"))
            let hanako = try await fixture.submit(fixture.submission(email: "hanako@example.jp", name: "佐藤 花子"))
            try await fixture.data.checkpoint()
            guard case let .sqlite(path) = fixture.dataLocation else {
                Issue.record("SQLite fixture expected")
                return
            }
            let backup = path + ".backup"
            try FileManager.default.copyItem(atPath: path, toPath: backup)

            let erasure = try await rights.erase(subjectID: taro.subjectID, actor: "staff:1", source: "request:R3")
            #expect(erasure.logTruncated && erasure.inquiries == 2, "the checkpoint's result is checked: the key store's log was truncated")
            #expect(
                try await AuditLog.entries(in: fixture.data).contains {
                    $0.event.action == "subject.erase" && $0.event.detail.contains("log-truncated=true")
                }
            )
            #expect(try await rights.erasedAt(subjectID: taro.subjectID) != nil)
            #expect(try await fixture.vault.keys.key(subjectID: taro.subjectID) == nil)

            // The copy still holds Taro's sealed fields, but nothing opens them any more; Hanako's still open.
            let copy = try await Database.open(.sqlite(path: backup), logger: .init(label: "test"))
            let sealed = { (inquiryID: String) in
                try await copy.read { db in
                    try await db.select().column("sealed").from("inquiry_fields").where("inquiry_id", .equal, inquiryID)
                        .where("field_id", .equal, "name").first(decodingColumn: "sealed", as: Data.self)
                }
            }
            let taroSealed = try #require(try await sealed(taro.id))
            #expect(try await fixture.vault.keys.key(subjectID: taro.subjectID) == nil)
            let hanakoKey = try #require(try await fixture.vault.keys.key(subjectID: hanako.subjectID))
            #expect(
                try SealedField.open(
                    try #require(try await sealed(hanako.id)),
                    key: hanakoKey,
                    context: "inquiry/\(hanako.id)/name",
                    for: .personalAccess
                ) == "佐藤 花子"
            )
            // Not even Hanako's key (or any other) opens Taro's fields.
            #expect(throws: (any Error).self) {
                try SealedField.open(taroSealed, key: hanakoKey, context: "inquiry/\(taro.id)/name", for: .personalAccess)
            }
            await copy.close()
            try? FileManager.default.removeItem(atPath: backup)

            // The key store keeps no trace of the key: not in the file, not in its write-ahead log.
            guard case let .sqlite(keyPath) = fixture.keyStoreLocation else { return }
            for file in [keyPath, keyPath + "-wal"] where FileManager.default.fileExists(atPath: file) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(bytes.range(of: Data(taro.subjectID.utf8)) == nil, "\(file) still names the erased person's key")
            }
        }
    }

    @Test(
        "R-DSR-5: erasure removes the person's rows, keeps the audit chain and an erasure record, and can be re-run; the address starts afresh",
        arguments: TestDatabase.available
    )
    func erasureRows(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let rights = SubjectRights(vault: fixture.vault)
            let taro = try await fixture.submit(fixture.submission(email: "taro@example.jp", consent: true))
            let hanako = try await fixture.submit(fixture.submission(email: "hanako@example.jp"))
            try await rights.suspend(subjectID: taro.subjectID, purpose: "marketing", actor: "person", source: "form")
            try await rights.erase(subjectID: taro.subjectID, actor: "staff:1", source: "request:R4")
            try await rights.erase(subjectID: taro.subjectID, actor: "staff:1", source: "request:R4")

            func count(_ table: String, _ value: String, column: String = "subject_id") async throws -> Int {
                try await fixture.data.read { db in
                    try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(table)
                        .where(SQLIdentifier(column), .equal, SQLBind(value)).first(decodingColumn: "n", as: Int.self) ?? 0
                }
            }
            for table in ["inquiries", "consents", "suspensions", "outbox"] {
                #expect(try await count(table, taro.subjectID) == 0, "\(table)")
            }
            #expect(try await count("inquiry_fields", taro.id, column: "inquiry_id") == 0)
            #expect(try await count("subjects", taro.subjectID, column: "id") == 0)
            #expect(try await count("inquiries", hanako.subjectID) == 1, "others keep their data")
            #expect(try await count("erasures", taro.subjectID) == 1)
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: try await AuditLog.entries(in: fixture.data).count))
            #expect(
                try await AuditLog.entries(in: fixture.data).contains { $0.event.action == "subject.erase" && $0.event.subjectID == taro.subjectID }
            )
            #expect(try await fixture.guardian.inquiry(id: taro.id, purpose: "answer-inquiries", actor: "staff:1") == nil)
            // The same address later is a new person with a new key.
            let again = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            #expect(again.subjectID != taro.subjectID)
            #expect(!again.linkedToEarlier)
            #expect(ErasureRetention.kept.count == ErasurePlan.kept.count)
        }
    }

    @Test(
        "R-DSR-5: erasure reaches the person's requests (personal fields destroyed with their keys, the record kept), code mail and every queued mail; an erasure request closes in the same commit",
        arguments: TestDatabase.available
    )
    func erasureReachesRequests(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let taro = try await fixture.submit(fixture.submission(email: "taro@example.jp", name: "山田 太郎"))
            let hanako = try await fixture.submit(fixture.submission(email: "hanako@example.jp", name: "佐藤 花子"))
            let desk = RightsRequestDesk(vault: fixture.vault)
            func request(_ type: String, _ email: String, _ name: String) async throws -> RightsRequestReceipt {
                guard
                    case let .success(valid) = RightsRequestForm.validate(
                        RightsRequestSubmission(
                            type: type,
                            email: email,
                            name: name,
                            phone: "03-1234-5678",
                            details: type == "correction" ? "氏名の訂正" : nil
                        ),
                        policy: fixture.policy
                    )
                else { throw TestDatabaseError("invalid request") }
                return try await desk.submit(valid) { number, code in OutgoingMail(to: email, subject: number, body: code) }
            }
            let disclosure = try await request("disclosure", "taro@example.jp", "山田 太郎")
            // Never verified: tied to Taro only by the address's blind index.
            let pending = try await request("correction", "taro@example.jp", "山田 太郎")
            let erasure = try await request("erasure", "taro@example.jp", "山田 太郎")
            let others = try await request("disclosure", "hanako@example.jp", "佐藤 花子")
            for receipt in [disclosure, erasure, others] {
                let outcome = try await desk.verify(number: receipt.number, code: receipt.code, calendar: BusinessCalendar(), answerDays: 3)
                guard case .verified(_, _, known: true) = outcome else {
                    Issue.record("\(receipt.number) not verified: \(outcome)")
                    return
                }
            }
            let access = SelfService(vault: fixture.vault)
            let code = try await access.issueCode(email: "taro@example.jp") { code in OutgoingMail(to: "taro@example.jp", subject: "code", body: code)
            }
            let requestKeys = try await fixture.data.read { db in
                try await db.select().column("key_id").from("requests").where("number", .in, [disclosure.number, pending.number, erasure.number])
                    .all(decodingColumn: "key_id", as: String.self)
            }
            let codeKey = try #require(
                try await fixture.data.read { db in
                    try await db.select().column("key_id").from("access_codes").where("id", .equal, code.ticket).first(
                        decodingColumn: "key_id",
                        as: String?.self
                    )
                } ?? nil
            )

            let detail = try #require(try await desk.open(id: erasure.id, actor: "staff:1"))
            try await desk.complete(detail, policy: fixture.policy, actor: "staff:1") { content in
                OutgoingMail(to: content.email, subject: "erased", body: "done")
            }

            // Every key that sealed something of Taro's is gone; Hanako's request still opens.
            for key in [taro.subjectID, codeKey] + requestKeys {
                #expect(try await fixture.vault.keys.key(subjectID: key) == nil, "key \(key) destroyed")
            }
            for receipt in [disclosure, pending, erasure] {
                #expect(try await desk.open(id: receipt.id, actor: "staff:1") == nil, "staff can no longer open \(receipt.number)")
            }
            #expect(try await desk.open(id: others.id, actor: "staff:1")?.content.name == "佐藤 花子")
            _ = hanako

            // The records stay, without anything personal.
            let rows = try await fixture.data.read { db in
                try await db.select().columns("number", "type", "status", "email_index", "sealed").from("requests")
                    .where("number", .in, [disclosure.number, pending.number, erasure.number]).all()
            }
            #expect(rows.count == 3)
            for row in rows {
                #expect(try row.decode(column: "email_index", as: String.self).isEmpty)
                #expect(try row.decode(column: "sealed", as: Data.self) == Data([0]))
            }
            let statuses = try Dictionary(
                uniqueKeysWithValues: rows.map {
                    (try $0.decode(column: "number", as: String.self), try $0.decode(column: "status", as: String.self))
                }
            )
            #expect(statuses[erasure.number] == "completed", "the erasure request closed with the erasure")

            // No code, session or mail of Taro's is left, except the notice of the completed erasure (under its own key).
            #expect(
                try await fixture.data.read { db in
                    try await db.select().column("id").from("access_codes").where("id", .equal, code.ticket).first()
                } == nil
            )
            let mail = try await fixture.data.read { db in
                try await db.select().columns("subject_id", "kind").from("outbox").all().map {
                    (try $0.decode(column: "subject_id", as: String.self), try $0.decode(column: "kind", as: String.self))
                }
            }
            let destroyed = Set([taro.subjectID, codeKey] + requestKeys)
            #expect(!mail.contains { destroyed.contains($0.0) }, "no mail sealed under a destroyed key is left")
            #expect(mail.filter { $0.1 == "request-completed" }.count == 1, "the completion notice is queued")
            let worker = fixture.outboxWorker(RecordingMailer())
            let pass = try await worker.deliverDue()
            #expect(pass.failed == 0 && pass.sent >= 1)
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: try await AuditLog.entries(in: fixture.data).count))
        }
    }
}

/// A transport that records what it sends.
final class RecordingMailer: Mailer, @unchecked Sendable {
    private let lock = NSLock()
    private var sentMessages: [MailMessage] = []
    var sent: [MailMessage] { lock.withLock { sentMessages } }
    func send(_ message: MailMessage) async throws { lock.withLock { sentMessages.append(message) } }
}
