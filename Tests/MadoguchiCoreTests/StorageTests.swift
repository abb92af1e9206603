import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Storage")
struct StorageTests {
    @Test("CI runs the PostgreSQL tests when it must")
    func postgresConfigured() {
        if TestDatabase.postgresRequired {
            #expect(TestDatabase.postgresURL != nil, "MADOGUCHI_REQUIRE_POSTGRES=1 but MADOGUCHI_TEST_POSTGRES_URL is not set")
            #expect(TestDatabase.available.contains(.postgres))
        }
    }

    @Test("migrations apply from empty, in order, and a second run is a no-op", arguments: TestDatabase.available)
    func migrations(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            #expect(try await Migrations.pending(in: database).map(\.version) == Migrations.all.map(\.version))
            let first = try await Migrations.apply(to: database)
            #expect(first.applied == Migrations.all.map(\.version))
            #expect(first.current == Migrations.all.last?.version)
            let second = try await Migrations.apply(to: database)
            #expect(second.applied.isEmpty)
            #expect(second.current == first.current)
            #expect(try await Migrations.pending(in: database).isEmpty)
            let recorded = try await database.read { db in
                try await db.select().column("version").from("madoguchi_schema").all(decodingColumn: "version", as: Int.self)
            }
            #expect(recorded == Migrations.all.map(\.version))
        }
    }

    @Test("a failing migration leaves nothing behind", arguments: TestDatabase.available)
    func failingMigrationRollsBack(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            try await Migrations.apply(to: database)
            let broken = Migration(
                version: 999,
                name: "broken",
                sqlite: ["CREATE TABLE half (id INTEGER)", "THIS IS NOT SQL"],
                postgres: ["CREATE TABLE half (id INTEGER)", "THIS IS NOT SQL"]
            )
            await #expect(throws: (any Error).self) { try await Migrations.apply(to: database, migrations: Migrations.all + [broken]) }
            #expect(try await Migrations.currentVersion(of: database) == Migrations.all.last?.version)
            // The table created before the failing statement was rolled back with it.
            await #expect(throws: (any Error).self) {
                try await database.read { db in try await db.raw("SELECT COUNT(*) AS n FROM half").run() }
            }
        }
    }

    @Test(
        "R-VER-1: a version is stored once, changed content under the same id is refused, older versions stay readable",
        arguments: TestDatabase.available
    )
    func policyVersions(_ kind: TestDatabase) async throws {
        let source = try Fixtures.examplePolicyText()
        let first = try PolicyLoader.parse(yaml: source, file: "example")
        let secondSource =
            source
            .replacingOccurrences(of: "version: \"2026-12-06\"", with: "version: \"2027-04-01\"")
            .replacingOccurrences(of: "  - 2026-12-06\n", with: "  - 2026-12-06\n  - 2027-04-01\n")
            .replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: 2")
        let second = try PolicyLoader.parse(yaml: secondSource, file: "example-2")

        try await kind.withFresh { _, database in
            try await Migrations.apply(to: database)
            let store = PolicyVersionStore(database: database)
            #expect(try await store.store(first, source: source) == .stored)
            #expect(try await store.store(first, source: source) == .unchanged)

            var edited = first
            edited.requests.answerBusinessDays = 5
            await #expect(throws: PolicyVersionConflict.self) { try await store.store(edited, source: source) }

            #expect(try await store.store(second, source: secondSource) == .stored)
            let versions = try await store.versions()
            #expect(versions.map(\.id) == ["2027-04-01", "2026-12-06"])
            #expect(versions.first?.currentSince.description == "2027-04-01")
            #expect(versions.last?.effectiveDate.description == "2024-08-08")
            #expect(try await store.policy(version: "2026-12-06") == first)
            #expect(try await store.policy(version: "2027-04-01") == second)
            #expect(try await store.policy(version: "1999") == nil)
            #expect(try await store.policy(version: "' OR 1=1 --") == nil)
        }
    }

    @Test("a transaction that throws writes nothing", arguments: TestDatabase.available)
    func transactionRollback(_ kind: TestDatabase) async throws {
        struct Boom: Error {}
        try await kind.withFresh { _, database in
            try await Migrations.apply(to: database)
            let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
            await #expect(throws: Boom.self) {
                try await database.transaction { db in
                    try await db.insert(into: "policy_versions")
                        .columns("id", "content_hash", "effective_date", "current_since", "document_json", "source_yaml", "stored_at")
                        .values(
                            SQLBind("x"),
                            SQLBind("h"),
                            SQLBind("2024-01-01"),
                            SQLBind("2024-01-01"),
                            SQLBind("{}"),
                            SQLBind(""),
                            kind == .sqlite ? SQLBind("2024-01-01T00:00:00Z") : SQLBind(Date())
                        )
                        .run()
                    throw Boom()
                }
            }
            #expect(try await PolicyVersionStore(database: database).versions().isEmpty)
            // The database is usable after the rollback.
            #expect(try await PolicyVersionStore(database: database).store(policy, source: "") == .stored)
            #expect(await database.isReachable())
        }
    }
}

