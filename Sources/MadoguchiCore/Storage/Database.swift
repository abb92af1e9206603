import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// The SQL dialects Madoguchi writes for.
public enum SQLDialectKind: String, Sendable {
    case sqlite
    case postgres
}

/// The database handle: reads, and transactions that commit all or nothing, on SQLite or PostgreSQL
/// through one query layer (SQLKit).
public final class Database: Sendable {
    public let kind: SQLDialectKind
    private let backend: Backend
    let logger: Logger
    /// Round-robin position over SQLite's reader connections.
    private let nextReader = Mutex(0)
    /// Batches small write transactions into shared commits (`batchedTransaction`).
    private let committer = Mutex<GroupCommitter?>(nil)
    /// What the PostgreSQL pool last did: answered through a lease, or failed to connect.
    private let health: PoolHealth
    /// The key of the audit chain (`KeyRing.auditKey`): entries appended in this database's transactions are keyed
    /// with it, and `AuditLog.verify` checks them with it.
    private let chainKey = Mutex<SymmetricKey?>(nil)
    /// Whether the disk under the database refused a write for lack of space.
    let storage: StorageWatch

    /// Keys the audit chain of this database from now on (set once the master key is loaded).
    public func useAuditKey(_ key: SymmetricKey) {
        chainKey.withLock { $0 = key }
    }

    /// The audit chain's key, when one was given.
    public var auditKey: SymmetricKey? {
        chainKey.withLock { $0 }
    }

    private enum Backend: Sendable {
        case sqlite(writer: SQLiteConnection, readers: [SQLiteConnection], gate: WriterGate, pool: NIOThreadPool)
        case postgres(client: PostgresClient, runner: Task<Void, Never>)
    }

    /// The PostgreSQL connections a process keeps at most, per database, unless told otherwise (`--pool-size`).
    public static let defaultPoolSize = 16

    /// Opens the database at `location`; SQLite files and their folder are created as needed. `poolSize`: the
    /// PostgreSQL connections this process may open to it (SQLite has one writer and two readers).
    public static func open(_ location: DatabaseLocation, logger: Logger, poolSize: Int = defaultPoolSize) async throws -> Database {
        switch location {
        case let .sqlite(path):
            return try await openSQLite(path: path, logger: logger)
        case let .postgres(postgres):
            return openPostgres(postgres, logger: logger, poolSize: poolSize)
        }
    }

    private init(kind: SQLDialectKind, backend: Backend, logger: Logger, health: PoolHealth = PoolHealth(), directory: String? = nil) {
        self.kind = kind
        self.backend = backend
        self.logger = logger
        self.health = health
        self.storage = StorageWatch(directory: directory)
    }

