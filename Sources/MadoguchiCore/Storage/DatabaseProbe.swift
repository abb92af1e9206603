import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The database or the key store cannot be reached or used: the reason, worded for the person running the command.
/// The command line exits 3 on it, whatever the command (`madoguchi` exit statuses).
public struct StoreUnavailable: BilingualError, Sendable, Equatable {
    public let text: LocalizedText

    public init(ja: String, en: String) {
        text = LocalizedText(ja: ja, en: en)
    }
}

/// An operator's command ran and refused, changing nothing: a backup that does not belong here, a rotation held
/// back, a reconciliation of the wrong pair. The command line exits 1 on it (`madoguchi` exit statuses).
public struct OperatorRefusal: BilingualError, Sendable, Equatable {
    public let text: LocalizedText

    public init(ja: String, en: String) {
        text = LocalizedText(ja: ja, en: en)
    }
}

extension Database {
    /// Connects once and answers why `location` cannot be used, at once: a wrong password or a missing database is
    /// said within the time of one connection (the pool behind `open` would keep retrying them), a server that does not
    /// answer within `limit`. SQLite: a file that cannot be opened. Throws `StoreUnavailable`; `label` names the store
    /// ("データベース"/"database" or the key store) in the message.
    public static func probe(
        _ location: DatabaseLocation,
        label: (ja: String, en: String) = ("データベース", "database"),
        within limit: Duration = .seconds(10),
        logger: Logger
    ) async throws {
        switch location {
        case let .sqlite(path):
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw StoreUnavailable(
                    ja: "\(label.ja) \(path) はフォルダーです(SQLite のファイルを指定してください)",
                    en: "the \(label.en) \(path) is a folder, not a SQLite file"
                )
            }
        case let .postgres(postgres):
            try await probePostgres(postgres, label: label, within: limit, logger: logger)
        }
    }

    private static func probePostgres(
        _ location: PostgresLocation,
        label: (ja: String, en: String),
        within limit: Duration,
        logger: Logger
    ) async throws {
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try .init(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try .init(configuration: .makeClientConfiguration()))
        }
        let configuration = PostgresConnection.Configuration(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password,
            database: location.database,
            tls: tls
        )
        let place = "\(location.host):\(location.port)/\(location.database)"
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                    try? await connection.close()
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return false
                }
                let connected = try await group.next() ?? false
                group.cancelAll()
                if !connected {
                    throw StoreUnavailable(
                        ja: "\(label.ja)(PostgreSQL \(place))が \(limit) のうちに応答しません",
                        en: "the \(label.en) (PostgreSQL \(place)) did not answer within \(limit)"
                    )
                }
            }
        } catch let error as StoreUnavailable {
            throw error
        } catch let error as PSQLError {
            throw Self.unavailable(error, place: place, user: location.username, label: label)
        } catch {
            throw StoreUnavailable(
                ja: "\(label.ja)(PostgreSQL \(place))に接続できません(\(error))",
                en: "cannot connect to the \(label.en) (PostgreSQL \(place)): \(error)"
            )
        }
    }

    /// Why a connection attempt was refused, from the server's SQLSTATE (its message can quote values; not used).
    static func unavailable(_ error: PSQLError, place: String, user: String, label: (ja: String, en: String)) -> StoreUnavailable {
        let state = error.serverInfo?[.sqlState] ?? ""
        switch state {
        case "28P01", "28000":
            return StoreUnavailable(
                ja: "\(label.ja)(PostgreSQL \(place))がユーザー \(user) の認証を拒みました(パスワードか pg_hba.conf を確かめてください、SQLSTATE \(state))",
                en:
                    "the \(label.en) (PostgreSQL \(place)) refused to authenticate user \(user): check the password and pg_hba.conf (SQLSTATE \(state))"
            )
        case "3D000":
            return StoreUnavailable(
                ja: "PostgreSQL に\(label.ja) \(place) がありません(作成してから madoguchi migrate を実行してください、SQLSTATE 3D000)",
                en: "the \(label.en) \(place) does not exist on PostgreSQL: create it, then run madoguchi migrate (SQLSTATE 3D000)"
            )
        case "":
            // The operating system's reason (connection refused, no route, name not known) when there is one.
            let reason = error.underlying.map { "\($0)" } ?? "\(error.code)"
            return StoreUnavailable(
                ja: "\(label.ja)(PostgreSQL \(place))に接続できません(\(reason))",
                en: "cannot connect to the \(label.en) (PostgreSQL \(place)): \(reason)"
            )
        default:
            return StoreUnavailable(
                ja: "\(label.ja)(PostgreSQL \(place))が接続を拒みました(SQLSTATE \(state))",
                en: "the \(label.en) (PostgreSQL \(place)) refused the connection (SQLSTATE \(state))"
            )
        }
    }
}
