import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Synchronization
import MadoguchiCore
import MadoguchiServer

@main
struct MadoguchiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "madoguchi",
        abstract: "窓口(Madoguchi): プライバシーポリシーを公開し、その約束を守る問い合わせサイト。 / Madoguchi (窓口): the inquiry site behind a privacy policy, which publishes the policy and keeps it.",
        discussion: """
        どのオプションも環境変数(名前は各オプションの説明にあります)で渡せます。
        コマンドラインのフラグが優先します。設定がなければ、madoguchi serve は
        SQLite のファイル var/madoguchi.sqlite と examples/policy.yaml で動きます。

        Every option can also come from an environment variable (named in its help); a flag on the command line wins. \
        With no configuration, `madoguchi serve` runs on the SQLite file var/madoguchi.sqlite with examples/policy.yaml.
        """,
        subcommands: [Serve.self, Migrate.self, PolicyCommand.self, AuditCommand.self, UserCommand.self, CalendarCommand.self, RequestsCommand.self, ScanCommand.self])
}

extension Database {
    /// Opens `location`, runs `body`, and closes the database whether or not `body` throws.
    static func using<R: Sendable>(_ location: DatabaseLocation, logger: Logger, _ body: (Database) async throws -> R) async throws -> R {
        let database = try await Database.open(location, logger: logger)
        do {
            let result = try await body(database)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }
}

/// Options shared by the commands that open the database.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"),
            help: "データベースの URL: sqlite:パス か postgres://ユーザー:パスワード@ホスト:ポート/DB[?tlsmode=disable|prefer|require]。環境変数: MADOGUCHI_DATABASE_URL。既定: sqlite:var/madoguchi.sqlite\nDatabase URL: sqlite:PATH or postgres://user:password@host:port/db[?tlsmode=disable|prefer|require]. Env: MADOGUCHI_DATABASE_URL. Default: sqlite:var/madoguchi.sqlite")
    var url: String?

    func location() throws -> DatabaseLocation {
        guard let text = url ?? Environment.value("MADOGUCHI_DATABASE_URL") else { return .defaultSQLite }
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw Bilingual.refusal("--database: \(error.text.ja)", "--database: \(error.text.en)")
        }
    }
}

