import Foundation
import Hummingbird
import Logging
import MadoguchiCore

/// How `madoguchi serve` runs: where it listens, which database and which policy file.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var database: DatabaseLocation
    public var policyPath: String
    /// Where the wrapped person keys live: a database apart from the data (see docs/operations.md).
    public var keyStore: DatabaseLocation
    /// The master key file; created (0600) when it is the default and missing.
    public var keyFile: String
    /// The master key itself (base64), from `MADOGUCHI_MASTER_KEY`; wins over the file.
    public var masterKey: String?
    /// The public address of the site, for links in e-mails; `http://HOST:PORT` when nil.
    public var baseURL: String?
    /// Form and API submissions allowed per client: `capacity` at once, refilled over `windowSeconds`.
    public var submissionLimit: (capacity: Int, windowSeconds: Double)
    /// Consent events (`POST /api/v1/events`) and preference changes per client.
    public var eventLimit: (capacity: Int, windowSeconds: Double) = (120, 60)
    /// Where outgoing mail is written as `.eml` files.
    public var outboxDirectory: String
    /// The sender of every e-mail; the policy's request contact when nil.
    public var mailFrom: String?
    /// bcrypt work factor for staff passwords (tests lower it).
    public var bcryptCost: UInt8 = 12
    /// Queue mail but deliver none (`--hold-mail`).
    public var holdMail = false
    /// Deliver mail to this SMTP server instead of the outbox folder.
    public var smtp: SMTPConfiguration?
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`); none by default.
    public var trustedProxies: [IPNetwork] = []
    /// Campaign messages put into the outbox per minute (`--campaign-rate`).
    public var campaignsPerMinute = 600
    /// Where `/metrics` is served (`--metrics-host`, `--metrics-port`): its own listener, never the public one. Nil: no
    /// metrics are recorded.
    public var metrics: (host: String, port: Int)?
    /// PostgreSQL connections per database and process (`--pool-size`).
    public var poolSize = Database.defaultPoolSize

    public static let defaultKeyFile = "var/keys/master.key"
    public static let defaultKeyStore = DatabaseLocation.sqlite(path: "var/keys/keystore.sqlite")

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        database: DatabaseLocation = .defaultSQLite,
        policyPath: String = "examples/policy.yaml",
        keyStore: DatabaseLocation? = nil,
        keyFile: String? = nil,
        masterKey: String? = nil,
        baseURL: String? = nil,
        submissionLimit: (capacity: Int, windowSeconds: Double) = (10, 600),
        outboxDirectory: String = "var/outbox",
        mailFrom: String? = nil
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.policyPath = policyPath
        self.keyStore = keyStore ?? Self.defaultKeyStore
        self.keyFile = keyFile ?? Self.defaultKeyFile
        self.masterKey = masterKey
        self.baseURL = baseURL
        self.submissionLimit = submissionLimit
        self.outboxDirectory = outboxDirectory
        self.mailFrom = mailFrom
    }

    var publicBaseURL: String {
        (baseURL ?? "http://\(host):\(port)").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }
}

/// The parts of a running installation, prepared before the HTTP server starts.
public struct Installation: Sendable {
    public let configuration: ServerConfiguration
    public let database: Database
    public let keyStore: Database
    public let ring: KeyRing
    public let policy: Policy
    public let site: PolicySite
    public let vault: InquiryVault
    public let guardian: PurposeGuard
    public let staff: StaffDirectory
    public let storedNewVersion: Bool
    /// Keeps the audit chain checked for the console (only new entries per look) and the daily whole-chain check.
    public let auditWatch: AuditWatch

    /// The worker that delivers queued mail: to the SMTP server when one is configured, else to the outbox folder.
    public func outboxWorker(logger: Logger) throws -> OutboxWorker {
        let mailer: any Mailer =
            try configuration.smtp.map { SMTPMailer(configuration: $0) }
            ?? FileOutboxMailer(directory: URL(fileURLWithPath: configuration.outboxDirectory))
        return OutboxWorker(
            database: database,
            keys: vault.keys,
            mailer: mailer,
            from: configuration.mailFrom ?? policy.requests.email,
            messageDomain: URL(string: configuration.publicBaseURL)?.host ?? "madoguchi.invalid",
            logger: logger
        )
    }

    /// One pass of campaign delivery: up to `limit` messages of started campaigns into the outbox, each opened
    /// through the purpose guard; the mail worker sends them. True when more are queued.
    public func deliverCampaigns(limit: Int) async throws -> Bool {
        let policy = policy
        let base = configuration.publicBaseURL
        let resources = site.resources
        return try await CampaignDesk(guardian: guardian).deliver(limit: limit, policy: policy, unsubscribeKey: ring.unsubscribeKey) {
            campaign,
            to,
            links in
            CampaignMail.compose(campaign, to: to, links: links, policy: policy, baseURL: base, resources: resources)
        }
    }

    /// Closes both databases.
    public func close() async {
        await vault.keys.discardUnusedKeys()
        await database.close()
        await keyStore.close()
    }

    /// Loads and validates the policy file, opens and migrates the database, stores the policy version if it is
    /// new (R-VER-1) and renders the pages. Throws `PolicyFileError` for an invalid file: the server never starts on one.
    public static func prepare(_ configuration: ServerConfiguration, logger: Logger) async throws -> Installation {
        let (policy, source, warnings) = try PolicyLoader.loadReviewed(path: configuration.policyPath)
        logPolicyWarnings(warnings, logger: logger)
        let resources = try await SiteResources.bundled()
        if case .postgres = configuration.database, case .sqlite = configuration.keyStore {
            logger.warning(
                "the key store is a local SQLite file while the data is on PostgreSQL; with more than one server process, give every process the same --keystore postgres://… database"
            )
        }
        let keyStore = try await Database.open(configuration.keyStore, logger: logger, poolSize: configuration.poolSize)
        let database: Database
        do {
            database = try await Database.open(configuration.database, logger: logger, poolSize: configuration.poolSize)
        } catch {
            await keyStore.close()
            throw error
        }
        let ring: KeyRing
        do {
            ring = try await loadKeyRing(configuration, database: database, keyStore: keyStore, logger: logger)
            database.useAuditKey(ring.auditKey)
        } catch {
            await database.close()
            await keyStore.close()
            throw error
        }
        do {
            try await Migrations.apply(to: keyStore, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
            let report = try await Migrations.apply(to: database)
            if !report.applied.isEmpty {
                logger.info("database schema updated", metadata: ["applied": "\(report.applied)", "schema": "\(report.current)"])
            }
            let store = PolicyVersionStore(database: database)
            let outcome = try await store.store(policy, source: source)
            if outcome == .stored {
                logger.info("stored a new policy version", metadata: ["version": "\(policy.version)"])
            }
            // Servers on one database serve one version: the stored one whose text took effect last (R-OPS-1).
            var served = policy
            if let latest = try await store.latest(), latest != policy.version, let newer = try await store.policy(version: latest) {
                logger.warning(
                    "the policy file is not the latest stored version; serving the latest",
                    metadata: ["policy.file": "\(policy.version)", "policy.version": "\(latest)"]
                )
                served = newer
            }
            let site = try await PolicySite(current: served, store: store, resources: resources)
            let vault = InquiryVault(database: database, keys: SubjectKeyStore(database: keyStore, ring: ring))
            return Installation(
                configuration: configuration,
                database: database,
                keyStore: keyStore,
                ring: ring,
                policy: served,
                site: site,
                vault: vault,
                guardian: PurposeGuard(vault: vault, versions: store, current: served),
                staff: StaffDirectory(database: database, bcryptCost: configuration.bcryptCost),
                storedNewVersion: outcome == .stored,
                auditWatch: AuditWatch(database: database)
            )
        } catch {
            await database.close()
            await keyStore.close()
            throw error
        }
    }
}

/// What the law may require depending on the operator's situation (policy file warnings): logged at every start and
/// reload, never refused.
func logPolicyWarnings(_ warnings: [PolicyDiagnostic], logger: Logger) {
    for warning in warnings {
        logger.warning("policy file: \(warning.file):\(warning.line):\(warning.column): \(warning.text.en)")
    }
}

/// The master key: from the environment, the key file, or — only for an installation that holds no data yet — a new
/// key file. A missing key file beside stored data (a moved or lost file, a restored copy without its keys) is refused:
/// a new key would make everything stored before unreadable, and mail queued under it unreadable once the right key
/// is back.
func loadKeyRing(_ configuration: ServerConfiguration, database: Database, keyStore: Database, logger: Logger) async throws -> KeyRing {
    if configuration.masterKey == nil, !FileManager.default.fileExists(atPath: configuration.keyFile) {
        let holding =
            try await ExistingData.tablesWithRows(ExistingData.keyStoreTables, in: keyStore)
            + ExistingData.tablesWithRows(ExistingData.dataTables, in: database)
        if !holding.isEmpty {
            let path = configuration.keyFile
            throw KeyRingError(
                ja:
                    "鍵ファイル \(path) がありません。データベースにはすでにデータがあるため(\(holding.joined(separator: ", ")))、新しいマスター鍵は作りません。元の鍵ファイルをこの場所に戻すか、--key-file / MADOGUCHI_KEY_FILE でその場所を指定してください",
                en:
                    "the key file \(path) does not exist, and the databases already hold data (\(holding.joined(separator: ", "))), so no new master key is made; put the original key file back at this path or name its place with --key-file / MADOGUCHI_KEY_FILE"
            )
        }
    }
    return try KeyRing.load(path: configuration.keyFile, environmentKey: configuration.masterKey, createIfMissing: true, logger: logger)
}

/// The router with every route and middleware; tests drive it in-process.
public func buildRouter(_ installation: Installation) -> Router<SiteRequestContext> {
    let router = Router(context: SiteRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Middleware first: it wraps the routes added after it, and the not-found responder.
    // Outermost, so it counts what the client got (the error pages included), by route pattern, never by raw path.
    if installation.configuration.metrics != nil { router.add(middleware: MetricsMiddleware()) }
    router.add(middleware: ClientAddressMiddleware(resolver: ClientAddress(trusted: installation.configuration.trustedProxies)))
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorPageMiddleware(site: installation.site))
    let methodNotAllowed = MethodNotAllowedMiddleware<SiteRequestContext>()
    router.add(middleware: methodNotAllowed)
    PolicyController(site: installation.site).addRoutes(to: router)
    OperationsController(databases: [installation.database, installation.keyStore], site: installation.site).addRoutes(to: router)
    let limit = installation.configuration.submissionLimit
    let baseURL = installation.configuration.publicBaseURL
    InquiryController(
        policy: installation.policy,
        site: installation.site,
        vault: installation.vault,
        csrf: CSRFTokens(key: installation.ring.csrfKey),
        limiter: RateLimiter(.init(capacity: limit.capacity, window: limit.windowSeconds)),
        baseURL: baseURL,
        secureCookies: baseURL.hasPrefix("https://")
    ).addRoutes(to: router)
    RightsRequestController(
        policy: installation.policy,
        site: installation.site,
        desk: RightsRequestDesk(vault: installation.vault),
        limiter: RateLimiter(.init(capacity: limit.capacity, window: limit.windowSeconds)),
        addressLimit: AddressLimit(database: installation.database, scope: "request"),
        baseURL: baseURL,
        csrf: CSRFTokens(key: installation.ring.csrfKey),
        secureCookies: baseURL.hasPrefix("https://")
    ).addRoutes(to: router)
    ConsentController(
        policy: installation.policy,
        site: installation.site,
        ledger: ConsentLedger(database: installation.database),
        csrf: CSRFTokens(key: installation.ring.csrfKey),
        limiter: RateLimiter(
            .init(
                capacity: installation.configuration.eventLimit.capacity,
                window: installation.configuration.eventLimit.windowSeconds
            )
        ),
        baseURL: baseURL,
        secureCookies: baseURL.hasPrefix("https://")
    ).addRoutes(to: router)
    SelfServiceController(
        policy: installation.policy,
        site: installation.site,
        access: SelfService(vault: installation.vault),
        csrf: CSRFTokens(key: installation.ring.csrfKey),
        limiter: RateLimiter(.init(capacity: limit.capacity, window: limit.windowSeconds)),
        addressLimit: AddressLimit(database: installation.database, scope: "me"),
        secureCookies: baseURL.hasPrefix("https://")
    ).addRoutes(to: router)
    UnsubscribeController(
        policy: installation.policy,
        site: installation.site,
        campaigns: CampaignDesk(guardian: installation.guardian),
        key: installation.ring.unsubscribeKey,
        limiter: RateLimiter(.init(capacity: limit.capacity, window: limit.windowSeconds))
    ).addRoutes(to: router)
    SurveyController(
        policy: installation.policy,
        site: installation.site,
        surveys: SurveyDesk(guardian: installation.guardian),
        key: installation.ring.unsubscribeKey,
        csrf: CSRFTokens(key: installation.ring.csrfKey),
        limiter: RateLimiter(.init(capacity: limit.capacity, window: limit.windowSeconds)),
        secureCookies: baseURL.hasPrefix("https://")
    ).addRoutes(to: router)
    ConsoleController(
        policy: installation.policy,
        site: installation.site,
        staff: installation.staff,
        desk: InquiryDesk(guardian: installation.guardian),
        requests: RightsRequestDesk(vault: installation.vault),
        auditWatch: installation.auditWatch,
        campaigns: CampaignDesk(guardian: installation.guardian),
        csrf: CSRFTokens(key: installation.ring.csrfKey),
        limiter: RateLimiter(.init(capacity: limit.capacity, window: limit.windowSeconds)),
        baseURL: baseURL,
        secureCookies: baseURL.hasPrefix("https://")
    ).addRoutes(to: router)
    // Last: every path routed above answers the methods it does not take with 405 and `Allow`.
    methodNotAllowed.complete(with: router)
    return router
}

/// The HTTP application for `installation`.
public func buildApplication(_ live: LiveInstallation, configuration: ServerConfiguration, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: live,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger
    )
}
