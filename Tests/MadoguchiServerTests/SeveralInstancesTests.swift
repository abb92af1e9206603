import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import SQLKit
import Testing

/// A transport shared by several servers that counts what each address receives.
final class CountingMailer: Mailer, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var received: [String: Int] = [:]

    func send(_ message: MailMessage) async throws {
        lock.withLock { received[message.messageID, default: 0] += 1 }
    }
}

/// Three `serve` instances on one PostgreSQL behave as one (R-OPS-1): a simultaneous start migrates once and stores
/// the policy version once; inquiries sent to any of them are stored once each in one audit chain; mail queued by one
/// is delivered by whichever worker claims it, each message exactly once.
@Suite("Several instances on one PostgreSQL", .enabled(if: TestDatabase.postgresURL != nil))
struct SeveralInstancesTests {
    @Test("R-OPS-1: three instances start at once, take inquiries and events concurrently, and deliver each mail once")
    func threeInstances() async throws {
        let data = try await TestDatabase.postgres.makeLocation()
        let keyStore = try await TestDatabase.postgres.makeLocation()
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = testConfiguration(data.location, keys: directory)
        configuration.keyStore = keyStore.location
        configuration.masterKey = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        configuration.holdMail = true
        let shared = configuration

        // A simultaneous start: migrations run once, the policy version is stored once.
        let installations = try await withThrowingTaskGroup(of: Installation.self) { group in
            for _ in 0..<3 { group.addTask { try await Installation.prepare(shared, logger: quietLogger) } }
            return try await group.reduce(into: [Installation]()) { $0.append($1) }
        }
        #expect(installations.filter(\.storedNewVersion).count == 1, "one instance stores the new version")
        let (migrations, distinctMigrations, versions) = try await installations[0].database.read { db in
            (
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("madoguchi_schema").first(
                    decodingColumn: "n",
                    as: Int.self
                ),
                try await db.raw("SELECT COUNT(DISTINCT version) AS n FROM madoguchi_schema").first(decodingColumn: "n", as: Int.self),
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("policy_versions").first(
                    decodingColumn: "n",
                    as: Int.self
                )
            )
        }
        #expect(migrations == Migrations.all.count && distinctMigrations == Migrations.all.count && versions == 1)

        // Concurrent load on all three: 30 inquiries and 30 consent events, spread over the instances.
        let apps = installations.map { Application(router: buildRouter($0), logger: quietLogger) }
        try await apps[0].test(.router) { first in
            try await apps[1].test(.router) { second in
                try await apps[2].test(.router) { third in
                    let clients: [any TestClientProtocol] = [first, second, third]
                    let list = VendorList.version(of: installations[0].policy)
                    let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, HTTPResponse.Status).self) { group in
                        for index in 0..<30 {
                            let client = clients[index % 3]
                            group.addTask {
                                let inquiry = try await client.execute(
                                    uri: "/api/v1/inquiries",
                                    method: .post,
                                    headers: [.contentType: "application/json"],
                                    body: ByteBuffer(
                                        string:
                                            #"{"service":"agent","fields":{"name":"利用者 \#(index)","email":"person\#(index)@example.jp","topic":"other","message":"質問 \#(index)"}}"#
                                    )
                                )
                                let event = try await ConsentTests.event(
                                    client,
                                    #"{"id":"\#(ConsentEvent.newIdentifier())","kind":"notice","vendor_list":"\#(list)"}"#
                                )
                                return (inquiry.status, event.status)
                            }
                        }
                        return try await group.reduce(into: [(HTTPResponse.Status, HTTPResponse.Status)]()) { $0.append($1) }
                    }
                    #expect(statuses.allSatisfy { $0.0 == .created && $0.1 == .noContent }, "\(statuses)")
                }
            }
        }
        let counts = try await installations[1].database.read { db in
            (
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("inquiries").first(
                    decodingColumn: "n",
                    as: Int.self
                ),
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("subjects").first(
                    decodingColumn: "n",
                    as: Int.self
                ),
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("consent_events").first(
                    decodingColumn: "n",
                    as: Int.self
                ),
                try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("outbox").first(
                    decodingColumn: "n",
                    as: Int.self
                )
            )
        }
        #expect(counts.0 == 30 && counts.1 == 30 && counts.2 == 30 && counts.3 == 30, "\(counts)")
        // One audit chain, intact, whichever instance wrote each entry.
        guard case let .intact(entries) = try await AuditLog.verify(installations[2].database) else {
            Issue.record("the audit chain is broken")
            return
        }
        #expect(entries >= 30)

        // Three mail workers at once: every queued message is delivered exactly once.
        let mailer = CountingMailer()
        let workers = installations.map { installation in
            OutboxWorker(
                database: installation.database,
                keys: installation.vault.keys,
                mailer: mailer,
                from: "privacy@mirai-career.example",
                messageDomain: "example",
                logger: quietLogger
            )
        }
        let sent = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in workers {
                group.addTask {
                    var total = 0
                    while true {
                        let pass = try await worker.deliverDue(limit: 4)
                        total += pass.sent
                        if pass.sent == 0 { return total }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(sent == 30)
        #expect(mailer.received.count == 30 && mailer.received.values.allSatisfy { $0 == 1 }, "\(mailer.received)")

        for installation in installations { await installation.close() }
        try await data.cleanUp()
        try await keyStore.cleanUp()
    }
}