/// Where a command finds the master key: `--key-file`, or `MADOGUCHI_MASTER_KEY` / `MADOGUCHI_KEY_FILE`.
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("key-file"), help: "マスター鍵のファイル。環境変数: MADOGUCHI_KEY_FILE(鍵そのものは MADOGUCHI_MASTER_KEY)。既定: var/keys/master.key\nThe master key file. Env: MADOGUCHI_KEY_FILE (or the key itself in MADOGUCHI_MASTER_KEY). Default: var/keys/master.key")
    var keyFile: String?

    var path: String { keyFile ?? Environment.value("MADOGUCHI_KEY_FILE") ?? ServerConfiguration.defaultKeyFile }

    /// The key ring. A missing key file is never created here: the key is made by the first `serve`, beside the data
    /// it will seal; a command run in the wrong directory must not make a second one.
    func ring(logger: Logger) throws -> KeyRing {
        let environmentKey = Environment.value("MADOGUCHI_MASTER_KEY")
        if environmentKey == nil, !FileManager.default.fileExists(atPath: path) {
            throw KeyRingError(
                ja: "鍵ファイル \(path) がありません。--key-file か MADOGUCHI_KEY_FILE で鍵ファイルを指定してください(鍵は最初の madoguchi serve が作ります)",
                en: "the key file \(path) does not exist; name it with --key-file or MADOGUCHI_KEY_FILE (the first madoguchi serve makes the key)")
        }
        return try KeyRing.load(path: path, environmentKey: environmentKey, createIfMissing: false, logger: logger)
    }
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical のどれか。環境変数: MADOGUCHI_LOG_LEVEL。既定: info\ntrace, debug, info, notice, warning, error or critical. Env: MADOGUCHI_LOG_LEVEL. Default: info")
    var level: String?

    func makeLogger(label: String) throws -> Logger {
        let text = level ?? Environment.value("MADOGUCHI_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: text) else {
            throw Bilingual.refusal("--log-level: '\(text)' は trace, debug, info, notice, warning, error, critical のどれでもありません",
                                        "--log-level: '\(text)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingBootstrap.once(level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

enum LoggingBootstrap {
    private static let done = Mutex(false)

    static func once(level: Logger.Level) {
        done.withLock { done in
            guard !done else { return }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            done = true
        }
    }
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// An on/off variable: 1, true, yes, on, or 0, false, no, off (unset is off).
    static func flag(_ name: String) throws -> Bool {
        guard let value = value(name) else { return false }
        switch value.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw Bilingual.refusal("\(name): '\(value)' は 1 でも 0 でもありません(true/false、yes/no、on/off も可)",
                                         "\(name): '\(value)' is not 1 or 0 (true/false, yes/no, on/off)")
        }
    }
}

/// Loads the policy file named by `option`, `MADOGUCHI_POLICY` or the example; an invalid file prints every problem
/// and ends the command with exit status 1.
func loadPolicy(_ option: String?) throws -> Policy {
    do {
        return try PolicyLoader.load(path: option ?? Environment.value("MADOGUCHI_POLICY") ?? "examples/policy.yaml")
    } catch {
        report(error)
        throw ExitCode(1)
    }
}

/// Prints every problem of an invalid policy file: `FILE:LINE:COLUMN: 日本語`, the English wording indented below.
func report(_ error: PolicyFileError) {
    for diagnostic in error.diagnostics {
        FileHandle.standardError.write(Data("\(diagnostic)\n".utf8))
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "サーバーを動かします。 / Run the server.",
        discussion: "足りないマイグレーションを適用し、新しい版ならポリシーファイルを記録して、\n公開ポリシーを配信します。ポリシーファイルに誤りがあれば起動しません。\nApplies missing migrations, stores the policy file's version if it is new, and serves the published policy. Refuses to start on an invalid policy file.")

    @Option(help: "待ち受けるアドレス。環境変数: MADOGUCHI_HOST。既定: 127.0.0.1\nAddress to listen on. Env: MADOGUCHI_HOST. Default: 127.0.0.1")
    var host: String?

    @Option(help: "待ち受けるポート。環境変数: MADOGUCHI_PORT。既定: 8080\nPort to listen on. Env: MADOGUCHI_PORT. Default: 8080")
    var port: Int?

    @Option(help: "ポリシーファイル。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file. Env: MADOGUCHI_POLICY. Default: examples/policy.yaml")
    var policy: String?

    @Option(help: "本人ごとの鍵の置き場所(データとは別): sqlite:パス か postgres://…。環境変数: MADOGUCHI_KEYSTORE_URL。既定: sqlite:var/keys/keystore.sqlite\nWhere person keys are kept, apart from the data: sqlite:PATH or postgres://…. Env: MADOGUCHI_KEYSTORE_URL. Default: sqlite:var/keys/keystore.sqlite")
    var keystore: String?

    @Option(name: .customLong("key-file"), help: "マスター鍵のファイル(無ければ 0600 で作ります)。環境変数: MADOGUCHI_KEY_FILE。鍵そのもの(base64)を MADOGUCHI_MASTER_KEY で渡すこともできます。既定: var/keys/master.key\nThe master key file (created 0600 if missing). Env: MADOGUCHI_KEY_FILE; or give the key itself (base64) in MADOGUCHI_MASTER_KEY. Default: var/keys/master.key")
    var keyFile: String?

    @Option(name: .customLong("base-url"), help: "サイトの公開アドレス(メール内のリンク用)。環境変数: MADOGUCHI_BASE_URL。既定: http://HOST:PORT\nThe site's public address, for links in e-mails. Env: MADOGUCHI_BASE_URL. Default: http://HOST:PORT")
    var baseURL: String?

    @Option(name: .customLong("rate-limit"), help: "送信元ごとの送信の上限(フォームと API)、回数/秒数。環境変数: MADOGUCHI_RATE_LIMIT。既定: 10/600\nSubmissions per client as COUNT/SECONDS (form and API). Env: MADOGUCHI_RATE_LIMIT. Default: 10/600")
    var rateLimit: String?

    @Option(name: .customLong("event-rate-limit"), help: "送信元ごとの同意イベントと設定変更の上限、回数/秒数。環境変数: MADOGUCHI_EVENT_RATE_LIMIT。既定: 120/60\nConsent events and preference changes per client as COUNT/SECONDS. Env: MADOGUCHI_EVENT_RATE_LIMIT. Default: 120/60")
    var eventRateLimit: String?

    @Option(help: "送信メールを .eml ファイルとして書き出すフォルダー。環境変数: MADOGUCHI_OUTBOX。既定: var/outbox\nFolder where outgoing e-mail is written as .eml files. Env: MADOGUCHI_OUTBOX. Default: var/outbox")
    var outbox: String?

    @Option(help: "この SMTP サーバーでメールを送ります: smtp://ユーザー:パスワード@ホスト:587?security=starttls(または none)か smtps://ホスト:465。環境変数: MADOGUCHI_SMTP_URL。既定: --outbox に .eml ファイルを書き出す\nSend mail through this SMTP server: smtp://user:password@host:587?security=starttls (or none), or smtps://host:465. Env: MADOGUCHI_SMTP_URL. Default: write .eml files to --outbox")
    var smtp: String?

    @Option(name: .customLong("mail-from"), help: "すべてのメールの差出人アドレス。環境変数: MADOGUCHI_MAIL_FROM。既定: ポリシーの請求窓口のアドレス\nSender address of every e-mail. Env: MADOGUCHI_MAIL_FROM. Default: the policy's request contact")
    var mailFrom: String?

    @Flag(name: .customLong("hold-mail"), help: "メールを送信待ちに積むだけで送りません(本番データの検証用コピー、SMTP の移行時など)。このフラグなしで後に起動したサーバーが送ります。環境変数: MADOGUCHI_HOLD_MAIL=1\nQueue e-mail in the outbox but deliver none (a staging copy of production data, an SMTP migration); a later server without the flag sends the queue. Env: MADOGUCHI_HOLD_MAIL=1")
    var holdMail = false

    @Option(name: .customLong("trusted-proxy"), help: "X-Forwarded-For を信頼するリバースプロキシのアドレスまたは CIDR(複数可、カンマ区切りも可)。送信元ごとの上限は、そのヘッダーの右から見て最初の信頼しないアドレスに掛かります。環境変数: MADOGUCHI_TRUSTED_PROXIES。既定: なし(接続元アドレス)\nA reverse proxy's address or CIDR whose X-Forwarded-For is believed (repeat, or separate with commas); per-client limits then apply to the rightmost hop that is not trusted. Env: MADOGUCHI_TRUSTED_PROXIES. Default: none (the socket peer)")
    var trustedProxy: [String] = []

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    /// The trusted proxies from the options or the environment; an entry that is not an address or CIDR is refused.
    static func trustedProxies(_ given: [String], environment: String?) throws -> [IPNetwork] {
        let entries = (given.isEmpty ? [environment ?? ""] : given).flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try entries.map { entry in
            guard let network = IPNetwork(entry) else {
                throw Bilingual.refusal("--trusted-proxy: '\(entry)' は IP アドレスでも CIDR(例: 10.0.0.0/8, fd00::/8)でもありません",
                                        "--trusted-proxy: '\(entry)' is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)")
            }
            return network
        }
    }

    func configuration() throws -> ServerConfiguration {
        let portValue: Int
        if let port {
            portValue = port
        } else if let text = Environment.value("MADOGUCHI_PORT") {
            guard let parsed = Int(text) else {
                throw Bilingual.refusal("MADOGUCHI_PORT: '\(text)' はポート番号ではありません", "MADOGUCHI_PORT: '\(text)' is not a port number")
            }
            portValue = parsed
        } else {
            portValue = 8080
        }
        guard (0...65535).contains(portValue) else {
            throw Bilingual.refusal("--port: \(portValue) は 0〜65535 の範囲にありません", "--port: \(portValue) is not between 0 and 65535")
        }
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
           !(base.hasPrefix("http://") || base.hasPrefix("https://")) || URL(string: base)?.host == nil {
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
            mailFrom: try sender())
        configuration.smtp = smtpConfiguration
        configuration.trustedProxies = try Self.trustedProxies(trustedProxy, environment: Environment.value("MADOGUCHI_TRUSTED_PROXIES"))
        configuration.holdMail = try holdMail || Environment.flag("MADOGUCHI_HOLD_MAIL")
        configuration.eventLimit = events
        return configuration
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
            throw ExitCode(1)
        }
        logger.info("serving", metadata: [
            "address": "http://\(configuration.host):\(configuration.port)", "database": "\(configuration.database)",
            "policy": "\(configuration.policyPath)", "policy.version": "\(installation.policy.version)",
        ])
        let app = buildApplication(installation, configuration: configuration, logger: logger)
        let housekeeping = Housekeeping(database: installation.database, logger: logger)
        let cleaning = Task { await housekeeping.run(every: .seconds(600)) }
        // The console's audit page checks only new entries; the whole chain is recomputed at start and once a day.
        let auditCheck = Task { [watch = installation.auditWatch] in await watch.checkWholeChain(every: .seconds(86_400), logger: logger) }
        let delivery: Task<Void, Never>
        if configuration.holdMail {
            logger.notice("mail is held: queued in the outbox, not delivered (--hold-mail)")
            delivery = Task {}
        } else {
            let worker = try installation.outboxWorker(logger: logger)
            if configuration.smtp == nil {
                logger.notice("mail transport: files in the outbox folder (development only)", metadata: ["outbox": "\(configuration.outboxDirectory)"])
                if !Self.isLoopback(configuration.host) {
                    // Delivered .eml files hold people's addresses and messages in plain text, and an erasure does not
                    // reach them: a server others can reach must deliver by SMTP.
                    logger.warning("the file mail transport is for development only: it keeps delivered mail as plain .eml files that erasure does not reach; give --smtp for a server others can reach",
                                   metadata: ["host": "\(configuration.host)"])
                }
            } else {
                logger.notice("mail transport: SMTP")
            }
            delivery = Task { await worker.run() }
        }
        // The background work ends before the databases close, so none of it runs into a closed connection.
        let background = [cleaning, auditCheck, delivery]
        func stop() async {
            for task in background { task.cancel() }
            for task in background { await task.value }
            await installation.close()
        }
        do {
            try await app.runService()
        } catch {
            await stop()
            throw error
        }
        await stop()
    }
}

extension Serve {
    /// True for the loopback addresses and `localhost`: only this machine can reach the server.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "データベースのスキーマを作る・更新します。 / Create or update the database schema.",
        discussion: "足りない段階を順に、それぞれ一つのトランザクションで適用します。もう一度実行しても何も変わりません。\nApplies every missing step in order, each in a transaction; running it again changes nothing.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let location = try database.location()
        let logger = try logging.makeLogger(label: "madoguchi.migrate")
        let report = try await Database.using(location, logger: logger) { try await Migrations.apply(to: $0) }
        let steps = report.applied.map(String.init).joined(separator: ", ")
        if report.applied.isEmpty {
            Bilingual.say("\(location): スキーマは最新です(版 \(report.current))", "\(location): schema is up to date (version \(report.current))")
        } else {
            Bilingual.say("\(location): \(steps) を適用しました。スキーマの版は \(report.current) です",
                          "\(location): applied \(steps); schema is at version \(report.current)")
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "ポリシーファイルを確認する・描きます。 / Check or render a policy file.",
        subcommands: [Check.self, Render.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ポリシーファイルを検証します。 / Validate policy files.",
            discussion: "問題ごとに FILE:LINE:COLUMN: と日本語の説明を、次の字下げした行に英語を出します。すべて正しければ終了コード 0、一つでも誤りがあれば 1。\nPrints every problem as FILE:LINE:COLUMN: and the problem in Japanese, then in English on an indented line. Exits 0 when all files are valid, 1 when any is not.")

        @Argument(help: "確認するポリシーファイル。\nThe policy files to check.")
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw Bilingual.refusal("確認するポリシーファイルを一つ以上挙げてください", "name at least one policy file to check") }
        }

        func run() async throws {
            var failed = false
            for file in files {
                do {
                    let policy: Policy = try PolicyLoader.load(path: file)
                    Bilingual.say("\(file): 正常(版 \(policy.version)、サービス \(policy.services.count)、利用目的 \(policy.purposes.count)、項目 \(policy.fields.count)、外部送信先 \(policy.vendors.count))",
                                  "\(file): ok (version \(policy.version), \(policy.services.count) services, \(policy.purposes.count) purposes, \(policy.fields.count) fields, \(policy.vendors.count) vendors)")
                } catch {
                    report(error)
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "公開ポリシーのページか、その JSON を出します。 / Print the published policy page or its JSON.",
            discussion: "データベースなしで描くので、過去の版の一覧は出ません。\nRenders without a database, so the page lists no earlier versions.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case html, json }
        enum Page: String, ExpressibleByArgument, CaseIterable { case full, external }

        @Option(help: "ポリシーファイル。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file. Env: MADOGUCHI_POLICY. Default: examples/policy.yaml")
        var policy: String?

        @Option(help: "ja か en。\nja or en.")
        var lang: Language = .ja

        @Option(help: "html か json。\nhtml or json.")
        var format: Format = .html

        @Option(help: "full(ポリシー全体)か external(外部送信の表だけ)。\nfull (the whole policy) or external (the external-transmission table alone).")
        var page: Page = .full

        func run() async throws {
            let loaded = try loadPolicy(policy)
            let kind: PolicyPageKind = format == .json ? .json : (page == .full ? .full : .externalTransmission)
            let output = kind == .json
                ? loaded.publishedJSON(pretty: true)
                : Data(try PolicySite.render(loaded, kind, lang, resources: try await SiteResources.bundled()).body.readableBytesView)
            FileHandle.standardOutput.write(output)
            if kind == .json { print() }
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "監査ログを扱います。 / Work with the audit log.",
        subcommands: [Verify.self, Head.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "監査ログのハッシュチェーンを確かめます。 / Check the audit log's hash chain.",
            discussion: "すべての項目のハッシュを(鍵付きの項目はマスター鍵で)計算し直します。--expect で、外に控えておいた先頭(audit head の出力)がまだあるかも確かめます。正常なら終了コード 0、そうでなければ最初に途切れた項目を示して 1、鍵やデータベースを読めなければ 3。\nRecomputes every entry's hash (keyed entries with the master key); with --expect, also checks that a head kept outside (the output of audit head) is still there. Exits 0 when intact, 1 naming the first broken entry, 3 when the key or the database cannot be read.")

        @Option(help: "まだあるはずの項目 SEQ:HASH(audit head の出力)。その項目が無いか違えば 1 で終わります。\nAn entry SEQ:HASH that must still be there (the output of audit head); exits 1 when it is gone or different.")
        var expect: String?

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if let expect, AuditHead.parse(expect) == nil {
                throw Bilingual.refusal("--expect: '\(expect)' は SEQ:HASH(audit head の出力)ではありません",
                                        "--expect: '\(expect)' is not SEQ:HASH (the output of audit head)")
            }
        }

        func run() async throws {
            let location = try database.location()
            let logger = try logging.makeLogger(label: "madoguchi.audit")
            let anchor = expect.flatMap(AuditHead.parse)
            let outcome: (AuditVerification, Bool)
            do {
                outcome = try await Database.using(location, logger: logger) { db in
                    db.useAuditKey(try keys.ring(logger: logger).auditKey)
                    let verification = try await AuditLog.verify(db)
                    var anchored = true
                    if let anchor { anchored = try await AuditLog.contains(anchor, in: db) }
                    return (verification, anchored)
                }
            } catch let error as KeyRingError {
                Bilingual.warn("madoguchi: \(error.text.ja)", "madoguchi: \(error.text.en)")
                throw ExitCode(3)
            }
            switch outcome {
            case let (.broken(sequence, reason), _):
                Bilingual.warn("監査ログのハッシュチェーンが \(sequence) 件目で途切れています: \(reason.worded(try await SiteResources.bundled().text(.ja)))",
                               "audit log broken at entry \(sequence): \(reason)")
                throw ExitCode(1)
            case (.intact, false):
                let missing = anchor?.sequence ?? 0
                Bilingual.warn("控えておいた監査ログの項目 \(missing) がないか、内容が変わっています(末尾が削られたか書き換えられています)",
                               "the audit log entry \(missing) kept outside is gone or different (the chain was cut back or rewritten)")
                throw ExitCode(1)
            case let (.intact(entries), true):
                Bilingual.say("監査ログのハッシュチェーンは正常です(\(entries) 件)", "audit log intact: \(entries) entries")
            }
        }
    }

    struct Head: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "監査ログの先頭(最新の項目の番号とハッシュ)を出します。 / Print the audit log's head (the newest entry's number and hash).",
            discussion: "データベースの外(別のサーバー、チケット、紙)に控えてください。後で audit verify --expect SEQ:HASH が、その項目がまだあるかを確かめます。\nKeep it outside the database (another server, a ticket, paper); audit verify --expect SEQ:HASH later checks that the entry is still there.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let head = try await Database.using(try database.location(), logger: try logging.makeLogger(label: "madoguchi.audit")) { db in
                try await AuditLog.head(in: db)
            }
            // Data for scripts: one line, SEQ:HASH.
            print(head.map { "\($0.sequence):\($0.hash)" } ?? "0:\(AuditCheckpoint.genesis.hash)")
        }
    }
}

