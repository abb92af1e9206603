import Foundation

/// Where the data lives: an embedded SQLite file (the default) or a PostgreSQL server (production).
public enum DatabaseLocation: Hashable, Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// The embedded default a newcomer gets with no configuration.
    public static let defaultSQLite = DatabaseLocation.sqlite(path: "var/madoguchi.sqlite")

    /// Parses `sqlite:PATH` or `postgres://user:password@host:port/database?tlsmode=disable|prefer|require`.
    public init(parsing text: String) throws(DatabaseLocationError) {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty, !path.contains("\0") else {
                throw DatabaseLocationError(
                    ja: "'sqlite:' の後にファイルのパスを書いてください(例: sqlite:var/madoguchi.sqlite)",
                    en: "'sqlite:' needs a file path, e.g. sqlite:var/madoguchi.sqlite"
                )
            }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(url: text))
        } else {
            throw DatabaseLocationError(
                ja: "使えないデータベース URL です。sqlite:パス か postgres://ユーザー:パスワード@ホスト:ポート/データベース の形で書いてください",
                en: "unsupported database URL; use sqlite:PATH or postgres://user:password@host:port/database"
            )
        }
    }

    /// A form safe to print: never shows a password.
    public var description: String {
        switch self {
        case let .sqlite(path): "sqlite:\(path)"
        case let .postgres(location): location.description
        }
    }
}

/// The parts of a PostgreSQL URL.
public struct PostgresLocation: Hashable, Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// A schema to use instead of `public`; tests use one schema each.
    public var searchPath: String?

    public init(url text: String) throws(DatabaseLocationError) {
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw DatabaseLocationError(
                ja: "PostgreSQL の URL の形が正しくありません。postgres://ユーザー:パスワード@ホスト:ポート/データベース の形で書いてください",
                en: "malformed PostgreSQL URL; expected postgres://user:password@host:port/database"
            )
        }
        guard let user = components.user, !user.isEmpty else {
            throw DatabaseLocationError(
                ja: "PostgreSQL の URL にユーザーがありません。postgres://ユーザー:パスワード@ホスト:ポート/データベース の形で書いてください",
                en: "the PostgreSQL URL names no user; expected postgres://user:password@host:port/database"
            )
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw DatabaseLocationError(
                ja: "PostgreSQL の URL にデータベース名がありません。postgres://ユーザー:パスワード@ホスト:ポート/データベース の形で書いてください",
                en: "the PostgreSQL URL names no database; expected postgres://user:password@host:port/database"
            )
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "tlsmode", "sslmode":
                switch item.value {
                case "disable": tls = .disable
                case "prefer", "allow": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw DatabaseLocationError(
                        ja: "\(item.name) は disable・prefer・require のどれかにしてください",
                        en: "\(item.name) must be disable, prefer or require"
                    )
                }
            case "search_path":
                guard let value = item.value, PolicyReader.isIdentifier(value.replacingOccurrences(of: "_", with: "-")) else {
                    throw DatabaseLocationError(ja: "search_path には英小文字のスキーマ名を書いてください", en: "search_path must be a lowercase schema name")
                }
                searchPath = value
            default:
                throw DatabaseLocationError(
                    ja: "PostgreSQL の URL のオプション '\(item.name)' は使えません。使えるもの: tlsmode, sslmode, search_path",
                    en: "unknown PostgreSQL URL option '\(item.name)'; known: tlsmode, sslmode, search_path"
                )
            }
        }
    }

    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)"
    }
}

/// A database URL that cannot be used, with the reason.
public struct DatabaseLocationError: BilingualError, Sendable {
    public var text: LocalizedText
    public init(ja: String, en: String) { text = LocalizedText(ja: ja, en: en) }
}
