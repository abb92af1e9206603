import Benchmark
import Crypto
import Foundation
import Logging
import MadoguchiCore
import SQLKit

// A campaign's audience over 1,000,000 people with a realistic consent mix (issue #17; goal < 2 s on SQLite and on
// PostgreSQL), reported next to a baseline measured in the same run: reading the ids of every person.
//
//   MADOGUCHI_BENCHMARKS=1 swift package benchmark --target CampaignBenchmarks
//   MADOGUCHI_BENCH_POSTGRES_URL=postgres://… MADOGUCHI_BENCHMARKS=1 swift package benchmark --target CampaignBenchmarks
//
// The people are written once with SQL (every person one confirmed inquiry to one of the four services; 40 % consented
// to marketing, a fiftieth of those withdrew it later; 0.5 % suspended marketing, 0.2 % every use; a third of a percent
// suppressed) into $TMPDIR/madoguchi-bench-1m (SQLite) or the given PostgreSQL database (its own schema), and reused.

final class Shared: @unchecked Sendable {
    // Written once by the setup hook before any iteration runs, then only read.
    var desk: CampaignDesk?
    var database: Database?
    var audience = 0
    static let instance = Shared()
}

let people = 1_000_000

func prepare() async throws {
    let shared = Shared.instance
    if shared.desk != nil { return }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("madoguchi-bench-1m")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let location: DatabaseLocation
    if let url = ProcessInfo.processInfo.environment["MADOGUCHI_BENCH_POSTGRES_URL"] {
        location = try DatabaseLocation(parsing: url)
    } else {
        location = .sqlite(path: directory.appendingPathComponent("data.sqlite").path)
    }
    let data = try await Database.open(location, logger: logger)
    let keyStore = try await Database.open(.sqlite(path: directory.appendingPathComponent("keys.sqlite").path), logger: logger)
    try await Migrations.apply(to: data)
    try await Migrations.apply(to: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
    let ring = try KeyRing(keys: [SymmetricKey(size: .bits256)])
    let policyText = try String(contentsOfFile: "examples/policy.yaml", encoding: .utf8)
    let policy = try PolicyLoader.parse(yaml: policyText, file: "examples/policy.yaml")
    let versions = PolicyVersionStore(database: data)
    try await versions.store(policy, source: policyText)
    let count =
        try await data.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM subjects").first(decodingColumn: "n", as: Int.self)
        } ?? 0
    if count < people {
        let postgres = data.kind == .postgres
        // n(i): 0 ..< people, written by the database itself.
        let series =
            postgres
            ? "SELECT i FROM generate_series(0, \(people - 1)) AS g(i)"
            : "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(people - 1)) SELECT i FROM n"
        let when = postgres ? "now()" : "'2026-01-01T00:00:00Z'"
        let later = postgres ? "now() + interval '1 day'" : "'2026-01-02T00:00:00Z'"
        let text = postgres ? "lpad(i::text, 7, '0')" : "printf('%07d', i)"
        let statements = [
            "INSERT INTO subjects (id, email_index, created_at) SELECT 's' || \(text), 'e' || \(text), \(when) FROM (\(series)) AS n",
            """
            INSERT INTO inquiries (id, number, subject_id, service_id, status, policy_version, created_at, updated_at, confirmed_at)
            SELECT 'q' || \(text), 'Q' || \(text), 's' || \(text),
                   CASE i % 4 WHEN 0 THEN 'agent' WHEN 1 THEN 'accountant' WHEN 2 THEN 'tax-accountant' ELSE 'executive' END,
                   'new', '\(policy.version)', \(when), \(when), \(when)
            FROM (\(series)) AS n
            """,
            """
            INSERT INTO consents (id, subject_id, purpose_id, granted, policy_version, source, created_at)
            SELECT 'c' || \(text), 's' || \(text), 'marketing', \(postgres ? "true" : "1"), '\(policy.version)', 'inquiry-form', \(when)
            FROM (\(series)) AS n WHERE i % 10 < 4
            """,
            """
            INSERT INTO consents (id, subject_id, purpose_id, granted, policy_version, source, created_at)
            SELECT 'w' || \(text), 's' || \(text), 'marketing', \(postgres ? "false" : "0"), '\(policy.version)', 'me', \(later)
            FROM (\(series)) AS n WHERE i % 10 < 4 AND i % 50 = 0
            """,
            """
            INSERT INTO suspensions (subject_id, purpose_id, source, created_at)
            SELECT 's' || \(text), CASE WHEN i % 1000 = 1 THEN '*' ELSE 'marketing' END, 'bench', \(when)
            FROM (\(series)) AS n WHERE i % 200 = 0 OR i % 1000 = 1
            """,
            """
            INSERT INTO suppressions (email_index, purpose_id, source, created_at)
            SELECT 'e' || \(text), 'marketing', 'bench', \(when) FROM (\(series)) AS n WHERE i % 300 = 7
            """,
        ]
        try await data.transaction { db in
            for table in ["suppressions", "suspensions", "consents", "inquiries", "subjects"] {
                try await db.raw("DELETE FROM \(unsafeRaw: table)").run()
            }
            for statement in statements { try await db.raw("\(unsafeRaw: statement)").run() }
        }
        if postgres { try await data.transaction { db in try await db.raw("ANALYZE").run() } }
    }
    let vault = InquiryVault(database: data, keys: SubjectKeyStore(database: keyStore, ring: ring))
    let desk = CampaignDesk(guardian: PurposeGuard(vault: vault, versions: versions, current: policy))
    shared.audience = try await desk.audience(purposeID: "marketing", services: ["agent", "accountant"]).count
    shared.desk = desk
    shared.database = data
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock],
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 10,
        setup: { try await prepare() }
    )

    Benchmark("Baseline: the ids of 1,000,000 people") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try await Shared.instance.database!.read { db in
                    try await db.raw("SELECT id FROM subjects ORDER BY id").all().count
                }
            )
        }
    }

    Benchmark("Audience of a campaign for two services among 1,000,000 people") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await Shared.instance.desk!.audience(purposeID: "marketing", services: ["agent", "accountant"]).count)
        }
    }
}
