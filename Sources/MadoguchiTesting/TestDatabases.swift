import Crypto
import Foundation
import Logging
import MadoguchiCore
import SQLKit

/// The databases a test runs against: SQLite always, PostgreSQL when `MADOGUCHI_TEST_POSTGRES_URL` is set.
public enum TestDatabase: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    /// The databases available in this run; use as `@Test(arguments: TestDatabase.available)`.
    public static var available: [TestDatabase] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    public static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["MADOGUCHI_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// True when the run must include PostgreSQL (CI sets `MADOGUCHI_REQUIRE_POSTGRES=1`).
    public static var postgresRequired: Bool {
        ProcessInfo.processInfo.environment["MADOGUCHI_REQUIRE_POSTGRES"] == "1"
    }

    public var description: String { rawValue }

    static let logger: Logger = {
        var logger = Logger(label: "madoguchi.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a fresh, empty database of this kind: a new SQLite file, or a new PostgreSQL schema
    /// that is dropped afterwards.
    public func withFresh<R: Sendable>(_ body: (DatabaseLocation, Database) async throws -> R) async throws -> R {
        let location = try await makeLocation()
        let database = try await Database.open(location.location, logger: Self.logger)
        do {
            let result = try await body(location.location, database)
            await database.close()
            try await location.cleanUp()
            return result
        } catch {
            await database.close()
            try? await location.cleanUp()
            throw error
        }
    }

    /// A fresh location that the caller opens itself (to test opening, e.g. the CLI); clean up with the returned closure.
    public func makeLocation() async throws -> FreshLocation {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("madoguchi-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return FreshLocation(
                location: .sqlite(path: directory.appendingPathComponent("test.sqlite").path),
                url: "sqlite:" + directory.appendingPathComponent("test.sqlite").path
            ) {
                try? FileManager.default.removeItem(at: directory)
            }
        case .postgres:
            guard let base = Self.postgresURL else { throw TestDatabaseError("MADOGUCHI_TEST_POSTGRES_URL is not set") }
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
            let admin = try await Database.open(try DatabaseLocation(parsing: base), logger: Self.logger)
            try await admin.transaction { db in try await db.raw(SQLQueryString("CREATE SCHEMA \(unsafeRaw: String(schema))")).run() }
            await admin.close()
            var components = URLComponents(string: base)!
            components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "search_path", value: String(schema))]
            let url = components.string!
            Self.recordPostgresRun()
            return FreshLocation(location: try DatabaseLocation(parsing: url), url: url) {
                let admin = try await Database.open(try DatabaseLocation(parsing: base), logger: Self.logger)
                try await admin.transaction { db in try await db.raw(SQLQueryString("DROP SCHEMA \(unsafeRaw: String(schema)) CASCADE")).run() }
                await admin.close()
            }
        }
    }

    /// CI checks this file to prove the PostgreSQL tests ran.
    static func recordPostgresRun() {
        guard let path = ProcessInfo.processInfo.environment["MADOGUCHI_TEST_POSTGRES_LOG"], !path.isEmpty else { return }
        let line = Data("postgres test database created\n".utf8)
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(line)
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: line)
        }
    }
}

/// A database location made for one test, with its clean-up.
public struct FreshLocation: Sendable {
    public let location: DatabaseLocation
    /// The same location as a `--database` URL.
    public let url: String
    public let cleanUp: @Sendable () async throws -> Void
}

public struct TestDatabaseError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Paths of the repository the tests run from.
public enum Fixtures {
    public static let repositoryRoot: URL = {
        // Sources/MadoguchiTesting/TestDatabases.swift -> the package root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    public static var examplePolicyPath: String {
        repositoryRoot.appendingPathComponent("examples/policy.yaml").path
    }

    public static func examplePolicyText() throws -> String {
        try String(contentsOfFile: examplePolicyPath, encoding: .utf8)
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("madoguchi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A data database and a separate key store, both fresh and migrated, with a new key ring.
public struct VaultFixture: Sendable {
    public let data: Database
    public let keyStore: Database
    public let ring: KeyRing
    public let policy: Policy
    public let vault: InquiryVault
    public let guardian: PurposeGuard
    public let dataLocation: DatabaseLocation
    public let keyStoreLocation: DatabaseLocation

    /// Runs `body` with a fixture on `kind` (the key store is SQLite, as in the default installation).
    public static func with<R: Sendable>(_ kind: TestDatabase, _ body: (VaultFixture) async throws -> R) async throws -> R {
        let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
        return try await kind.withFresh { dataLocation, data in
            try await TestDatabase.sqlite.withFresh { keyLocation, keyStore in
                try await Migrations.apply(to: data)
                try await Migrations.apply(to: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
                let ring = try KeyRing(keys: [SymmetricKey(size: .bits256)])
                data.useAuditKey(ring.auditKey)
                let versions = PolicyVersionStore(database: data)
                try await versions.store(policy, source: "")
                let vault = InquiryVault(database: data, keys: SubjectKeyStore(database: keyStore, ring: ring))
                let fixture = VaultFixture(
                    data: data,
                    keyStore: keyStore,
                    ring: ring,
                    policy: policy,
                    vault: vault,
                    guardian: PurposeGuard(vault: vault, versions: versions, current: policy),
                    dataLocation: dataLocation,
                    keyStoreLocation: keyLocation
                )
                return try await body(fixture)
            }
        }
    }

    /// A valid submission for `service` from `email`.
    public func submission(
        service: String = "agent",
        email: String = "taro@example.jp",
        name: String = "山田 太郎",
        message: String = "転職の相談をしたいです。",
        consent: Bool = false
    ) -> InquirySubmission {
        InquirySubmission(
            serviceID: service,
            values: ["name": name, "email": email, "topic": "service", "message": message],
            consentToOptionalPurposes: consent
        )
    }

    public func submit(_ submission: InquirySubmission) async throws -> InquiryReceipt {
        guard case let .success(valid) = policy.validate(submission) else { throw TestDatabaseError("invalid submission") }
        return try await vault.submit(valid, policy: policy)
    }

    /// An outbox worker on this fixture's databases that hands mail to `mailer`.
    public func outboxWorker(_ mailer: any Mailer) -> OutboxWorker {
        OutboxWorker(
            database: data,
            keys: vault.keys,
            mailer: mailer,
            from: "privacy@mirai-career.example",
            messageDomain: "example",
            logger: Logger(label: "test")
        )
    }

    /// Submits and then confirms by the receipt mail's link, as the address's owner does.
    public func submitConfirmed(_ submission: InquirySubmission) async throws -> InquiryReceipt {
        let receipt = try await submit(submission)
        guard case .confirmed = try await vault.confirm(number: receipt.number, token: vault.confirmationToken(number: receipt.number)) else {
            throw TestDatabaseError("not confirmed")
        }
        return receipt
    }
}
