import Crypto
import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Keys and sealed fields")
struct CryptoTests {
    @Test("R-SEC-1: a sealed field opens only with its key and in its own place")
    func sealedFields() throws {
        let key = SymmetricKey(size: .bits256)
        let sealed = try SealedField.seal("山田 太郎", key: key, context: "inquiry/1/name")
        #expect(try SealedField.open(sealed, key: key, context: "inquiry/1/name", for: .personalAccess) == "山田 太郎")
        #expect(!sealed.contains(Data("山田".utf8)))
        #expect(throws: (any Error).self) { try SealedField.open(sealed, key: key, context: "inquiry/2/name", for: .personalAccess) }
        #expect(throws: (any Error).self) {
            try SealedField.open(sealed, key: SymmetricKey(size: .bits256), context: "inquiry/1/name", for: .personalAccess)
        }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: (any Error).self) { try SealedField.open(tampered, key: key, context: "inquiry/1/name", for: .personalAccess) }
        #expect(throws: SealedFieldError.self) { try SealedField.open(Data([9, 9, 9]), key: key, context: "x", for: .personalAccess) }
        // Two seals of the same text differ (fresh nonce).
        #expect(try SealedField.seal("a", key: key, context: "c") != SealedField.seal("a", key: key, context: "c"))
    }

    @Test("R-PUR-4: the blind index matches the same address however it is typed, and reveals nothing")
    func blindIndex() throws {
        let ring = try KeyRing(keys: [SymmetricKey(size: .bits256)])
        let plain = BlindIndex.of(email: "Taro.Yamada@Example.JP", key: ring.blindIndexKey)
        #expect(BlindIndex.of(email: " taro.yamada@example.jp ", key: ring.blindIndexKey) == plain)
        #expect(BlindIndex.of(email: "ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ", key: ring.blindIndexKey) == plain)
        #expect(BlindIndex.of(email: "hanako@example.jp", key: ring.blindIndexKey) != plain)
        #expect(!plain.contains("taro"))
        let other = try KeyRing(keys: [SymmetricKey(size: .bits256)])
        #expect(BlindIndex.of(email: "taro.yamada@example.jp", key: other.blindIndexKey) != plain)
    }

    @Test("key files: base64 lines, rotation keeps derived keys, bad files are refused clearly")
    func keyRing() throws {
        let first = KeyRing.generateKeyLine()
        let second = KeyRing.generateKeyLine()
        let one = try KeyRing(fileText: "# comment\n\(first)\n")
        let two = try KeyRing(fileText: "\(first)\n\(second)\n")
        #expect(two.masterKeys.count == 2)
        #expect(two.current.id != one.current.id)
        #expect(two.masterKey(id: one.current.id) != nil)
        #expect(BlindIndex.of(email: "a@b.jp", key: one.blindIndexKey) == BlindIndex.of(email: "a@b.jp", key: two.blindIndexKey))
        #expect(throws: KeyRingError.self) { try KeyRing(fileText: "") }
        #expect(throws: KeyRingError.self) { try KeyRing(fileText: "not base64!\n") }
        #expect(throws: KeyRingError.self) { try KeyRing(fileText: Data(repeating: 1, count: 16).base64EncodedString()) }
    }

    @Test("the default key file is created 0600 and a readable one is refused")
    func keyFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys/master.key").path
        let created = try KeyRing.load(path: path, environmentKey: nil, createIfMissing: true, logger: .init(label: "t"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try KeyRing.load(path: path, environmentKey: nil, createIfMissing: false, logger: .init(label: "t"))
        #expect(again.current.id == created.current.id)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: KeyRingError.self) {
            try KeyRing.load(path: path, environmentKey: nil, createIfMissing: false, logger: .init(label: "t"))
        }
        #expect(throws: KeyRingError.self) {
            try KeyRing.load(
                path: directory.appendingPathComponent("none.key").path,
                environmentKey: nil,
                createIfMissing: false,
                logger: .init(label: "t")
            )
        }
    }
}