    private static func openSQLite(path: String, logger: Logger) async throws -> Database {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A new database file is its owner's alone (SQLite gives its log files the same mode); an existing file keeps
        // the mode its operator chose.
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StoreUnavailable(ja: "データベース \(path) を作れません", en: "cannot create the database \(path)")
            }
        }
        // Each SQLite database gets its own threads: a commit waiting on fsync must not hold up the reads of this
        // database or the commits of another (the key store) on a shared pool.
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let writer: SQLiteConnection
        do {
            writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: pool, logger: logger, on: eventLoop)
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
        do {
            // WAL lets readers work while the single writer commits; FULL makes each commit durable.
            for pragma in [
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=5000",
                "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON",
            ] {
                try await writer.sql(queryLogLevel: nil).raw(SQLQueryString(pragma)).run()
            }
            var readers: [SQLiteConnection] = []
            for _ in 0..<2 {
                let reader = try await SQLiteConnection.open(
                    storage: .file(path: path),
                    threadPool: pool,
                    logger: logger,
                    on: MultiThreadedEventLoopGroup.singleton.any()
                )
                try await reader.sql(queryLogLevel: nil).raw("PRAGMA busy_timeout=5000").run()
                try await reader.sql(queryLogLevel: nil).raw("PRAGMA query_only=ON").run()
                readers.append(reader)
            }
            return Database(
                kind: .sqlite,
                backend: .sqlite(writer: writer, readers: readers, gate: WriterGate(), pool: pool),
                logger: logger,
                directory: directory
            )
        } catch {
            try? await writer.close()
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    private static func openPostgres(_ location: PostgresLocation, logger: Logger, poolSize: Int) -> Database {
        let tls: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password,
            database: location.database,
            tls: tls
        )
        configuration.options.maximumConnections = max(1, poolSize)
        if let schema = location.searchPath {
            configuration.options.additionalStartupParameters = [("search_path", schema)]
        }
        // The client warns when a lease races its own start-up; lease errors reach the caller anyway, so its
        // background log only carries errors; the pool's failed connection attempts are also noted (PoolHealth).
        let health = PoolHealth()
        let forward = max(logger.logLevel, .error)
        let backgroundLogger = Logger(label: logger.label) { label in
            PoolWatch(health: health, forward: forward, label: label)
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let runner = Task { await client.run() }
        return Database(kind: .postgres, backend: .postgres(client: client, runner: runner), logger: logger, health: health)
    }

    /// Opens `location`, runs `body` with it and closes it whether or not `body` throws.
    public static func with<R: Sendable>(_ location: DatabaseLocation, logger: Logger, _ body: (Database) async throws -> R) async throws -> R {
        let database = try await open(location, logger: logger)
        do {
            let result = try await body(database)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    /// Runs `body` outside any transaction; use it for reads.
    public func read<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        switch backend {
        case let .sqlite(_, readers, _, _):
            let index = nextReader.withLock { value in
                value &+= 1
                return value
            }
            return try await body(readers[index % readers.count].sql(queryLogLevel: nil))
        case let .postgres(client, _):
            return try await leasing(client) { connection in
                try await body(connection.sql(queryLogLevel: nil))
            }
        }
    }

    /// PostgreSQL only: the rows of a prepared statement, read outside any transaction; nil on SQLite, where the caller
    /// reads through SQLKit. For the reads every request makes (the intake's person and key lookups): a prepared
    /// statement is parsed and planned once per connection instead of on every call, which was a fifth of
    /// PostgreSQL's CPU in the intake benchmark.
    public func prepared<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row]?
    where Statement.Row: Sendable {
        guard case let .postgres(client, _) = backend else { return nil }
        let logger = self.logger
        return try await leasing(client) { connection in
            var rows: [Statement.Row] = []
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// How long a request waits for a PostgreSQL connection, with no query answered meanwhile and the pool failing to
    /// connect, before the database counts as unavailable (503).
    public static let leaseTimeout: Duration = .seconds(5)

    /// A connection from the pool. While PostgreSQL is down the pool keeps trying to connect and a lease would wait for
    /// ever: when `leaseTimeout` passes with no lease, no query answered in that time, and a failed connection attempt
    /// since the last answer, the database is unavailable. A busy or slow pool that still connects is waited for. Once
    /// leased, `body` runs to its end (never cut mid-transaction).
    func leasing<R: Sendable>(
        _ client: PostgresClient,
        _ body: @Sendable (PostgresConnection) async throws -> R
    ) async throws -> R {
        let leased = LeaseFlag()
        return try await withoutActuallyEscaping(body) { body in
            try await withThrowingTaskGroup(of: R?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        leased.value.withLock { $0 = true }
                        let result = try await body(connection)
                        self.health.answered()
                        return result
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: Self.leaseTimeout)
                        if leased.value.withLock({ $0 }) { return nil }
                        if self.health.isDown(after: Self.leaseTimeout) { throw DatabaseUnavailable() }
                    }
                }
                while let next = try await group.next() {
                    if let result = next {
                        group.cancelAll()
                        return result
                    }
                }
                throw DatabaseUnavailable()
            }
        }
    }

    /// Runs `body` in one transaction: everything it writes commits together, or nothing does.
    @discardableResult
    public func transaction<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        switch backend {
        case let .sqlite(writer, _, gate, _):
            await gate.acquire()
            do {
                let sql = writer.sql(queryLogLevel: nil)
                try await sql.raw("BEGIN IMMEDIATE").run()
                let result = try await self.finish(sql, body)
                await gate.release()
                return result
            } catch {
                await gate.release()
                throw error
            }
        case let .postgres(client, _):
            return try await leasing(client) { connection in
                let sql = connection.sql(queryLogLevel: nil)
                try await sql.raw("BEGIN").run()
                return try await self.finish(sql, body)
            }
        }
    }

    /// Runs `body` in a transaction shared with other callers that arrive at the same time (group commit): it
    /// returns after the shared commit, and a throwing body is rolled back alone. Use it for small, frequent writes.
    public func batchedTransaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await groupCommitter.run(body)
    }

    /// Writes `writes` in a transaction shared with other callers (group commit), merged with their rows into one
    /// statement per table; returns after the shared commit. Throws `WriteConflict` when its claim was taken.
    public func commit(_ writes: WriteSet) async throws {
        try await groupCommitter.commit(writes)
    }

    private var groupCommitter: GroupCommitter {
        committer.withLock { existing in
            if let existing { return existing }
            let created = GroupCommitter(database: self)
            existing = created
            return created
        }
    }

    private func finish<R: Sendable>(_ sql: any SQLDatabase, _ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        do {
            // Audit entries appended in the body are keyed with this database's chain key.
            let result = try await AuditLog.$chainKey.withValue(auditKey) { try await body(sql) }
            try await sql.raw("COMMIT").run()
            storage.noteCommit(logger: logger)
            return result
        } catch {
            try? await sql.raw("ROLLBACK").run()
            storage.noteFailure(error, logger: logger)
            throw error
        }
    }

    /// SQLite: copies the write-ahead log into the database file and truncates it, so no earlier version of a page
    /// (a destroyed key) stays in the log. A reader still on an older snapshot makes the checkpoint wait (the busy
    /// timeout, 5 s) and then answer "busy", leaving the log as it is; it is tried `attempts` times. Returns false when
    /// the log could still not be truncated (the caller reports it); true on PostgreSQL, where there is nothing to do.
    @discardableResult
    public func checkpoint(attempts: Int = 2) async throws -> Bool {
        guard case let .sqlite(writer, _, gate, _) = backend else { return true }
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(50)) }
            await gate.acquire()
            let row: (any SQLRow)?
            do {
                row = try await writer.sql(queryLogLevel: nil).raw("PRAGMA wal_checkpoint(TRUNCATE)").first()
                await gate.release()
            } catch {
                await gate.release()
                throw error
            }
            // busy = 0: every frame was copied and the log truncated.
            if let row, try row.decode(column: "busy", as: Int.self) == 0 { return true }
        }
        return false
    }

    /// SQLite: writes a consistent copy of the whole database to the new file `path` (`VACUUM INTO`), online: it reads
    /// one snapshot, so a server writing meanwhile is neither blocked nor half-copied. PostgreSQL: not done here (the
    /// caller refuses; `pg_dump` is the tool).
    public func vacuum(into path: String) async throws {
        guard case let .sqlite(writer, _, gate, _) = backend else { throw DatabaseUnavailable() }
        await gate.acquire()
        do {
            try await writer.sql(queryLogLevel: nil).raw("VACUUM INTO \(bind: path)").run()
            await gate.release()
        } catch {
            await gate.release()
            throw error
        }
    }

    /// True when the database answers a trivial query.
    public func isReachable(within limit: Duration = .seconds(2)) async -> Bool {
        do {
            // Bounded: a database that does not answer (a stopped server, a pool still retrying) is unreachable now,
            // not after the pool's own timeouts.
            return try await withThrowingTaskGroup(of: Bool?.self) { group in
                group.addTask {
                    try await self.read { db in try await db.raw("SELECT 1 AS ok").first(decodingColumn: "ok", as: Int.self) == 1 }
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw DatabaseUnavailable() }
                return first
            }
        } catch {
            logger.warning("database not reachable", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return false
        }
    }

    /// Closes every connection.
    public func close() async {
        committer.withLock { $0 }?.executor.shutdown()
        switch backend {
        case let .sqlite(writer, readers, _, pool):
            for connection in readers + [writer] {
                try? await connection.close()
            }
            try? await pool.shutdownGracefully()
        case let .postgres(_, runner):
            runner.cancel()
            await runner.value
        }
    }
}

