import Benchmark
import Foundation
import Logging
import MadoguchiCore

// The console's look at the audit chain (R-AUD-1): with the chain at 20,000 entries, a look that checks only the
// 100 entries added since the last one (AuditLog.verify(_:after:), as AuditWatch does) against the baseline, the
// whole chain recomputed (what every look cost before, and what the daily check and `madoguchi audit verify` do).
//
//   MADOGUCHI_BENCHMARKS=1 swift package benchmark --target AuditLogBenchmarks
//
// The chain is written once into a fresh SQLite file under $TMPDIR (removed afterwards).

final class Chain: @unchecked Sendable {
    // Written once by the setup hook before any iteration runs, then only read.
    var directory: URL?
    var database: Database?
    var checkpoint = AuditCheckpoint.genesis
    static let instance = Chain()
}

let entries = 20_000
let sinceLastLook = 100

func prepare() async throws {
    let shared = Chain.instance
    if shared.database != nil { return }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "madoguchi-bench-audit-\(ProcessInfo.processInfo.processIdentifier)"
    )
    try? FileManager.default.removeItem(at: directory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let database = try await Database.open(.sqlite(path: directory.appendingPathComponent("data.sqlite").path), logger: logger)
    try await Migrations.apply(to: database)
    // Entries as a busy desk writes them: reads, answers and forwards, with record and purpose, no personal data.
    for first in stride(from: 0, to: entries, by: 1_000) {
        var writes = WriteSet()
        for number in first..<first + 1_000 {
            writes.audit(
                AuditEvent(
                    actor: "staff:\(number % 7)",
                    action: number % 3 == 0 ? "inquiry.answer" : "inquiry.read",
                    subjectID: UUID().uuidString.lowercased(),
                    record: "inquiry:\(UUID().uuidString.lowercased())",
                    purpose: "answer-inquiries",
                    detail: "service=agent"
                )
            )
        }
        try await database.commit(writes)
    }
    let all = try await AuditLog.entries(in: database, after: entries - sinceLastLook - 1, limit: 1)
    shared.checkpoint = AuditCheckpoint(sequence: all[0].sequence, hash: all[0].hash)
    shared.directory = directory
    shared.database = database
}

func finish() async {
    let shared = Chain.instance
    await shared.database?.close()
    if let directory = shared.directory { try? FileManager.default.removeItem(at: directory) }
    (shared.database, shared.directory) = (nil, nil)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 3,
        maxDuration: .seconds(10),
        maxIterations: 1_000,
        setup: { try await prepare() },
        teardown: { await finish() }
    )

    Benchmark("Baseline: the whole chain recomputed (20,000 entries)") { benchmark in
        let database = Chain.instance.database!
        for _ in benchmark.scaledIterations {
            guard case .intact(entries) = try await AuditLog.verify(database) else { fatalError("chain not intact") }
        }
    }

    Benchmark("A look that checks the 100 entries added since the last one") { benchmark in
        let shared = Chain.instance
        for _ in benchmark.scaledIterations {
            let (verification, _) = try await AuditLog.verify(shared.database!, after: shared.checkpoint)
            guard case .intact(entries) = verification else { fatalError("chain not intact") }
        }
    }
}