@Suite("SQLite settings")
struct SQLiteSettingsTests {
    @Test("the SQLite file runs in WAL mode with full synchronous commits")
    func pragmas() async throws {
        try await TestDatabase.sqlite.withFresh { _, database in
            let (journal, synchronous) = try await database.transaction { db in
                let journal = try await db.raw("PRAGMA journal_mode").first(decodingColumn: "journal_mode", as: String.self)
                let synchronous = try await db.raw("PRAGMA synchronous").first(decodingColumn: "synchronous", as: Int.self)
                return (journal, synchronous)
            }
            #expect(journal == "wal")
            #expect(synchronous == 2, "2 is FULL")
        }
    }
}

@Suite("Group commit")
struct GroupCommitTests {
    struct Refused: Error, Equatable { let number: Int }

    @Test(
        "concurrent small transactions share commits; a failing one is rolled back alone and told so",
        arguments: TestDatabase.available
    )
    func isolation(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            try await database.transaction { db in try await db.raw("CREATE TABLE numbers (n INTEGER NOT NULL)").run() }
            let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for number in 1...40 {
                    group.addTask {
                        do {
                            let stored = try await database.batchedTransaction { db in
                                try await db.insert(into: "numbers").columns("n").values(SQLBind(number)).run()
                                if number % 5 == 0 { throw Refused(number: number) }
                                return number
                            }
                            return (stored, true)
                        } catch let error as Refused {
                            return (error.number, false)
                        }
                    }
                }
                return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            #expect(outcomes.count == 40)
            #expect(outcomes.filter { !$0.value }.keys.sorted() == [5, 10, 15, 20, 25, 30, 35, 40])
            let stored = try await database.read { db in
                try await db.select().column("n").from("numbers").orderBy("n").all(decodingColumn: "n", as: Int.self)
            }
            #expect(stored == (1...40).filter { $0 % 5 != 0 })
        }
    }
}

@Suite("Merged write sets")
struct WriteSetTests {
    /// A table with a unique column, and the audit table, on a fresh database.
    static func prepare(_ database: Database) async throws {
        _ = try await Migrations.apply(to: database)
        try await database.transaction { db in
            try await db.raw("CREATE TABLE people (id TEXT PRIMARY KEY, handle TEXT NOT NULL UNIQUE)").run()
            try await db.raw("CREATE TABLE notes (id TEXT PRIMARY KEY, person_id TEXT NOT NULL REFERENCES people (id), body TEXT NOT NULL)").run()
        }
    }

    static func names(_ table: String, _ column: String, in database: Database) async throws -> [String] {
        try await database.read { db in
            try await db.select().column(SQLIdentifier(column)).from(table).orderBy(SQLIdentifier(column))
                .all(decodingColumn: column, as: String.self)
        }
    }

