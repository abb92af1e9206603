import Benchmark
import Crypto
import Foundation
import Logging
import MadoguchiCore
import SQLKit

// Sending a campaign through a real SMTP server (issue #17: "bounded by the peer, not by Madoguchi"). One iteration
// sends 500 messages either way, to aiosmtpd (`scripts/smtp-sink.py`, writing each message to a file):
//
// - baseline: the same 500 rendered messages handed straight to `SMTPMailer`, 4 at a time (the outbox worker's
//   parallelism) — what the peer takes without Madoguchi in front of it;
// - campaign: a new campaign to the same 500 consenting people, started (audience queued), written into the outbox
//   through the purpose guard (each address opened and audited, each message sealed), then delivered by the outbox
//   worker over SMTP until none is left — every step a person's mail takes.
//
//   scripts/bench-campaign-send.sh            (starts the sink, then runs this target)
//   MADOGUCHI_BENCH_SMTP_URL=smtp://127.0.0.1:PORT?security=none MADOGUCHI_BENCHMARKS=1 \
//     swift package benchmark --target CampaignSendingBenchmarks
//
// SQLite in a fresh temporary directory; with MADOGUCHI_BENCH_POSTGRES_URL, that (empty) PostgreSQL database.

final class Shared: @unchecked Sendable {
    // Written once by the setup hook before any iteration runs, then only read.
    var desk: CampaignDesk?
    var worker: OutboxWorker?
    var mailer: SMTPMailer?
    var policy: Policy?
    var messages: [MailMessage] = []
    static let instance = Shared()
}

let recipients = 500
let unsubscribeKey = SymmetricKey(size: .bits256)

func prepare() async throws {
    let shared = Shared.instance
    if shared.desk != nil { return }
    guard let smtp = ProcessInfo.processInfo.environment["MADOGUCHI_BENCH_SMTP_URL"] else {
        fatalError("set MADOGUCHI_BENCH_SMTP_URL (scripts/bench-campaign-send.sh starts a sink and sets it)")
    }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("madoguchi-bench-send-\(UUID().uuidString)")
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
    data.useAuditKey(ring.auditKey)
    let policyText = try String(contentsOfFile: "examples/policy.yaml", encoding: .utf8)
    let policy = try PolicyLoader.parse(yaml: policyText, file: "examples/policy.yaml")
    let versions = PolicyVersionStore(database: data)
    try await versions.store(policy, source: policyText)
    let vault = InquiryVault(database: data, keys: SubjectKeyStore(database: keyStore, ring: ring))
    for index in 0..<recipients {
        let submission = InquirySubmission(
            serviceID: "agent",
            values: ["name": "試験 太郎", "email": "person\(index)@example.jp", "topic": "service", "message": "ベンチマーク"],
            consentToOptionalPurposes: true
        )
        guard case let .success(valid) = policy.validate(submission) else { fatalError("invalid submission") }
        let receipt = try await vault.submit(valid, policy: policy)
        _ = try await vault.confirm(number: receipt.number, token: vault.confirmationToken(number: receipt.number))
    }
    // The confirmations' receipt mail is not part of the measurement.
    try await data.transaction { db in try await db.raw("DELETE FROM outbox").run() }
    let mailer = SMTPMailer(configuration: try SMTPConfiguration(url: smtp))
    shared.mailer = mailer
    shared.worker = OutboxWorker(
        database: data,
        keys: vault.keys,
        mailer: mailer,
        from: "privacy@mirai-career.example",
        messageDomain: "mirai-career.example",
        logger: logger
    )
    shared.policy = policy
    shared.messages = (0..<recipients).map { index in
        let mail = compose(body: "新しい求人をご紹介します。", to: "person\(index)@example.jp", token: "t\(index)")
        return MailMessage(
            from: "privacy@mirai-career.example",
            to: mail.to,
            subject: mail.subject,
            body: mail.body,
            messageID: "b\(index)@mirai-career.example",
            date: Date(),
            listUnsubscribe: mail.listUnsubscribe
        )
    }
    shared.desk = CampaignDesk(guardian: PurposeGuard(vault: vault, versions: versions, current: policy))
}

func compose(body: String, to: String, token: String) -> OutgoingMail {
    OutgoingMail(
        to: to,
        subject: "ミライキャリアからのお知らせ",
        body: body + "\n\n配信停止: https://mirai-career.example/unsubscribe/\(token)",
        listUnsubscribe: "https://mirai-career.example/unsubscribe/\(token)"
    )
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock],
        warmupIterations: 1,
        maxDuration: .seconds(60),
        maxIterations: 8,
        setup: { try await prepare() }
    )

    Benchmark("Baseline: 500 messages straight to the SMTP server, 4 at a time") { benchmark in
        let shared = Shared.instance
        for _ in benchmark.scaledIterations {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = shared.messages.makeIterator()
                for _ in 0..<4 {
                    guard let message = next.next() else { break }
                    group.addTask { try await shared.mailer!.send(message) }
                }
                while try await group.next() != nil {
                    if let message = next.next() { group.addTask { try await shared.mailer!.send(message) } }
                }
            }
        }
    }

    Benchmark("Campaign of 500: started, written through the purpose guard, delivered by the outbox over SMTP") { benchmark in
        for _ in benchmark.scaledIterations {
            try await writeCampaign()
            try await deliverOutbox()
        }
    }

    Benchmark("The outbox alone: 500 campaign messages already written, delivered over SMTP") { benchmark in
        try await writeCampaign()
        benchmark.startMeasurement()
        try await deliverOutbox()
        benchmark.stopMeasurement()
    }
}

/// A new campaign to the 500 people, started and written into the outbox through the purpose guard.
func writeCampaign() async throws {
    let shared = Shared.instance
    let desk = shared.desk!
    let campaign = try await desk.create(
        kind: .magazine,
        purposeID: "marketing",
        services: ["agent"],
        subject: "ミライキャリアからのお知らせ",
        body: "新しい求人をご紹介します。",
        by: "bench",
        policy: shared.policy!
    )
    guard try await desk.start(id: campaign.id, by: "bench") == recipients else { fatalError("audience") }
    _ = try await desk.deliver(limit: recipients, policy: shared.policy!, unsubscribeKey: unsubscribeKey) { campaign, to, links in
        compose(body: campaign.body, to: to, token: links.unsubscribe)
    }
}

/// The outbox worker's passes until every queued message is sent.
func deliverOutbox() async throws {
    var sent = 0
    while sent < recipients {
        let pass = try await Shared.instance.worker!.deliverDue(limit: 50)
        guard pass.failed == 0, pass.retried == 0, pass.sent > 0 else { fatalError("delivery: \(pass)") }
        sent += pass.sent
    }
}
