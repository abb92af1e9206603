import Benchmark
import Foundation
import Logging
import MadoguchiCore

// The consent ledger's write path without HTTP (issue #5): 64 writers at once, as under wrk -c64, through the group
// commit into SQLite. Each iteration is one round of 64; the baseline, measured in the same run, is 64 commits of an
// empty write set (the group commit's own cost: hand-offs, BEGIN and COMMIT, no rows).
//
//   MADOGUCHI_BENCHMARKS=1 swift package benchmark --target ConsentLedgerBenchmarks
//
// The ledger starts empty in a fresh folder under $TMPDIR (removed afterwards) and grows by 64 rows per iteration.

final class Ledger: @unchecked Sendable {
    // Written once by the setup hook before any iteration runs, then only read (`next` only by the one running
    // benchmark).
    var directory: URL?
    var database: Database?
    var ledger: ConsentLedger?
    var vendors: [String: Bool] = [:]
    var vendorList = ""
    var policyVersion = ""
    var next = 0
    static let instance = Ledger()
}

let writers = 64

func prepare() async throws {
    let shared = Ledger.instance
    if shared.database != nil { return }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "madoguchi-bench-ledger-\(ProcessInfo.processInfo.processIdentifier)"
    )
    try? FileManager.default.removeItem(at: directory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let database = try await Database.open(.sqlite(path: directory.appendingPathComponent("data.sqlite").path), logger: logger)
    try await Migrations.apply(to: database)
    let policy = try PolicyLoader.parse(yaml: try String(contentsOfFile: "examples/policy.yaml", encoding: .utf8), file: "examples/policy.yaml")
    shared.directory = directory
    shared.database = database
    shared.ledger = ConsentLedger(database: database)
    shared.vendors = Dictionary(uniqueKeysWithValues: policy.vendors.map { ($0.id, $0.category != .advertising) })
    shared.vendorList = VendorList.version(of: policy)
    shared.policyVersion = policy.version
}

/// Closes the database and removes its folder; the next benchmark starts from an empty ledger.
func finish() async {
    let shared = Ledger.instance
    await shared.database?.close()
    if let directory = shared.directory { try? FileManager.default.removeItem(at: directory) }
    (shared.database, shared.ledger, shared.directory, shared.next) = (nil, nil, nil, 0)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 10,
        maxDuration: .seconds(10),
        maxIterations: 2_000,
        setup: { try await prepare() },
        teardown: { await finish() }
    )

    Benchmark("Baseline: 64 concurrent group commits of an empty write set") { benchmark in
        let database = Ledger.instance.database!
        for _ in benchmark.scaledIterations {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers { group.addTask { try await database.commit(WriteSet()) } }
                try await group.waitForAll()
            }
        }
    }

    Benchmark("64 concurrent consent events appended (half notices, half choices)") { benchmark in
        let shared = Ledger.instance
        let ledger = shared.ledger!
        for _ in benchmark.scaledIterations {
            let first = shared.next
            shared.next += writers
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in first..<first + writers {
                    let choice = index % 2 == 1
                    let event = ConsentEvent(
                        identifier: String(format: "bench%027d", index / 2),
                        kind: choice ? .choice : .notice,
                        vendors: choice ? shared.vendors : [:],
                        gpc: false,
                        vendorListVersion: shared.vendorList,
                        policyVersion: shared.policyVersion
                    )
                    group.addTask { try await ledger.record(event) }
                }
                try await group.waitForAll()
            }
        }
    }
}