/// `SEQ:HASH`, as `audit head` prints it.
enum AuditHead {
    static func parse(_ text: String) -> AuditCheckpoint? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let number = text[..<colon], hash = text[text.index(after: colon)...]
        guard (1...18).contains(number.count), number.allSatisfy({ $0.isASCII && $0.isNumber }), let sequence = Int(number),
              (64...67).contains(hash.count), hash.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == "k") }) else { return nil }
        return AuditCheckpoint(sequence: sequence, hash: String(hash))
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "職員のアカウントを管理します。 / Manage staff accounts.",
        subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "職員のアカウントを加え、1 回限りの設定用リンク(24 時間有効)を出します。 / Add a staff account and print its one-time set-up link (valid 24 hours).",
            discussion: "役割: admin、privacy-officer、operator(すべての問い合わせ)、department(--department に回された問い合わせだけ)。\nRoles: admin, privacy-officer, operator (all inquiries), department (only inquiries forwarded to --department).")

        @Option(help: "職員のメールアドレス(サインイン名)。\nThe staff member's e-mail address (their sign-in name).")
        var email: String

        @Option(help: "admin、privacy-officer、operator、department のどれか。\nadmin, privacy-officer, operator or department.")
        var role: String

        @Option(help: "ポリシーファイルの部署 ID(department の役割では必須)。\nThe department id from the policy file (required for the department role).")
        var department: String?

        @Option(help: "ポリシーファイル(部署 ID のため)。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file (for department ids). Env: MADOGUCHI_POLICY. Default: examples/policy.yaml")
        var policy: String?

        @Option(name: .customLong("base-url"), help: "サイトの公開アドレス(リンク用)。環境変数: MADOGUCHI_BASE_URL。既定: http://127.0.0.1:8080\nThe site's public address, for the link. Env: MADOGUCHI_BASE_URL. Default: http://127.0.0.1:8080")
        var baseURL: String?

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            guard let staffRole = StaffRole(rawValue: role) else {
                let roles = StaffRole.allCases.map(\.rawValue).joined(separator: ", ")
                throw Bilingual.refusal("--role: '\(role)' は \(roles) のどれでもありません", "--role: '\(role)' is not one of \(roles)")
            }
            let loaded = try loadPolicy(policy)
            let added: (user: StaffUser, setupToken: String)
            do {
                let logger = try logging.makeLogger(label: "madoguchi.user")
                added = try await Database.using(try database.location(), logger: logger) { db in
                    // The account's audit entry joins the keyed chain.
                    db.useAuditKey(try keys.ring(logger: logger).auditKey)
                    try await Migrations.apply(to: db)
                    return try await StaffDirectory(database: db).add(email: email, role: staffRole, departmentID: department,
                                                                      policy: loaded, actor: "cli")
                }
            } catch let error as StaffError {
                Bilingual.warn("madoguchi: \(error.text.ja)", "madoguchi: \(error.text.en)")
                throw ExitCode(1)
            } catch let error as KeyRingError {
                Bilingual.warn("madoguchi: \(error.text.ja)", "madoguchi: \(error.text.en)")
                throw ExitCode(3)
            }
            let base = (baseURL ?? Environment.value("MADOGUCHI_BASE_URL") ?? "http://127.0.0.1:8080")
                .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let user = added.user
            Bilingual.say("\(user.email) を \(user.departmentID.map { "\($0) の " } ?? "")\(user.role.rawValue) として追加しました",
                          "added \(user.email) as \(user.role.rawValue)\(user.departmentID.map { " of \($0)" } ?? "")")
            // The link alone on its line, so it can be copied whole.
            Bilingual.say("設定用リンク(24 時間有効、1 回限り):", "set-up link (valid 24 hours, works once):")
            print("\(base)/console/setup?token=\(added.setupToken)")
        }
    }
}

extension Language: ExpressibleByArgument {}
