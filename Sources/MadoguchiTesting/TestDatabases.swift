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
            return FreshLocation(location: .sqlite(path: directory.appendingPathComponent("test.sqlite").path),
                                 url: "sqlite:" + directory.appendingPathComponent("test.sqlite").path) {
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
