import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Consent ledger storage")
struct ConsentLedgerStorageTests {
    private static func event(_ identifier: String, _ kind: ConsentEventKind, allowed: Bool = false) -> ConsentEvent {
        ConsentEvent(
            identifier: identifier,
            kind: kind,
            vendors: kind == .choice ? ["analytics": allowed] : [:],
            gpc: false,
            vendorListVersion: "v0123456789abcdef",
            policyVersion: "2026-04-01"
        )
    }

    @Test("new identifiers: 28 URL-safe characters, the issue time first, so later ones sort later; never the same twice")
    func identifiersSortByIssueTime() throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000.123)
        // 5 ms apart: well clear of a rounding to the millisecond.
        let issued = (0..<200).map { ConsentEvent.newIdentifier(at: start.addingTimeInterval(Double($0) * 0.005)) }
        for identifier in issued {
            #expect(identifier.utf8.count == 28 && ConsentEvent.isIdentifier(identifier), "\(identifier)")
        }
        #expect(issued.first?.prefix(12) == "01a0c4506c7b", "the issue time in milliseconds, 12 hex digits")
        #expect(issued == issued.sorted(), "a later issue time sorts later, byte by byte (SQLite's and PostgreSQL's C order)")
        #expect(Set(issued.map { $0.dropFirst(12) }).count == issued.count, "the random part differs")
        let sameTime = (0..<200).map { _ in ConsentEvent.newIdentifier(at: start) }
        #expect(Set(sameTime).count == sameTime.count)
        #expect(ConsentEvent.newIdentifier(at: Date(timeIntervalSince1970: 0)).hasPrefix("000000000000"))
    }

    @Test(
        "migration 10 keeps every event of a ledger written under migration 9, in time order, and lookups use the identifier index",
        arguments: TestDatabase.available
    )
    func lookupIndexUpgrade(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            let before = Migrations.all.filter { $0.version < ConsentLedger.lookupMigration.version }
            try await Migrations.apply(to: database, migrations: before)
            let ledger = ConsentLedger(database: database)
            let a = String(repeating: "a", count: 22)
            let b = String(repeating: "b", count: 22)
            let start = Date(timeIntervalSince1970: 1_790_000_000)
            // Written out of time order: the lookup sorts by time, not by position in the table.
            try await ledger.record(Self.event(a, .choice, allowed: true), at: start.addingTimeInterval(60))
            try await ledger.record(Self.event(a, .notice), at: start)
            try await ledger.record(Self.event(b, .notice), at: start.addingTimeInterval(30))
            try await ledger.record(Self.event(a, .choice, allowed: false), at: start.addingTimeInterval(120))

            let report = try await Migrations.apply(to: database)
            #expect(
                report.applied.first == ConsentLedger.lookupMigration.version && report.applied == Migrations.all.map(\.version).filter { $0 >= 10 }
            )
            #expect(try await ledger.events(identifier: a).map(\.kind) == [.notice, .choice, .choice])
            #expect(try await ledger.events(identifier: a).last?.vendors == ["analytics": false])
            #expect(try await ledger.latest(identifier: a)?.vendors == ["analytics": false])
            #expect(try await ledger.events(identifier: b).map(\.kind) == [.notice])

            let indexes: [String] = try await database.read { db in
                switch database.kind {
                case .sqlite:
                    try await db.raw("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'consent_events' AND sql IS NOT NULL")
                        .all(decodingColumn: "name", as: String.self)
                case .postgres:
                    try await db.raw(
                        "SELECT indexname FROM pg_indexes WHERE tablename = 'consent_events' AND schemaname = current_schema() AND indexname <> 'consent_events_pkey'"
                    )
                    .all(decodingColumn: "indexname", as: String.self)
                }
            }
            #expect(indexes == ["consent_events_by_identifier"], "the old (identifier, created_at) index is gone")
            if database.kind == .sqlite {
                // The same lookup `latest(identifier:)` makes: by the index, never a scan of the ledger.
                let plan = try await database.read { db in
                    try await db.raw(
                        "EXPLAIN QUERY PLAN SELECT kind FROM consent_events WHERE identifier = \(bind: a) ORDER BY created_at DESC, id DESC LIMIT 1"
                    )
                    .all(decodingColumn: "detail", as: String.self)
                }
                #expect(plan.contains { $0.contains("USING INDEX consent_events_by_identifier") }, "\(plan)")
            }
        }
    }
}
