import Benchmark
import Foundation
import Logging
import MadoguchiCore
import SQLKit

// The statistics page's report over 1,000,000 inquiries (issue #18; goal < 500 ms on SQLite and on PostgreSQL),
// reported next to a baseline measured in the same run: counting the inquiries.
//
//   MADOGUCHI_BENCHMARKS=1 swift package benchmark --target StatisticsBenchmarks
//   MADOGUCHI_BENCH_POSTGRES_URL=postgres://… MADOGUCHI_BENCHMARKS=1 swift package benchmark --target StatisticsBenchmarks
//
// The data is written once with SQL into $TMPDIR/madoguchi-bench-stats-1m (SQLite) or the given PostgreSQL database:
// 1,000,000 inquiries spread evenly over the 24 months of 2025 and 2026 across the four services and four topics,
// their tally (as intake keeps it), and 20,000 requests of every type and status. The report covers all 24 months.

final class Shared: @unchecked Sendable {
    // Written once by the setup hook before any iteration runs, then only read.
    var desk: StatisticsDesk?
    var database: Database?
    var policy: Policy?
    static let instance = Shared()
}

let inquiries = 1_000_000
let requests = 20_000

func prepare() async throws {
    let shared = Shared.instance
    if shared.desk != nil { return }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("madoguchi-bench-stats-1m")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let location: DatabaseLocation
    if let url = ProcessInfo.processInfo.environment["MADOGUCHI_BENCH_POSTGRES_URL"] {
        location = try DatabaseLocation(parsing: url)
    } else {
        location = .sqlite(path: directory.appendingPathComponent("data.sqlite").path)
    }
    let data = try await Database.open(location, logger: logger)
    try await Migrations.apply(to: data)
    let policyText = try String(contentsOfFile: "examples/policy.yaml", encoding: .utf8)
    let policy = try PolicyLoader.parse(yaml: policyText, file: "examples/policy.yaml")
    let count =
        try await data.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM inquiries").first(decodingColumn: "n", as: Int.self)
        } ?? 0
    if count < inquiries {
        let postgres = data.kind == .postgres
        func series(_ n: Int) -> String {
            postgres
                ? "SELECT i FROM generate_series(0, \(n - 1)) AS g(i)"
                : "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(n - 1)) SELECT i FROM n"
        }
        // 2025-01-01 00:00 in Tokyo, then one inquiry every 63 seconds: two years.
        let start = 1_735_657_200
        let when = postgres ? "to_timestamp(\(start) + i * 63)" : "strftime('%Y-%m-%dT%H:%M:%SZ', \(start) + i * 63, 'unixepoch')"
        let day =
            postgres
            ? "to_char(to_timestamp(\(start) + i * 63) AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD')"
            : "date(\(start) + i * 63, 'unixepoch', '+9 hours')"
        let text = postgres ? "lpad(i::text, 7, '0')" : "printf('%07d', i)"
        let service = "CASE i % 4 WHEN 0 THEN 'agent' WHEN 1 THEN 'accountant' WHEN 2 THEN 'tax-accountant' ELSE 'executive' END"
        let topic = "CASE (i / 4) % 4 WHEN 0 THEN 'service' WHEN 1 THEN 'registration' WHEN 2 THEN 'privacy' ELSE 'other' END"
        let status = "CASE i % 10 WHEN 0 THEN 'new' WHEN 1 THEN 'in-progress' WHEN 2 THEN 'answered' ELSE 'closed' END"
        let types = RightsRequestType.allCases.map(\.rawValue)
        let statuses = RightsRequestStatus.allCases.map(\.rawValue)
        let type = "CASE i % \(types.count) " + types.enumerated().map { "WHEN \($0) THEN '\($1)'" }.joined(separator: " ") + " END"
        let requestStatus =
            "CASE (i / 7) % \(statuses.count) " + statuses.enumerated().map { "WHEN \($0) THEN '\($1)'" }.joined(separator: " ") + " END"
        let requestWhen = postgres ? "to_timestamp(\(start) + i * 3150)" : "strftime('%Y-%m-%dT%H:%M:%SZ', \(start) + i * 3150, 'unixepoch')"
        let closedWhen =
            postgres
            ? "to_timestamp(\(start) + i * 3150 + (i % 9) * 86400)"
            : "strftime('%Y-%m-%dT%H:%M:%SZ', \(start) + i * 3150 + (i % 9) * 86400, 'unixepoch')"
        let due = postgres ? "to_char(to_timestamp(\(start) + i * 3150 + 432000), 'YYYY-MM-DD')" : "date(\(start) + i * 3150 + 432000, 'unixepoch')"
        let bytes = postgres ? "'\\x01'::bytea" : "x'01'"
        let statements = [
            "INSERT INTO subjects (id, email_index, created_at) SELECT 's' || \(text), 'e' || \(text), \(when) FROM (\(series(inquiries))) AS n",
            """
            INSERT INTO inquiries (id, number, subject_id, service_id, status, policy_version, created_at, updated_at)
            SELECT 'q' || \(text), 'Q' || \(text), 's' || \(text), \(service), \(status), '\(policy.version)', \(when), \(when)
            FROM (\(series(inquiries))) AS n
            """,
            """
            INSERT INTO inquiry_counts (day, service_id, category, n)
            SELECT \(day), \(service), \(topic), COUNT(*) FROM (\(series(inquiries))) AS n GROUP BY 1, 2, 3
            """,
            """
            INSERT INTO requests (id, number, type, status, email_index, key_id, sealed, code_hash, code_expires_at, attempts,
                                  due_on, closed_at, created_at)
            SELECT 'r' || \(text), 'R' || \(text), \(type), \(requestStatus), 'x', 'k', \(bytes), 'h', \(requestWhen), 0,
                   CASE WHEN (i / 7) % \(statuses.count) IN (1, 2, 3) THEN \(due) END,
                   CASE WHEN (i / 7) % \(statuses.count) IN (2, 3) THEN \(closedWhen) END,
                   \(requestWhen)
            FROM (\(series(requests))) AS n
            """,
        ]
        try await data.transaction { db in
            for table in ["requests", "inquiry_counts", "inquiries", "subjects"] {
                try await db.raw("DELETE FROM \(unsafeRaw: table)").run()
            }
            for statement in statements { try await db.raw("\(unsafeRaw: statement)").run() }
        }
        try await data.transaction { db in try await db.raw("ANALYZE").run() }
    }
    shared.desk = StatisticsDesk(database: data)
    shared.database = data
    shared.policy = policy
}

func report() async throws -> StatisticsReport {
    let shared = Shared.instance
    return try await shared.desk!.report(
        policy: shared.policy!,
        period: try StatisticsPeriod(from: Month(year: 2025, month: 1)!, through: Month(year: 2026, month: 12)!),
        today: LocalDate(iso: "2026-12-05")!,
        inquiryStatus: { LocalizedText(ja: $0.rawValue, en: $0.rawValue) },
        requestStatus: { LocalizedText(ja: $0.rawValue, en: $0.rawValue) }
    )
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock],
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 20,
        setup: { try await prepare() }
    )

    Benchmark("Baseline: count 1,000,000 inquiries") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try await Shared.instance.database!.read { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM inquiries").first(decodingColumn: "n", as: Int.self)
                }
            )
        }
    }

    Benchmark("Statistics report over 1,000,000 inquiries and 20,000 requests (24 months)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await report().tables.count)
        }
    }
}
