import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import MadoguchiServer
import Synchronization

extension Database {
    /// Opens `location`, runs `body`, and closes the database whether or not `body` throws. A SQLite file that does
    /// not exist is refused unless `createIfMissing` (only `migrate` makes one): a command run in the wrong directory
    /// must not leave a new empty database behind, nor answer from one as if nothing were stored.
    static func using<R: Sendable>(
        _ location: DatabaseLocation,
        logger: Logger,
        createIfMissing: Bool = false,
        _ body: (Database) async throws -> R
    ) async throws -> R {
        if case let .sqlite(path) = location, !createIfMissing, !FileManager.default.fileExists(atPath: path) {
            throw StoreUnavailable(
                ja: "データベース \(path) がありません。サーバーと同じ場所で実行するか、--database / MADOGUCHI_DATABASE_URL で指定してください(新しい空のデータベースは作りません)",
                en:
                    "the database \(path) does not exist; run this where the server runs or name it with --database / MADOGUCHI_DATABASE_URL (no new empty database is made)"
            )
        }
        // A wrong password or a stopped server is said at once (exit 3), not after the pool's retries.
        try await Database.probe(location, logger: logger)
        return try await Database.with(location, logger: logger) { database in
            // A schema newer than this binary is refused before anything is read or written.
            try await Migrations.refuseNewer(database)
            try await Migrations.refuseNewer(database, migrations: SubjectKeyStore.migrations, table: "madoguchi_keystore_schema")
            return try await body(database)
        }
    }
}

/// Options shared by the commands that open the database.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help:
            "データベースの URL: sqlite:パス か postgres://ユーザー:パスワード@ホスト:ポート/DB[?tlsmode=disable|prefer|require]。環境変数: MADOGUCHI_DATABASE_URL。既定: sqlite:var/madoguchi.sqlite\nDatabase URL: sqlite:PATH or postgres://user:password@host:port/db[?tlsmode=disable|prefer|require]. Env: MADOGUCHI_DATABASE_URL. Default: sqlite:var/madoguchi.sqlite"
    )
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
    @Option(
        name: .customLong("key-file"),
        help:
            "マスター鍵のファイル。環境変数: MADOGUCHI_KEY_FILE(鍵そのものは MADOGUCHI_MASTER_KEY)。既定: var/keys/master.key\nThe master key file. Env: MADOGUCHI_KEY_FILE (or the key itself in MADOGUCHI_MASTER_KEY). Default: var/keys/master.key"
    )
    var keyFile: String?

    var path: String { keyFile ?? Environment.value("MADOGUCHI_KEY_FILE") ?? ServerConfiguration.defaultKeyFile }

    /// The key ring. A missing key file is never created here: the key is made by the first `serve`, beside the data
    /// it will seal; a command run in the wrong directory must not make a second one.
    func ring(logger: Logger) throws -> KeyRing {
        let environmentKey = Environment.value("MADOGUCHI_MASTER_KEY")
        if environmentKey == nil, !FileManager.default.fileExists(atPath: path) {
            throw KeyRingError(
                ja: "鍵ファイル \(path) がありません。--key-file か MADOGUCHI_KEY_FILE で鍵ファイルを指定してください(鍵は最初の madoguchi serve が作ります)",
                en: "the key file \(path) does not exist; name it with --key-file or MADOGUCHI_KEY_FILE (the first madoguchi serve makes the key)"
            )
        }
        return try KeyRing.load(path: path, environmentKey: environmentKey, createIfMissing: false, logger: logger)
    }
}

struct LoggingOptions: ParsableArguments {
    @Option(
        name: .customLong("log-level"),
        help:
            "trace, debug, info, notice, warning, error, critical のどれか。環境変数: MADOGUCHI_LOG_LEVEL。既定: info\ntrace, debug, info, notice, warning, error or critical. Env: MADOGUCHI_LOG_LEVEL. Default: info"
    )
    var level: String?

    @Option(
        name: .customLong("log-format"),
        help:
            "text か json(1 行に 1 つの JSON、リクエストごとの ID 付き)。環境変数: MADOGUCHI_LOG_FORMAT。既定: text\ntext or json (one JSON object per line, with each request's id). Env: MADOGUCHI_LOG_FORMAT. Default: text"
    )
    var format: String?

    func makeLogger(label: String) throws -> Logger {
        let text = level ?? Environment.value("MADOGUCHI_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: text) else {
            throw Bilingual.refusal(
                "--log-level: '\(text)' は trace, debug, info, notice, warning, error, critical のどれでもありません",
                "--log-level: '\(text)' is not one of trace, debug, info, notice, warning, error, critical"
            )
        }
        let formatText = format ?? Environment.value("MADOGUCHI_LOG_FORMAT") ?? "text"
        guard formatText == "text" || formatText == "json" else {
            throw Bilingual.refusal(
                "--log-format: '\(formatText)' は text でも json でもありません",
                "--log-format: '\(formatText)' is neither text nor json"
            )
        }
        LoggingBootstrap.once(level: level, json: formatText == "json")
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

enum LoggingBootstrap {
    private static let done = Mutex(false)

    static func once(level: Logger.Level, json: Bool = false) {
        done.withLock { done in
            guard !done else { return }
            LoggingSystem.bootstrap { label in
                if json { return JSONLogHandler.standardError(label: label, level: level) }
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
        default:
            throw Bilingual.refusal(
                "\(name): '\(value)' は 1 でも 0 でもありません(true/false、yes/no、on/off も可)",
                "\(name): '\(value)' is not 1 or 0 (true/false, yes/no, on/off)"
            )
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

/// Where a command finds the key store: `--keystore` or `MADOGUCHI_KEYSTORE_URL`, else `var/keys/keystore.sqlite`.
struct KeyStoreOptions: ParsableArguments {
    @Option(
        name: .customLong("keystore"),
        help:
            "本人ごとの鍵の置き場所: sqlite:パス か postgres://…。環境変数: MADOGUCHI_KEYSTORE_URL。既定: sqlite:var/keys/keystore.sqlite\nWhere person keys are kept: sqlite:PATH or postgres://…. Env: MADOGUCHI_KEYSTORE_URL. Default: sqlite:var/keys/keystore.sqlite"
    )
    var url: String?

    func location() throws -> DatabaseLocation {
        guard let text = url ?? Environment.value("MADOGUCHI_KEYSTORE_URL") else { return ServerConfiguration.defaultKeyStore }
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw Bilingual.refusal("--keystore: \(error.text.ja)", "--keystore: \(error.text.en)")
        }
    }
}