/// Lets one transaction at a time use SQLite's single writer connection, in arrival order.
actor WriterGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// The database did not answer in time.
public struct DatabaseUnavailable: Error, Sendable {
    public init() {}
}

extension Database {
    /// True for errors that mean the database cannot be reached now (a stopped or restarting server, a lost
    /// connection, a timeout), as opposed to an error of the request: the answer is 503 with `Retry-After`.
    public static func isUnavailable(_ error: any Error) -> Bool {
        if error is DatabaseUnavailable { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            return true
        case .server:
            // Class 08 (connection exception) and 57 (operator intervention: shutdown, cannot connect now).
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57")
        default:
            return false
        }
    }
}

/// Whether a pool lease was granted (set from the connection's task, read by the timer's).
private final class LeaseFlag: Sendable {
    let value = Mutex(false)
}

/// What the PostgreSQL pool last did, for telling a database that is down from one that is only busy.
final class PoolHealth: Sendable {
    private struct State {
        var answer = ContinuousClock.now
        var failure: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    func answered() { state.withLock { $0.answer = .now } }
    func failedToConnect() { state.withLock { $0.failure = .now } }

    /// Nothing answered for `quiet`, and a connection attempt failed since the last answer.
    func isDown(after quiet: Duration) -> Bool {
        state.withLock { state in
            guard let failure = state.failure, failure > state.answer else { return false }
            return ContinuousClock.now - state.answer >= quiet
        }
    }
}

/// The pool's background log: notes failed connection attempts (logged by the pool at `info`) in `PoolHealth`, and
/// passes on what is at `forward` or above to the process's log handler.
struct PoolWatch: LogHandler {
    let health: PoolHealth
    let forward: Logger.Level
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if event.message.description == "Connection creation failed" { health.failedToConnect() }
        guard event.level >= forward else { return }
        var logger = Logger(label: label)
        logger.logLevel = forward
        logger.log(
            level: event.level,
            event.message,
            metadata: metadata.merging(event.metadata ?? [:]) { $1 },
            source: event.source,
            file: event.file,
            function: event.function,
            line: event.line
        )
    }
}
