import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import SQLKit

let quietLogger: Logger = {
    var logger = Logger(label: "madoguchi.test")
    logger.logLevel = .critical
    return logger
}()

/// Prepares an installation on a fresh database of `kind` and drives its router in-process.
func withServer<R: Sendable>(
    _ kind: TestDatabase = .sqlite,
    policyPath: String = Fixtures.examplePolicyPath,
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (Installation, any TestClientProtocol) async throws -> R
) async throws -> R {
    let fresh = try await kind.makeLocation()
    let keys = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: keys) }
    do {
        var configuration = testConfiguration(fresh.location, keys: keys, policyPath: policyPath)
        configure(&configuration)
        let installation = try await Installation.prepare(configuration, logger: quietLogger)
        let result: R
        do {
            let app = Application(router: buildRouter(installation), logger: quietLogger)
            result = try await app.test(.router) { client in try await body(installation, client) }
        } catch {
            await installation.close()
            throw error
        }
        await installation.close()
        try await fresh.cleanUp()
        return result
    } catch {
        try? await fresh.cleanUp()
        throw error
    }
}

/// A configuration whose key file and key store live in `keys`, never in the working directory.
func testConfiguration(
    _ database: DatabaseLocation,
    keys: URL,
    policyPath: String = Fixtures.examplePolicyPath,
    limit: (Int, Double) = (1_000, 60)
) -> ServerConfiguration {
    var configuration = ServerConfiguration(
        database: database,
        policyPath: policyPath,
        keyStore: .sqlite(path: keys.appendingPathComponent("keystore.sqlite").path),
        keyFile: keys.appendingPathComponent("master.key").path,
        submissionLimit: limit
    )
    configuration.bcryptCost = 4
    return configuration
}

extension TestResponse {
    var text: String { String(buffer: body) }
}

extension String {
    /// How the Mustache templates escape text.
    var htmlEscaped: String {
        replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    func occurrences(of needle: String) -> Int {
        components(separatedBy: needle).count - 1
    }
}

/// The locale strings as the server loads them.
func strings(_ language: Language) async throws -> [String: String] {
    try await SiteResources.bundled().text(language)
}

/// Writes `text` to a new temporary policy file.
func temporaryPolicy(_ text: String) throws -> String {
    let directory = try Fixtures.temporaryDirectory()
    let url = directory.appendingPathComponent("policy.yaml")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

/// Collects every log line, to prove what is and is not logged.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []

    var lines: [String] { lock.withLock { storage } }

    func append(_ line: String) { lock.withLock { storage.append(line) } }

    var logger: Logger {
        Logger(label: "capture") { _ in CapturingHandler(capture: self) }
    }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }
}

extension Installation {
    /// The subject id of the person with `email`, found as the server finds them: by the blind index.
    func subjectID(email: String) async throws -> String {
        let index = BlindIndex.of(email: email, key: ring.blindIndexKey)
        return try await database.read { db in
            try await db.select().column("id").from("subjects").where("email_index", .equal, index).first(decodingColumn: "id", as: String.self)
        } ?? ""
    }
}