@Suite("Inquiry vault")
struct VaultTests {
    @Test("R-REQ-1: required fields, types and lengths are checked; nothing else is accepted")
    func validation() throws {
        let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
        func problems(_ values: [String: String], service: String = "agent") -> [FieldProblem] {
            if case let .failure(.invalidFields(found)) = policy.validate(InquirySubmission(serviceID: service, values: values)) {
                return found
            }
            return []
        }
        let good = ["name": "山田 太郎", "email": "taro@example.jp", "topic": "service", "message": "相談です"]
        guard case let .success(valid) = policy.validate(InquirySubmission(serviceID: "agent", values: good)) else {
            Issue.record("a good submission must pass")
            return
        }
        #expect(valid.email == "taro@example.jp")
        #expect(valid.values["phone"] == nil)
        #expect(problems([:]).map(\.field).sorted() == ["email", "message", "name", "topic"])
        #expect(problems([:]).allSatisfy { $0.code == .missing })
        #expect(problems(good.merging(["name": "   "]) { $1 }) == [FieldProblem(field: "name", code: .missing)])
        #expect(problems(good.merging(["email": "taro@"]) { $1 }) == [FieldProblem(field: "email", code: .invalidEmail)])
        #expect(problems(good.merging(["email": "a@b.jp\r\nBcc: x@y.jp"]) { $1 }).first?.code == .multipleLines)
        #expect(problems(good.merging(["phone": "call me"]) { $1 }) == [FieldProblem(field: "phone", code: .invalidPhone)])
        #expect(problems(good.merging(["topic": "bribe"]) { $1 }) == [FieldProblem(field: "topic", code: .invalidChoice)])
        #expect(
            problems(good.merging(["message": String(repeating: "あ", count: 4001)]) { $1 })
                == [FieldProblem(field: "message", code: .tooLong, limit: 4000)]
        )
        #expect(problems(good.merging(["name": "a\u{0000}b"]) { $1 }) == [FieldProblem(field: "name", code: .controlCharacter)])
        #expect(problems(good.merging(["message": "evil \u{202E}txt.exe"]) { $1 }).first?.code == .controlCharacter)
        #expect(problems(good.merging(["admin": "true"]) { $1 }) == [FieldProblem(field: "admin", code: .unknownField)])
        // Full-width input is normalised; multi-line messages keep their lines.
        guard
            case let .success(wide) = policy.validate(
                InquirySubmission(
                    serviceID: "agent",
                    values: good.merging([
                        "email": "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "phone": "０３－１２３４－５６７８", "message": "一行目\r\n二行目",
                    ]) { $1 }
                )
            )
        else {
            Issue.record("full-width input must pass")
            return
        }
        #expect(wide.email == "taro@example.jp")
        #expect(wide.values["phone"] == "03-1234-5678")
        #expect(wide.values["message"] == "一行目\n二行目")
        // Ideographic spaces around a value go; lone CRs are line ends; a line end inside a one-line field is refused.
        guard
            case let .success(spaced) = policy.validate(
                InquirySubmission(
                    serviceID: "agent",
                    values: good.merging([
                        "name": "\u{3000}山田 太郎\u{3000}\t", "email": " \u{3000}taro@example.jp ", "message": "\r\n一\r二\n\n三\r\n",
                    ]) { $1 }
                )
            )
        else {
            Issue.record("spaced input must pass")
            return
        }
        #expect(spaced.values["name"] == "山田 太郎")
        #expect(spaced.email == "taro@example.jp")
        #expect(spaced.values["message"] == "一\n二\n\n三")
        #expect(problems(good.merging(["name": "山田\r太郎"]) { $1 }) == [FieldProblem(field: "name", code: .multipleLines)])
        #expect(
            problems(good.merging(["phone": "03-1234-567８９０１２３４５"]) { $1 }) == [FieldProblem(field: "phone", code: .invalidPhone)],
            "more than 15 digits"
        )
        #expect(problems(good.merging(["phone": "03-1234-5678#1"]) { $1 }) == [FieldProblem(field: "phone", code: .invalidPhone)])
        #expect(policy.validate(InquirySubmission(serviceID: "nursing", values: good)) == .failure(.unknownService("nursing")))
    }

    @Test(
        "R-SEC-1, R-PUR-4: fields are sealed per person, a person's inquiries are linked, and the audit entry commits with them",
        arguments: TestDatabase.available
    )
    func submitAndLink(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let first = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            let second = try await fixture.submit(fixture.submission(service: "executive", email: "TARO@example.jp"))
            let other = try await fixture.submit(fixture.submission(email: "hanako@example.jp", name: "佐藤 花子"))
            #expect(first.subjectID == second.subjectID)
            #expect(!first.linkedToEarlier)
            #expect(second.linkedToEarlier)
            #expect(other.subjectID != first.subjectID)
            #expect(first.number.hasPrefix("Q") && first.number.count == 16)

            // Nothing personal in plaintext in the data database.
            let rows = try await fixture.data.read { db in
                try await db.select().column("sealed").from("inquiry_fields").all(decodingColumn: "sealed", as: Data.self)
            }
            #expect(rows.count == 12)
            for row in rows {
                #expect(!row.contains(Data("taro".utf8)) && !row.contains(Data("山田".utf8)))
            }
            let index = try await fixture.data.read { db in
                try await db.select().column("email_index").from("subjects").all(decodingColumn: "email_index", as: String.self)
            }
            #expect(index.count == 2 && index.allSatisfy { !$0.contains("@") })
            // One audit entry per inquiry, without personal data.
            let entries = try await AuditLog.entries(in: fixture.data)
            #expect(entries.map(\.event.action) == ["inquiry.create", "inquiry.create", "inquiry.create"])
            #expect(entries.allSatisfy { !$0.event.detail.contains("taro") && !$0.event.detail.contains("山田") })
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: 3))
        }
    }

    @Test(
        "R-PUR-2: reads name a purpose; a purpose the data was not collected for or not consented to is refused and audited",
        arguments: TestDatabase.available
    )
    func purposeGuard(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let withoutConsent = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            let withConsent = try await fixture.submitConfirmed(fixture.submission(email: "hanako@example.jp", consent: true))

            let answer = try #require(try await fixture.guardian.inquiry(id: withoutConsent.id, purpose: "answer-inquiries", actor: "staff:1"))
            #expect(answer.values["name"] == "山田 太郎")
            #expect(answer.values["message"] == "転職の相談をしたいです。")
            // Match-history: only the fields collected for it (the message is not).
            let history = try #require(try await fixture.guardian.inquiry(id: withoutConsent.id, purpose: "match-history", actor: "staff:1"))
            #expect(history.values.keys.sorted() == ["email", "name"])

            await #expect(throws: PurposeRefused(purpose: "marketing", reason: .noConsent, record: "inquiry:\(withoutConsent.id)")) {
                _ = try await fixture.guardian.inquiry(id: withoutConsent.id, purpose: "marketing", actor: "staff:1")
            }
            let marketing = try #require(try await fixture.guardian.inquiry(id: withConsent.id, purpose: "marketing", actor: "staff:1"))
            #expect(marketing.values.keys.sorted() == ["email", "name"])
            await #expect(throws: PurposeRefused(purpose: "profiling", reason: .undeclared, record: "inquiry:\(withoutConsent.id)")) {
                _ = try await fixture.guardian.inquiry(id: withoutConsent.id, purpose: "profiling", actor: "staff:1")
            }
            #expect(try await fixture.guardian.inquiry(id: "missing", purpose: "answer-inquiries", actor: "staff:1") == nil)

            let actions = try await AuditLog.entries(in: fixture.data).map { "\($0.event.action)/\($0.event.purpose ?? "-")" }
            #expect(
                actions == [
                    "inquiry.create/-", "inquiry.create/-", "inquiry.confirm/-", "inquiry.read/answer-inquiries", "inquiry.read/match-history",
                    "purpose.refused/marketing", "inquiry.read/marketing", "purpose.refused/profiling",
                ]
            )
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: 8))
        }
    }

    @Test("R-AUD-1: changing one byte of one audit row is found and named", arguments: TestDatabase.available)
    func auditTamper(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            for index in 0..<4 { _ = try await fixture.submit(fixture.submission(email: "p\(index)@example.jp")) }
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: 4))
            try await fixture.data.transaction { db in
                try await db.update("audit_log").set("detail", to: "service=accountant").where("seq", .equal, 3).run()
            }
            #expect(try await AuditLog.verify(fixture.data) == .broken(sequence: 3, reason: .content))
        }
    }

    @Test(
        "R-AUD-1: the chain is keyed: entries are HMACs under the master key; without it or with another key they do not check out",
        arguments: TestDatabase.available
    )
    func keyedChain(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            for index in 0..<3 { _ = try await fixture.submit(fixture.submission(email: "p\(index)@example.jp")) }
            let entries = try await AuditLog.entries(in: fixture.data)
            #expect(entries.allSatisfy { $0.hash.hasPrefix("k1:") }, "every new entry is keyed")
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: 3))
            #expect(try await AuditLog.head(in: fixture.data) == AuditCheckpoint(sequence: 3, hash: entries[2].hash))
            // Checked with another installation's key: the first entry does not match.
            fixture.data.useAuditKey(SymmetricKey(size: .bits256))
            #expect(try await AuditLog.verify(fixture.data) == .broken(sequence: 1, reason: .content))
            fixture.data.useAuditKey(fixture.ring.auditKey)
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: 3))
            #expect(try await AuditLog.contains(AuditCheckpoint(sequence: 3, hash: entries[2].hash), in: fixture.data))
            try await fixture.data.transaction { db in try await db.delete(from: "audit_log").where("seq", .equal, 3).run() }
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: 2), "a cut tail leaves an intact chain…")
            #expect(
                try await !AuditLog.contains(AuditCheckpoint(sequence: 3, hash: entries[2].hash), in: fixture.data),
                "…that the head kept outside exposes"
            )
        }
    }

    @Test("R-AUD-1: a removed audit row is found", arguments: TestDatabase.available)
    func auditGap(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            for index in 0..<3 { _ = try await fixture.submit(fixture.submission(email: "p\(index)@example.jp")) }
            try await fixture.data.transaction { db in try await db.delete(from: "audit_log").where("seq", .equal, 2).run() }
            #expect(try await AuditLog.verify(fixture.data) == .broken(sequence: 2, reason: .missing(next: 3)))
        }
    }

    @Test("concurrent first inquiries from one new address end up as one person", arguments: TestDatabase.available)
    func concurrentSubjects(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let receipts = try await withThrowingTaskGroup(of: InquiryReceipt.self) { group in
                for _ in 0..<8 { group.addTask { try await fixture.submit(fixture.submission(email: "same@example.jp")) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(receipts.map(\.subjectID)).count == 1)
            #expect(Set(receipts.map(\.number)).count == 8)
            #expect(try await AuditLog.verify(fixture.data) == .intact(entries: 8))
        }
    }
}

