import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Suspension and erasure")
struct SubjectRightsTests {
    // R-PUR-2, R-DSR-1: a suspended purpose can no longer be used, by anyone.
    @Test("R-PUR-2: a suspended purpose is refused at once (one purpose, or all), audited; resuming allows it again",
          arguments: TestDatabase.available)
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
            _ = try #require(try await fixture.guardian.inquiry(id: taro.id, purpose: "answer-inquiries", actor: "staff:1"),
                             "other purposes still work")
            _ = try #require(try await fixture.guardian.inquiry(id: hanako.id, purpose: "match-history", actor: "staff:1"),
                             "other people are not affected")

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
            guard case let .sqlite(path) = fixture.dataLocation else { Issue.record("SQLite fixture expected"); return }
            let backup = path + ".backup"
            try FileManager.default.copyItem(atPath: path, toPath: backup)

            try await rights.erase(subjectID: taro.subjectID, actor: "staff:1", source: "request:R3")
            #expect(try await rights.erasedAt(subjectID: taro.subjectID) != nil)
            #expect(try await fixture.vault.keys.key(subjectID: taro.subjectID) == nil)

            // The copy still holds Taro's sealed fields, but nothing opens them any more; Hanako's still open.
            let copy = try await Database.open(.sqlite(path: backup), logger: .init(label: "test"))
            let sealed = { (inquiryID: String) in try await copy.read { db in
                try await db.select().column("sealed").from("inquiry_fields").where("inquiry_id", .equal, inquiryID)
                    .where("field_id", .equal, "name").first(decodingColumn: "sealed", as: Data.self)
            } }
            let taroSealed = try #require(try await sealed(taro.id))
            #expect(try await fixture.vault.keys.key(subjectID: taro.subjectID) == nil)
            let hanakoKey = try #require(try await fixture.vault.keys.key(subjectID: hanako.subjectID))
            #expect(try SealedField.open(try #require(try await sealed(hanako.id)), key: hanakoKey,
                                         context: "inquiry/\(hanako.id)/name") == "佐藤 花子")
            // Not even Hanako's key (or any other) opens Taro's fields.
            #expect(throws: (any Error).self) { try SealedField.open(taroSealed, key: hanakoKey, context: "inquiry/\(taro.id)/name") }
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

    @Test("R-DSR-5: erasure removes the person's rows, keeps the audit chain and an erasure record, and can be re-run; the address starts afresh",
          arguments: TestDatabase.available)
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
            #expect(try await AuditLog.entries(in: fixture.data).contains { $0.event.action == "subject.erase" && $0.event.subjectID == taro.subjectID })
            #expect(try await fixture.guardian.inquiry(id: taro.id, purpose: "answer-inquiries", actor: "staff:1") == nil)
            // The same address later is a new person with a new key.
            let again = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            #expect(again.subjectID != taro.subjectID)
            #expect(again.earlierInquiries == 0)
            #expect(ErasureRetention.kept.count == 3)
        }
    }
}