    @Test(
        "concurrent write sets commit together; a lost claim drops its whole set; the audit chain stays whole",
        arguments: TestDatabase.available
    )
    func claimsAndAudit(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            try await Self.prepare(database)
            // 30 sets; sets i and i+10 and i+20 claim the same handle, so exactly one of each three wins.
            let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for number in 0..<30 {
                    group.addTask {
                        var writes = WriteSet()
                        let person = "p\(number)"
                        writes.claim(
                            "people",
                            key: person,
                            columns: ["id", "handle"],
                            values: [SQLBind(person), SQLBind("h\(number % 10)")],
                            uniqueOn: "handle"
                        )
                        writes.insert(
                            into: "notes",
                            columns: ["id", "person_id", "body"],
                            values: [SQLBind("n\(number)"), SQLBind(person), SQLBind("note \(number)")]
                        )
                        writes.audit(AuditEvent(actor: "test", action: "note.create", record: "note:n\(number)"))
                        do {
                            try await database.commit(writes)
                            return (number, true)
                        } catch is WriteConflict {
                            return (number, false)
                        }
                    }
                }
                return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            let winners = outcomes.filter(\.value).keys.sorted()
            #expect(winners.count == 10)
            #expect(Set(winners.map { $0 % 10 }).count == 10, "one winner per handle")
            #expect(try await Self.names("people", "id", in: database) == winners.map { "p\($0)" }.sorted())
            #expect(try await Self.names("notes", "id", in: database) == winners.map { "n\($0)" }.sorted(), "losers wrote no note")
            let entries = try await AuditLog.entries(in: database)
            #expect(entries.map(\.event.record).compactMap { $0 }.sorted() == winners.map { "note:n\($0)" }.sorted())
            #expect(try await AuditLog.verify(database) == .intact(entries: 10))
        }
    }

    @Test(
        "a set that wins its first claim and loses its second gives the first back; the conflict names the table",
        arguments: TestDatabase.available
    )
    func secondClaimLost(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            try await Self.prepare(database)
            try await database.transaction { db in
                try await db.raw("CREATE TABLE tickets (id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE)").run()
                try await db.insert(into: "tickets").columns("id", "number").values(SQLBind("t0"), SQLBind("N1")).run()
            }
            func attempt(_ person: String, handle: String, ticket: String, number: String) async throws -> WriteConflict? {
                var writes = WriteSet()
                writes.claim(
                    "people",
                    key: person,
                    columns: ["id", "handle"],
                    values: [SQLBind(person), SQLBind(handle)],
                    uniqueOn: "handle"
                )
                writes.claim(
                    "tickets",
                    key: ticket,
                    columns: ["id", "number"],
                    values: [SQLBind(ticket), SQLBind(number)],
                    uniqueOn: "number"
                )
                do {
                    try await database.commit(writes)
                    return nil
                } catch let conflict as WriteConflict {
                    return conflict
                }
            }
            #expect(try await attempt("p1", handle: "h1", ticket: "t1", number: "N1")?.table == "tickets")
            #expect(try await Self.names("people", "id", in: database).isEmpty, "the won claim was given back")
            #expect(try await attempt("p2", handle: "h1", ticket: "t2", number: "N2") == nil, "the handle is free again")
            #expect(try await Self.names("people", "id", in: database) == ["p2"])
            #expect(try await Self.names("tickets", "id", in: database) == ["t0", "t2"])
        }
    }

    @Test(
        "a set that breaks a constraint fails alone with the database's error; the sets merged with it commit",
        arguments: TestDatabase.available
    )
    func constraintIsolation(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            try await Self.prepare(database)
            try await database.transaction { db in
                try await db.insert(into: "people").columns("id", "handle").values(SQLBind("p"), SQLBind("h")).run()
            }
            let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for number in 0..<20 {
                    group.addTask {
                        var writes = WriteSet()
                        // Every fourth note points at nobody: the foreign key refuses it.
                        let person = number % 4 == 3 ? "nobody" : "p"
                        writes.insert(
                            into: "notes",
                            columns: ["id", "person_id", "body"],
                            values: [SQLBind("n\(number)"), SQLBind(person), SQLBind("x")]
                        )
                        writes.audit(AuditEvent(actor: "test", action: "note.create", record: "note:n\(number)"))
                        do {
                            try await database.commit(writes)
                            return (number, true)
                        } catch {
                            #expect(!(error is WriteConflict))
                            return (number, false)
                        }
                    }
                }
                return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            let failed = outcomes.filter { !$0.value }.keys.sorted()
            #expect(failed == [3, 7, 11, 15, 19])
            let stored = try await Self.names("notes", "id", in: database)
            #expect(stored == (0..<20).filter { $0 % 4 != 3 }.map { "n\($0)" }.sorted())
            #expect(try await AuditLog.verify(database) == .intact(entries: 15), "no audit entry for a refused set")
        }
    }
}

@Suite("Published version stability")
struct PublishedVersionStabilityTests {
    // R-VER-1: an upgrade must never make an already-published version look changed (the server would refuse to start).
    /// Versions of the example as installations stored them (canonical JSON, as `PolicyVersionStore` writes it).
    static let published: [(file: String, hash: String)] = [
        // As first published, before `identity_verification` was required.
        ("policy-2025-02-18.json", "fb104628c54e4b2e0511e6ddfbdbe8e4b1f660a790596976f314fbf4e503466d"),
        // With the purpose of survey answers, the contractor behind Marketo and what covers its data; before the law's
        // checklist (security measures, countries, complaints, request procedure, marketing-mail sender).
        ("policy-2026-12-05.json", "cf485e7fbcfcf50ca4619faef1adcdbf2d0768f3ce8f33443423a674d5ce0b83"),
    ]

    @Test("R-VER-1: stored versions decode and hash exactly as they were stored; keys added later are written only when used")
    func storedVersionsHashAsStored() throws {
        for (file, hash) in Self.published {
            let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/published/\(file)")
            let stored = try Data(contentsOf: url)
            let policy = try JSONDecoder().decode(Policy.self, from: stored)
            #expect(PolicyVersionStore.canonicalJSON(policy) == stored, "\(file) re-encodes differently")
            #expect(PolicyVersionStore.contentHash(policy) == hash, "\(file)")
            #expect(policy.securityMeasures == nil && policy.complaints == nil && policy.requests.fee == nil)
        }
        let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
        let current = String(decoding: PolicyVersionStore.canonicalJSON(policy), as: UTF8.self)
        for key in ["identity_verification", "security_measures", "complaints", "\"country\":\"US\"", "\"fee\":0", "marketing_mail"] {
            #expect(current.contains(key), "the current example writes \(key)")
        }
        #expect(!current.contains("closed_days") && !current.contains("\"profiling\":false"))
        var closed = policy
        closed.requests.closedDays = [LocalDate(iso: "2027-06-15")!]
        #expect(String(decoding: PolicyVersionStore.canonicalJSON(closed), as: UTF8.self).contains("\"closed_days\":[\"2027-06-15\"]"))
    }
}
