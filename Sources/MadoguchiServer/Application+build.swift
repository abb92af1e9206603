import Hummingbird
import Logging
import MadoguchiCore

/// How `madoguchi serve` runs: where it listens, which database and which policy file.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var database: DatabaseLocation
    public var policyPath: String

    public init(host: String = "127.0.0.1", port: Int = 8080, database: DatabaseLocation = .defaultSQLite,
                policyPath: String = "examples/policy.yaml") {
        self.host = host
        self.port = port
        self.database = database
        self.policyPath = policyPath
    }
}

/// The parts of a running installation, prepared before the HTTP server starts.
public struct Installation: Sendable {
    public let database: Database
    public let policy: Policy
    public let site: PolicySite
    public let storedNewVersion: Bool

    /// Loads and validates the policy file, opens and migrates the database, stores the policy version if it is
    /// new (R-VER-1) and renders the pages. Throws `PolicyFileError` for an invalid file: the server never starts on one.
    public static func prepare(_ configuration: ServerConfiguration, logger: Logger) async throws -> Installation {
        let (policy, source) = try PolicyLoader.load(path: configuration.policyPath)
        let resources = try await SiteResources.bundled()
        let database = try await Database.open(configuration.database, logger: logger)
        do {
            let report = try await Migrations.apply(to: database)
            if !report.applied.isEmpty {
                logger.info("database schema updated", metadata: ["applied": "\(report.applied)", "schema": "\(report.current)"])
            }
            let store = PolicyVersionStore(database: database)
            let outcome = try await store.store(policy, source: source)
            if outcome == .stored {
                logger.info("stored a new policy version", metadata: ["version": "\(policy.version)"])
            }
            let site = try await PolicySite(current: policy, store: store, resources: resources)
            return Installation(database: database, policy: policy, site: site, storedNewVersion: outcome == .stored)
        } catch {
            await database.close()
            throw error
        }
    }
}

/// The router with every route and middleware; tests drive it in-process.
public func buildRouter(_ installation: Installation) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Middleware first: it wraps the routes added after it, and the not-found responder.
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorPageMiddleware(site: installation.site))
    PolicyController(site: installation.site).addRoutes(to: router)
    OperationsController(database: installation.database, site: installation.site).addRoutes(to: router)
    return router
}

/// The HTTP application for `installation`.
public func buildApplication(_ installation: Installation, configuration: ServerConfiguration, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: buildRouter(installation),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
}
