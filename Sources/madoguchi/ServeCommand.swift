import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import MadoguchiServer
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "サーバーを動かします。 / Run the server.",
        discussion:
            "足りないマイグレーションを適用し、新しい版ならポリシーファイルを記録して、\n公開ポリシーを配信します。ポリシーファイルに誤りがあれば起動しません。\nApplies missing migrations, stores the policy file's version if it is new, and serves the published policy. Refuses to start on an invalid policy file."
    )

    @Option(help: "待ち受けるアドレス。環境変数: MADOGUCHI_HOST。既定: 127.0.0.1\nAddress to listen on. Env: MADOGUCHI_HOST. Default: 127.0.0.1")
    var host: String?

    @Option(help: "待ち受けるポート。環境変数: MADOGUCHI_PORT。既定: 8080\nPort to listen on. Env: MADOGUCHI_PORT. Default: 8080")
    var port: Int?

    @Option(help: "ポリシーファイル。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file. Env: MADOGUCHI_POLICY. Default: examples/policy.yaml")
    var policy: String?

    @Option(
        help:
            "本人ごとの鍵の置き場所(データとは別): sqlite:パス か postgres://…。環境変数: MADOGUCHI_KEYSTORE_URL。既定: sqlite:var/keys/keystore.sqlite\nWhere person keys are kept, apart from the data: sqlite:PATH or postgres://…. Env: MADOGUCHI_KEYSTORE_URL. Default: sqlite:var/keys/keystore.sqlite"
    )
    var keystore: String?

    @Option(
        name: .customLong("key-file"),
        help:
            "マスター鍵のファイル(無ければ 0600 で作ります)。環境変数: MADOGUCHI_KEY_FILE。鍵そのもの(base64)を MADOGUCHI_MASTER_KEY で渡すこともできます。既定: var/keys/master.key\nThe master key file (created 0600 if missing). Env: MADOGUCHI_KEY_FILE; or give the key itself (base64) in MADOGUCHI_MASTER_KEY. Default: var/keys/master.key"
    )
    var keyFile: String?

    @Option(
        name: .customLong("base-url"),
        help:
            "サイトの公開アドレス(メール内のリンク用)。環境変数: MADOGUCHI_BASE_URL。既定: http://HOST:PORT\nThe site's public address, for links in e-mails. Env: MADOGUCHI_BASE_URL. Default: http://HOST:PORT"
    )
    var baseURL: String?

    @Option(
        name: .customLong("rate-limit"),
        help:
            "送信元ごとの送信の上限(フォームと API)、回数/秒数。環境変数: MADOGUCHI_RATE_LIMIT。既定: 10/600\nSubmissions per client as COUNT/SECONDS (form and API). Env: MADOGUCHI_RATE_LIMIT. Default: 10/600"
    )
    var rateLimit: String?

    @Option(
        name: .customLong("event-rate-limit"),
        help:
            "送信元ごとの同意イベントと設定変更の上限、回数/秒数。環境変数: MADOGUCHI_EVENT_RATE_LIMIT。既定: 120/60\nConsent events and preference changes per client as COUNT/SECONDS. Env: MADOGUCHI_EVENT_RATE_LIMIT. Default: 120/60"
    )
    var eventRateLimit: String?

    @Option(
        help:
            "送信メールを .eml ファイルとして書き出すフォルダー。環境変数: MADOGUCHI_OUTBOX。既定: var/outbox\nFolder where outgoing e-mail is written as .eml files. Env: MADOGUCHI_OUTBOX. Default: var/outbox"
    )
    var outbox: String?

    @Option(
        help:
            "この SMTP サーバーでメールを送ります: smtp://ユーザー:パスワード@ホスト:587?security=starttls(security は none、starttls、tls のどれか)か smtps://ホスト:465(tls と同じ)。環境変数: MADOGUCHI_SMTP_URL。既定: --outbox に .eml ファイルを書き出す\nSend mail through this SMTP server: smtp://user:password@host:587?security=starttls (security: none, starttls or tls), or smtps://host:465 (the same as tls). Env: MADOGUCHI_SMTP_URL. Default: write .eml files to --outbox"
    )
    var smtp: String?

    @Option(
        name: .customLong("mail-from"),
        help:
            "すべてのメールの差出人アドレス。環境変数: MADOGUCHI_MAIL_FROM。既定: ポリシーの請求窓口のアドレス\nSender address of every e-mail. Env: MADOGUCHI_MAIL_FROM. Default: the policy's request contact"
    )
    var mailFrom: String?

    @Flag(
        name: .customLong("hold-mail"),
        help:
            "メールを送信待ちに積むだけで送りません(本番データの検証用コピー、SMTP の移行時など)。このフラグなしで後に起動したサーバーが送ります。環境変数: MADOGUCHI_HOLD_MAIL=1\nQueue e-mail in the outbox but deliver none (a staging copy of production data, an SMTP migration); a later server without the flag sends the queue. Env: MADOGUCHI_HOLD_MAIL=1"
    )
    var holdMail = false

    @Option(
        name: .customLong("campaign-rate"),
        help:
            "配信(メールマガジン・お知らせ)を 1 分に何通まで送信待ちに積むか(1〜100000)。環境変数: MADOGUCHI_CAMPAIGN_RATE。既定: 600\nHow many campaign messages a minute go into the outbox (1–100000). Env: MADOGUCHI_CAMPAIGN_RATE. Default: 600"
    )
    var campaignRate: Int?

    @Option(
        name: .customLong("trusted-proxy"),
        help:
            "X-Forwarded-For を信頼するリバースプロキシのアドレスまたは CIDR(複数可、カンマ区切りも可)。送信元ごとの上限は、そのヘッダーの右から見て最初の信頼しないアドレスに掛かります。環境変数: MADOGUCHI_TRUSTED_PROXIES。既定: なし(接続元アドレス)\nA reverse proxy's address or CIDR whose X-Forwarded-For is believed (repeat, or separate with commas); per-client limits then apply to the rightmost hop that is not trusted. Env: MADOGUCHI_TRUSTED_PROXIES. Default: none (the socket peer)"
    )
    var trustedProxy: [String] = []

    @Option(
        name: .customLong("metrics-port"),
        help:
            "/metrics(Prometheus 形式)を公開ポートとは別のこのポートで出します。環境変数: MADOGUCHI_METRICS_PORT。既定: なし(出さない)\nServe /metrics (Prometheus text) on this port, apart from the public one. Env: MADOGUCHI_METRICS_PORT. Default: none (no metrics)"
    )
    var metricsPort: Int?

    @Option(
        name: .customLong("metrics-host"),
        help:
            "/metrics を待ち受けるアドレス。環境変数: MADOGUCHI_METRICS_HOST。既定: 127.0.0.1\nAddress the /metrics listener binds to. Env: MADOGUCHI_METRICS_HOST. Default: 127.0.0.1"
    )
    var metricsHost: String?

    @Option(
        name: .customLong("smtp-helo"),
        help:
            "SMTP の EHLO で名乗るホスト名。環境変数: MADOGUCHI_SMTP_HELO。既定: --base-url のホスト名(なければ madoguchi.localhost)\nThe host name given in SMTP's EHLO. Env: MADOGUCHI_SMTP_HELO. Default: the host of --base-url (else madoguchi.localhost)"
    )
    var smtpHelo: String?

    @Option(
        name: .customLong("bounce-address"),
        help:
            "エンベロープの差出人(MAIL FROM): 配送できなかった通知の届け先。環境変数: MADOGUCHI_BOUNCE_ADDRESS。既定: --mail-from と同じ\nThe envelope sender (MAIL FROM), where bounces go. Env: MADOGUCHI_BOUNCE_ADDRESS. Default: the same as --mail-from"
    )
    var bounceAddress: String?

    @Option(
        name: .customLong("pool-size"),
        help:
            "PostgreSQL への接続数の上限(データと鍵の保管庫それぞれ、このプロセスで)。環境変数: MADOGUCHI_POOL_SIZE。既定: 16。サーバーの台数 × 2 × この数が PostgreSQL の max_connections に収まるようにしてください\nPostgreSQL connections at most, to the data and to the key store each, for this process. Env: MADOGUCHI_POOL_SIZE. Default: 16. Keep servers × 2 × this within PostgreSQL's max_connections"
    )
    var poolSize: Int?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    /// The trusted proxies from the options or the environment; an entry that is not an address or CIDR is refused.
    static func trustedProxies(_ given: [String], environment: String?) throws -> [IPNetwork] {
        let entries = (given.isEmpty ? [environment ?? ""] : given).flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try entries.map { entry in
            guard let network = IPNetwork(entry) else {
                throw Bilingual.refusal(
                    "--trusted-proxy: '\(entry)' は IP アドレスでも CIDR(例: 10.0.0.0/8, fd00::/8)でもありません",
                    "--trusted-proxy: '\(entry)' is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)"
                )
            }
            return network
        }
    }

    func configuration() throws -> ServerConfiguration {
        let portValue = try Self.wholeNumber(
            port,
            option: "--port",
            environment: "MADOGUCHI_PORT",
            fallback: 8080,
            range: 0...65535,
            kind: LocalizedText(ja: "ポート番号", en: "a port number")
        )
        let keyStoreLocation: DatabaseLocation?
        if let text = keystore ?? Environment.value("MADOGUCHI_KEYSTORE_URL") {
            do {
                keyStoreLocation = try DatabaseLocation(parsing: text)
            } catch {
                throw Bilingual.refusal("--keystore: \(error.text.ja)", "--keystore: \(error.text.en)")
            }
        } else {
            keyStoreLocation = nil
        }
        let (count, seconds) = try Self.limit(rateLimit ?? Environment.value("MADOGUCHI_RATE_LIMIT") ?? "10/600", option: "--rate-limit")
        let events = try Self.limit(eventRateLimit ?? Environment.value("MADOGUCHI_EVENT_RATE_LIMIT") ?? "120/60", option: "--event-rate-limit")
        if let base = baseURL ?? Environment.value("MADOGUCHI_BASE_URL"),
            !(base.hasPrefix("http://") || base.hasPrefix("https://")) || URL(string: base)?.host == nil
        {
            throw Bilingual.refusal("--base-url: '\(base)' は http(s) のアドレスではありません", "--base-url: '\(base)' is not an http(s) address")
        }
        var smtpConfiguration: SMTPConfiguration?
        if let text = smtp ?? Environment.value("MADOGUCHI_SMTP_URL") {
            do {
                smtpConfiguration = try SMTPConfiguration(url: text)
            } catch {
                throw Bilingual.refusal("--smtp: \(error.text.ja)", "--smtp: \(error.text.en)")
            }
        }
        var configuration = ServerConfiguration(
            host: host ?? Environment.value("MADOGUCHI_HOST") ?? "127.0.0.1",
            port: portValue,
            database: try database.location(),
            policyPath: policy ?? Environment.value("MADOGUCHI_POLICY") ?? "examples/policy.yaml",
            keyStore: keyStoreLocation,
            keyFile: keyFile ?? Environment.value("MADOGUCHI_KEY_FILE"),
            masterKey: Environment.value("MADOGUCHI_MASTER_KEY"),
            baseURL: baseURL ?? Environment.value("MADOGUCHI_BASE_URL"),
            submissionLimit: (count, seconds),
            outboxDirectory: outbox ?? Environment.value("MADOGUCHI_OUTBOX") ?? "var/outbox",
            mailFrom: try sender()
        )
        if var smtp = smtpConfiguration {
            let baseHost = (baseURL ?? Environment.value("MADOGUCHI_BASE_URL")).flatMap { URL(string: $0)?.host }
            let helo = smtpHelo ?? Environment.value("MADOGUCHI_SMTP_HELO") ?? baseHost ?? smtp.heloName
            guard SMTPConfiguration.isValidHeloName(helo) else {
                throw Bilingual.refusal(
                    "--smtp-helo: '\(helo)' はホスト名ではありません(英数字とハイフンをドットで区切った名前)",
                    "--smtp-helo: '\(helo)' is not a host name (letters, digits and hyphens in dot-separated labels)"
                )
            }
            smtp.heloName = helo
            if let bounce = bounceAddress ?? Environment.value("MADOGUCHI_BOUNCE_ADDRESS") {
                guard EmailAddress.isValid(bounce) else {
                    throw Bilingual.refusal(
                        "--bounce-address: '\(bounce)' はメールアドレスではありません",
                        "--bounce-address: '\(bounce)' is not an e-mail address"
                    )
                }
                smtp.bounceAddress = bounce
            }
            smtpConfiguration = smtp
        } else if let given = smtpHelo ?? bounceAddress {
            throw Bilingual.refusal(
                "'\(given)': --smtp-helo と --bounce-address は --smtp(SMTP で送るとき)と一緒に使います",
                "'\(given)': --smtp-helo and --bounce-address go with --smtp (delivery by SMTP)"
            )
        }
        configuration.smtp = smtpConfiguration
        configuration.trustedProxies = try Self.trustedProxies(trustedProxy, environment: Environment.value("MADOGUCHI_TRUSTED_PROXIES"))
        configuration.holdMail = try holdMail || Environment.flag("MADOGUCHI_HOLD_MAIL")
        configuration.eventLimit = events
        let rate = try Self.wholeNumber(
            campaignRate,
            option: "--campaign-rate",
            environment: "MADOGUCHI_CAMPAIGN_RATE",
            fallback: 600,
            range: 1...100_000,
            kind: LocalizedText(ja: "数", en: "a number")
        )
        configuration.campaignsPerMinute = rate
        if metricsPort != nil || Environment.value("MADOGUCHI_METRICS_PORT") != nil {
            let port = try Self.wholeNumber(
                metricsPort,
                option: "--metrics-port",
                environment: "MADOGUCHI_METRICS_PORT",
                fallback: 0,
                range: 1...65535,
                kind: LocalizedText(ja: "ポート番号", en: "a port number")
            )
            guard port != configuration.port else {
                throw Bilingual.refusal(
                    "--metrics-port: \(port) は公開ポートと同じです。/metrics は別のポートで出します",
                    "--metrics-port: \(port) is the public port; /metrics is served on a port of its own"
                )
            }
            configuration.metrics = (metricsHost ?? Environment.value("MADOGUCHI_METRICS_HOST") ?? "127.0.0.1", port)
        }
        configuration.poolSize = try Self.wholeNumber(
            poolSize,
            option: "--pool-size",
            environment: "MADOGUCHI_POOL_SIZE",
            fallback: Database.defaultPoolSize,
            range: 1...1_000,
            kind: LocalizedText(ja: "数", en: "a number")
        )
        return configuration
    }

    /// A whole number from its flag, else its environment variable, else `fallback`; refused by name when the variable
    /// is not `kind` or the value is outside `range`.
    static func wholeNumber(
        _ flag: Int?,
        option: String,
        environment name: String,
        fallback: Int,
        range: ClosedRange<Int>,
        kind: LocalizedText
    ) throws -> Int {
        let value: Int
        if let flag {
            value = flag
        } else if let text = Environment.value(name) {
            guard let parsed = Int(text) else {
                throw Bilingual.refusal("\(name): '\(text)' は\(kind.ja)ではありません", "\(name): '\(text)' is not \(kind.en)")
            }
            value = parsed
        } else {
            value = fallback
        }
        guard range.contains(value) else {
            throw Bilingual.refusal(
                "\(option): \(value) は \(range.lowerBound)〜\(range.upperBound) の範囲にありません",
                "\(option): \(value) is not between \(range.lowerBound) and \(range.upperBound)"
            )
        }
        return value
    }

    static func limit(_ text: String, option: String) throws -> (Int, Double) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let count = Int(parts[0]), let seconds = Double(parts[1]), count > 0, seconds > 0 else {
            throw Bilingual.refusal("\(option): '\(text)' は「回数/秒数」の形ではありません(例: 10/600)", "\(option): '\(text)' is not COUNT/SECONDS, e.g. 10/600")
        }
        return (count, seconds)
    }

    private func sender() throws -> String? {
        guard let address = mailFrom ?? Environment.value("MADOGUCHI_MAIL_FROM") else { return nil }
        guard EmailAddress.isValid(address) else {
            throw Bilingual.refusal("--mail-from: '\(address)' はメールアドレスではありません", "--mail-from: '\(address)' is not an e-mail address")
        }
        return address
    }

    /// Refuses bad options and environment values before anything starts, with `serve`'s own usage below the error.
    func validate() throws {
        _ = try configuration()
    }

    func run() async throws {
        let configuration = try configuration()
        let logger = try logging.makeLogger(label: "madoguchi")
        // The metrics backend is chosen before anything records (the databases' group commits, the routes).
        let registry = PrometheusCollectorRegistry()
        if configuration.metrics != nil { MetricsEndpoint.bootstrap(registry) }
        // One server per SQLite file (held until the process ends); then why either store cannot be used, at once.
        var locks: [ServerLock] = []
        for case let .sqlite(path) in [configuration.database, configuration.keyStore] {
            locks.append(try ServerLock.acquire(databasePath: path))
        }
        try await Database.probe(configuration.database, logger: logger)
        try await Database.probe(configuration.keyStore, label: ("鍵の保管庫", "key store"), logger: logger)
        let installation: Installation
        do {
            installation = try await Installation.prepare(configuration, logger: logger)
        } catch let error as PolicyFileError {
            report(error)
            Bilingual.warn("madoguchi: ポリシーファイルに誤りがあるため起動しません", "madoguchi: not starting: the policy file is invalid")
            throw ExitCode(1)
        } catch let error as PolicyVersionConflict {
            Bilingual.warn("madoguchi: 起動しません: \(error.text.ja)", "madoguchi: not starting: \(error.text.en)")
            throw ExitCode(1)
        } catch let error as KeyRingError {
            Bilingual.warn("madoguchi: 起動しません: \(error.text.ja)", "madoguchi: not starting: \(error.text.en)")
            throw ExitCode(ExitStatus.unreachable)
        }
        logger.info(
            "serving",
            metadata: [
                "address": "http://\(configuration.host):\(configuration.port)", "database": "\(configuration.database)",
                "policy": "\(configuration.policyPath)", "policy.version": "\(installation.policy.version)",
            ]
        )
        let live = LiveInstallation(installation)
        let app = buildApplication(live, configuration: configuration, logger: logger)
        let housekeeping = Housekeeping(database: installation.database, logger: logger)
        // The databases first, so they close last; the HTTP server last, so it stops first.
        var services: [any ServiceLifecycle.Service] = [
            InstallationService(installation),
            // Which master keys this server holds, every minute, so that a key rotation waits until all hold the new
            // one; removed at shutdown (outside the cancelled task).
            BackgroundService("key ring") { [database = installation.database, ring = installation.ring] in
                let holder = UUID().uuidString
                await Periodic.run(every: KeyRotation.announceInterval, logger: logger, failure: "key ring announcement failed") {
                    try await KeyRotation.announce(database, holder: holder, ring: ring)
                    return false
                }
                await Task.detached { try? await KeyRotation.leave(database, holder: holder) }.value
            },
            // Housekeeping, the retention purge and the daily audit check run on one server at a time (job leases).
            BackgroundService("housekeeping") { [database = installation.database] in
                await housekeeping.run(every: .seconds(600), lease: JobLease(database: database, name: "housekeeping"))
            },
            // Retention (R-RET-1): once an hour, whoever no purpose needs is erased; one server at a time (a lease).
            BackgroundService("retention purge") { [installation] in
                let purge = RetentionPurge(vault: installation.vault)
                let holder = JobLease.processHolder
                await Periodic.run(every: .seconds(3_600), logger: logger, failure: "retention purge failed") {
                    if let erased = try await purge.run(policy: live.installation.policy, holder: holder), !erased.isEmpty {
                        logger.notice("retention purge erased people no purpose needs any more", metadata: ["count": "\(erased.count)"])
                    }
                    return false
                }
            },
            // The console's audit page checks only new entries; the whole chain is recomputed at start and once a day.
            BackgroundService("audit check") { [watch = installation.auditWatch, database = installation.database] in
                await watch.checkWholeChain(every: .seconds(86_400), logger: logger, lease: JobLease(database: database, name: "audit-check"))
            },
            // One policy version on every server (R-OPS-1): SIGHUP loads this server's policy file again; every few
            // seconds each server adopts the latest version stored by any of them (or by `madoguchi policy load`).
            BackgroundService("policy reload") {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    logger.notice("SIGHUP: loading the policy file again", metadata: ["policy": "\(configuration.policyPath)"])
                    await live.reloadFile(logger: logger)
                }
            },
            BackgroundService("policy watch") {
                await Periodic.run(every: .seconds(Self.policyWatchSeconds), logger: logger, failure: "policy watch failed") {
                    try await live.adoptLatest(logger: logger)
                    return false
                }
            },
        ]
        if configuration.holdMail {
            logger.notice("mail is held: queued in the outbox, not delivered (--hold-mail)")
        } else {
            let worker = try installation.outboxWorker(logger: logger)
            if configuration.smtp == nil {
                logger.notice(
                    "mail transport: files in the outbox folder (development only)",
                    metadata: ["outbox": "\(configuration.outboxDirectory)"]
                )
                if !Self.isLoopback(configuration.host) {
                    // Delivered .eml files hold people's addresses and messages in plain text, and an erasure does not
                    // reach them: a server others can reach must deliver by SMTP.
                    logger.warning(
                        "the file mail transport is for development only: it keeps delivered mail as plain .eml files that erasure does not reach; give --smtp for a server others can reach",
                        metadata: ["host": "\(configuration.host)"]
                    )
                }
            } else {
                logger.notice(
                    "mail transport: SMTP",
                    metadata: [
                        "smtp": "\(configuration.smtp.map { "\($0)" } ?? "")", "helo": "\(configuration.smtp?.heloName ?? "")",
                        "bounces": "\(configuration.smtp?.bounceAddress ?? "the sender")",
                    ]
                )
            }
            services.append(BackgroundService("mail delivery") { await worker.run() })
            // Campaign mail goes into the outbox at the configured rate: a sixth of a minute's share every 10 seconds.
            let batch = max(1, configuration.campaignsPerMinute / 6)
            services.append(
                BackgroundService("campaign delivery") {
                    await Periodic.run(every: .seconds(10), logger: logger, failure: "campaign delivery failed") {
                        _ = try await live.installation.deliverCampaigns(limit: batch)
                        return false
                    }
                }
            )
        }
        if let metrics = configuration.metrics {
            let endpoint = MetricsEndpoint(registry: registry, live: live)
            services.append(
                Application(
                    router: endpoint.router(logger: logger),
                    configuration: .init(address: .hostname(metrics.host, port: metrics.port), serverName: nil),
                    logger: logger
                )
            )
            logger.notice("metrics: /metrics served apart from the site", metadata: ["address": "http://\(metrics.host):\(metrics.port)/metrics"])
        }
        // The HTTP server starts last and, on SIGTERM or SIGINT, stops first (requests in flight finish); then the
        // background work ends; then the databases close (InstallationService).
        services.append(app)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        // The SQLite locks are held until every service has stopped and the databases are closed.
        withExtendedLifetime(locks) {}
    }
}

extension Serve {
    /// How often a server looks for a policy version stored by another (`policy load`, another server's SIGHUP).
    static let policyWatchSeconds: Int64 = 5

    /// True for the loopback addresses and `localhost`: only this machine can reach the server.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
