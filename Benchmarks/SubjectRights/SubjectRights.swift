import Benchmark
import Crypto
import Foundation
import Logging
import MadoguchiCore
import SQLKit

// The person's rights at scale (issue #4): the disclosure export of a person with 1,000 inquiries in a database of
// 100,000 people (goal < 100 ms), and the erasure of one person (goal < 20 ms). Each is reported next to a baseline
// measured in the same run (the export of a person with one inquiry), because the machine is noisy.
//
//   MADOGUCHI_BENCHMARKS=1 swift package benchmark --target SubjectRightsBenchmarks
//
// The database is built once (about a minute) in $TMPDIR/madoguchi-bench-100k and reused by later runs.

final class Shared: @unchecked Sendable {
    // Written once by the setup hook before any iteration runs, then only read.
    var rights: SubjectRights?
    var heavy = ""
    var light = ""
    var erasable: [String] = []
    var next = 0
    static let instance = Shared()
}

let people = 100_000
let heavyInquiries = 1_000

func prepare() async throws {
    let shared = Shared.instance
    if shared.rights != nil { return }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("madoguchi-bench-100k")
    let ready = directory.appendingPathComponent("ready")
    let fresh = !FileManager.default.fileExists(atPath: ready.path)
    if fresh { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let data = try await Database.open(.sqlite(path: directory.appendingPathComponent("data.sqlite").path), logger: logger)
    let keyStore = try await Database.open(.sqlite(path: directory.appendingPathComponent("keys.sqlite").path), logger: logger)
    try await Migrations.apply(to: data)
    try await Migrations.apply(to: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
    let keyFile = directory.appendingPathComponent("master.key")
    if !FileManager.default.fileExists(atPath: keyFile.path) {
        FileManager.default.createFile(
            atPath: keyFile.path,
            contents: Data((KeyRing.generateKeyLine() + "\n").utf8),
            attributes: [.posixPermissions: 0o600]
        )
    }
    let ring = try KeyRing.load(path: keyFile.path, environmentKey: nil, createIfMissing: false, logger: logger)
    let policyText = try String(contentsOfFile: "examples/policy.yaml", encoding: .utf8)
    let policy = try PolicyLoader.parse(yaml: policyText, file: "examples/policy.yaml")
    try await PolicyVersionStore(database: data).store(policy, source: policyText)
    let vault = InquiryVault(database: data, keys: SubjectKeyStore(database: keyStore, ring: ring, poolSize: 256))
    func submit(_ email: String, _ index: Int) async throws -> InquiryReceipt {
        let submission = InquirySubmission(
            serviceID: "agent",
            values: [
                "name": "山田 太郎 \(index)", "email": email, "topic": "service", "message": "転職の相談をしたいです。\(index)",
            ]
        )
        guard case let .success(valid) = policy.validate(submission) else { fatalError("invalid benchmark submission") }
        return try await vault.submit(valid, policy: policy)
    }
    if fresh {
        // 100,000 people with one inquiry each, 64 at a time through the group commit.
        for start in stride(from: 0, to: people, by: 1_000) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in start..<min(start + 1_000, people) {
                    group.addTask { _ = try await submit("person\(index)@example.jp", index) }
                    if index % 64 == 63 { try await group.next() }
                }
                try await group.waitForAll()
            }
        }
        for index in 0..<heavyInquiries { _ = try await submit("heavy@example.jp", index) }
        FileManager.default.createFile(atPath: ready.path, contents: Data())
    }
    func subject(_ email: String) async throws -> String {
        let index = BlindIndex.of(email: email, key: ring.blindIndexKey)
        return try await data.read { db in
            try await db.select().column("id").from("subjects").where("email_index", .equal, index)
                .first(decodingColumn: "id", as: String.self)
        } ?? ""
    }
    shared.rights = SubjectRights(vault: vault)
    shared.heavy = try await subject("heavy@example.jp")
    shared.light = try await subject("person1@example.jp")
    // Erasure takes people from the end of the list; a later run erases others (it rebuilds when too few remain).
    shared.erasable = try await data.read { db in
        try await db.select().column("id").from("subjects").orderBy("created_at", .descending).limit(5_000)
            .all(decodingColumn: "id", as: String.self)
    }.filter { $0 != shared.heavy }
    if shared.erasable.count < 500 { try? FileManager.default.removeItem(at: ready) }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 3,
        maxDuration: .seconds(10),
        maxIterations: 200,
        setup: { try await prepare() }
    )

    Benchmark("Baseline: disclosure export of a person with 1 inquiry") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await Shared.instance.rights!.disclosure(subjectID: Shared.instance.light, actor: "bench", source: "bench")?.json())
        }
    }

    Benchmark("Disclosure export of a person with 1,000 inquiries among 100,000 people (JSON)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await Shared.instance.rights!.disclosure(subjectID: Shared.instance.heavy, actor: "bench", source: "bench")?.json())
        }
    }

    Benchmark("Erasure of one person (key destroyed, rows deleted, audited)") { benchmark in
        for _ in benchmark.scaledIterations {
            let shared = Shared.instance
            let subjectID = shared.erasable[shared.next % shared.erasable.count]
            shared.next += 1
            try await shared.rights!.erase(subjectID: subjectID, actor: "bench", source: "bench")
        }
    }
}
