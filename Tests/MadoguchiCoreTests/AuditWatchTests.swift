import Foundation
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// The console's look at the audit chain reads only what was added since the last look (R-AUD-1), and still finds
/// a broken chain.
@Suite("Audit watch")
struct AuditWatchTests {
    /// Appends `count` entries, one transaction each, as changes do.
    static func append(_ count: Int, to database: Database, from first: Int = 1) async throws {
        for number in first..<(first + count) {
            try await database.transaction { db in
                try await AuditLog.append(AuditEvent(actor: "test", action: "note.create", record: "note:\(number)"), in: db, kind: database.kind)
            }
        }
    }

    static func tamper(_ database: Database, sequence: Int) async throws {
        try await database.transaction { db in
            try await db.update("audit_log").set("detail", to: "changed").where("seq", .equal, sequence).run()
        }
    }

    @Test(
        "R-AUD-1: a check from a checkpoint reads on from there, and finds a change to a later entry, to the checkpoint's own, or a cut",
        arguments: TestDatabase.available
    )
    func fromCheckpoint(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            _ = try await Migrations.apply(to: database)
            let (empty, start) = try await AuditLog.verify(database, after: .genesis)
            #expect(empty == .intact(entries: 0) && start == .genesis)
            try await Self.append(5, to: database)
            let (first, checkpoint) = try await AuditLog.verify(database, after: .genesis)
            let fifth = try #require(try await AuditLog.entries(in: database).last)
            #expect(first == .intact(entries: 5))
            #expect(checkpoint == AuditCheckpoint(sequence: 5, hash: fifth.hash))

            try await Self.append(3, to: database, from: 6)
            let (next, later) = try await AuditLog.verify(database, after: checkpoint)
            #expect(next == .intact(entries: 8))
            #expect(later.sequence == 8)
            #expect(try await AuditLog.verify(database, after: later) == (.intact(entries: 8), later), "nothing new")
            let seven = AuditCheckpoint(sequence: 7, hash: try await AuditLog.entries(in: database)[6].hash)

            // A change after the checkpoint is found and named; the checkpoint stays where it was.
            try await Self.tamper(database, sequence: 7)
            #expect(try await AuditLog.verify(database, after: checkpoint) == (.broken(sequence: 7, reason: .content), checkpoint))
            // A change to the checkpoint's own entry.
            #expect(
                try await AuditLog.verify(database, after: seven).verification
                    == .broken(sequence: 7, reason: .changedSinceChecked)
            )
            // A chain cut back behind the checkpoint.
            try await database.transaction { db in try await db.delete(from: "audit_log").where("seq", .greaterThan, 6).run() }
            #expect(try await AuditLog.verify(database, after: later).verification == .broken(sequence: 8, reason: .missing(next: nil)))
            // A change before the checkpoint that leaves the checkpoint's entry alone needs the whole-chain check.
            try await Self.tamper(database, sequence: 2)
            let six = AuditCheckpoint(sequence: 6, hash: try #require(try await AuditLog.entries(in: database).last).hash)
            #expect(try await AuditLog.verify(database, after: six).verification == .intact(entries: 6))
            #expect(try await AuditLog.verify(database) == .broken(sequence: 2, reason: .content))
        }
    }

    @Test(
        "R-AUD-1: the watch checks the whole chain first, then only new entries; a broken chain stays reported until it checks out whole",
        arguments: TestDatabase.available
    )
    func watch(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            _ = try await Migrations.apply(to: database)
            try await Self.append(4, to: database)
            let watch = AuditWatch(database: database)
            let started = Date(timeIntervalSince1970: 1_800_000_000)
            let first = try await watch.check(now: started)
            #expect(first == AuditWatch.Status(verification: .intact(entries: 4), wholeChainCheckedAt: started))

            try await Self.append(2, to: database, from: 5)
            let second = try await watch.check(now: started.addingTimeInterval(60))
            #expect(second == AuditWatch.Status(verification: .intact(entries: 6), wholeChainCheckedAt: started), "only the new entries")

            // An old entry changed: a look reads only the new entries and misses it; the daily whole-chain check finds it.
            try await Self.tamper(database, sequence: 2)
            #expect(try await watch.check().verification == .intact(entries: 6))
            let daily = try await watch.checkWholeChain(now: started.addingTimeInterval(86_400))
            #expect(daily == AuditWatch.Status(verification: .broken(sequence: 2, reason: .content), wholeChainCheckedAt: nil))
            // From then on every look recomputes the whole chain, so the break keeps showing.
            try await Self.append(1, to: database, from: 7)
            #expect(try await watch.check().verification == .broken(sequence: 2, reason: .content))

            // A new entry that is then changed is found by the next look.
            try await kind.withFresh { _, other in
                _ = try await Migrations.apply(to: other)
                try await Self.append(3, to: other)
                let fresh = AuditWatch(database: other)
                #expect(try await fresh.check().verification == .intact(entries: 3))
                try await Self.append(2, to: other, from: 4)
                try await Self.tamper(other, sequence: 5)
                #expect(try await fresh.check().verification == .broken(sequence: 5, reason: .content))
            }
        }
    }

    @Test(
        "a check ends when its task is cancelled (the server stopping), and so does the daily check's loop",
        .timeLimit(.minutes(1))
    )
    func cancellation() async throws {
        try await TestDatabase.sqlite.withFresh { _, database in
            _ = try await Migrations.apply(to: database)
            try await Self.append(3, to: database)
            let check = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await AuditLog.verify(database)
            }
            await #expect(throws: CancellationError.self) { try await check.value }
            let watch = AuditWatch(database: database)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let daily = Task { [logger] in await watch.checkWholeChain(every: .seconds(86_400), logger: logger) }
            // Cancelled during its first check or the day's sleep after it: either way the loop ends.
            try await Task.sleep(for: .milliseconds(200))
            daily.cancel()
            await daily.value
        }
    }
}
