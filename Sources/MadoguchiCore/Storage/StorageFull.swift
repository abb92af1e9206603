import Foundation
import Logging
import PostgresNIO
import SQLiteNIO
import Synchronization

/// Whether the disk under a database refused a write for lack of space (R-OPS-1), for `/readyz` and the log. Set when
/// a write fails with SQLite's "database or disk is full" or PostgreSQL's `disk_full` (53100); cleared once the file
/// system has space again (SQLite: at least `Database.writableAgainBytes` free, looked at by `/readyz` and after each
/// commit while flagged) or, on PostgreSQL, by the next commit.
final class StorageWatch: Sendable {
    private let full = Atomic<Bool>(false)
    /// The SQLite file's folder, whose file system is asked for its free space; nil on PostgreSQL.
    let directory: String?

    init(directory: String?) {
        self.directory = directory
    }

    /// Notes a failed write; logs once when the disk turns full.
    func noteFailure(_ error: any Error, logger: Logger) {
        guard Database.isStorageFull(error) else { return }
        if full.exchange(true, ordering: .relaxed) == false {
            logger.error(
                "database disk full: writes are refused (503) until space is freed; nothing half-written is kept",
                metadata: ["path": "\(directory ?? "postgresql")", "error.message": "\(Database.safeMessage(error) ?? "")"]
            )
        }
    }

    /// Notes a committed transaction (one that wrote nothing commits on a full disk too: SQLite's space is looked at).
    func noteCommit(logger: Logger) {
        _ = isFull(logger: logger)
    }

    /// Whether the disk is still full; clears the flag (and logs it) once there is space again.
    func isFull(logger: Logger) -> Bool {
        guard full.load(ordering: .relaxed) else { return false }
        if directory != nil {
            guard let free = freeBytes(), free >= Database.writableAgainBytes else { return true }
        }
        if full.exchange(false, ordering: .relaxed) {
            logger.notice("database disk has space again: writes are accepted", metadata: ["path": "\(directory ?? "postgresql")"])
        }
        return false
    }

    /// The bytes free for this process on the file system holding the SQLite file, or nil when not known.
    func freeBytes() -> Int? {
        guard let directory else { return nil }
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return nil }
        let (bytes, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow ? Int.max : Int(clamping: bytes)
    }
}

extension Database {
    /// Free space that makes a database flagged full count as writable again: enough for the write-ahead log to grow
    /// by a few batches.
    static let writableAgainBytes = 1 << 20

    /// True when the disk under this database refused a write and has not got space back since.
    public func storageIsFull() -> Bool {
        storage.isFull(logger: logger)
    }

    /// True for errors that mean the disk under the database is full: the answer is 503, as for a database that is
    /// down, and nothing of the request was stored.
    public static func isStorageFull(_ error: any Error) -> Bool {
        if let error = error as? SQLiteError {
            return error.reason == .full
        }
        if let error = error as? PSQLError, error.code == .server {
            return error.serverInfo?[.sqlState] == "53100"
        }
        return false
    }

    /// What may be logged of a database error: SQLite's message (it names the failing operation or constraint, never
    /// a bound value) or PostgreSQL's SQLSTATE (its messages can quote values, so they are left out). Nil for other
    /// errors.
    public static func safeMessage(_ error: any Error) -> String? {
        if let error = error as? SQLiteError {
            return "\(error.reason): \(error.message)"
        }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] { return "PostgreSQL SQLSTATE \(state)" }
            return "PostgreSQL \(error.code)"
        }
        return nil
    }
}