@Suite("Key pool")
struct KeyPoolTests {
    @Test(
        "keys for new people are stored ahead in batches; every taker gets its own stored key; unused ones are deleted at shutdown",
        arguments: TestDatabase.available
    )
    func pool(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, keyStore in
            try await Migrations.apply(to: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
            let keys = SubjectKeyStore(database: keyStore, ring: try KeyRing(keys: [SymmetricKey(size: .bits256)]), poolSize: 8)
            // More takers at once than the pool holds: the late ones wait for refills.
            let taken = try await withThrowingTaskGroup(of: NewSubjectKey.self) { group in
                for _ in 0..<30 { group.addTask { try await keys.newSubject() } }
                return try await group.reduce(into: [NewSubjectKey]()) { $0.append($1) }
            }
            #expect(Set(taken.map(\.subjectID)).count == 30)
            for fresh in taken {
                let stored = try #require(try await keys.key(subjectID: fresh.subjectID))
                #expect(stored == fresh.key)
            }
            let storedCount = {
                try await keyStore.read { db in
                    try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("subject_keys")
                        .first(decodingColumn: "n", as: Int.self) ?? 0
                }
            }
            #expect(try await storedCount() > 30, "the pool holds keys ahead of need")
            await keys.discardUnusedKeys()
            #expect(try await storedCount() == 30, "only the keys given out remain")
        }
    }
}
