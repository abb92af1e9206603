import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `madoguchi serve` per SQLite file: the server holds an exclusive lock on `FILE.lock` beside the database for as
/// long as it runs. SQLite takes one writer process; a second server on the same file would split the rate limits,
/// the mail worker and the housekeeping between two processes that do not know of each other. The lock is the
/// kernel's (`flock`): it goes with the process, also on kill -9, so a stale file never blocks a restart. Commands
/// such as `audit verify` do not take it and run beside the server.
public final class ServerLock: Sendable {
    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        close(descriptor)
    }

    /// Takes the lock of the SQLite database at `databasePath`, or throws `StoreUnavailable` naming the process that
    /// holds it.
    public static func acquire(databasePath: String) throws -> ServerLock {
        let path = databasePath + ".lock"
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw StoreUnavailable(
                ja: "ロックファイル \(path) を開けません(\(reason))",
                en: "cannot open the lock file \(path): \(reason)"
            )
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(descriptor)
            close(descriptor)
            throw StoreUnavailable(
                ja: "別の madoguchi serve(プロセス \(holder))がこのデータベース(\(databasePath))を使っています。SQLite で動かせるサーバーは一つです(複数台なら PostgreSQL を使ってください)",
                en:
                    "another madoguchi serve (process \(holder)) uses this database (\(databasePath)); one server runs on a SQLite file (use PostgreSQL for several)"
            )
        }
        // The holder's process id, for the message a second server prints.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return ServerLock(descriptor: descriptor, path: path)
    }

    private static func holder(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "?" }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.allSatisfy(\.isNumber) && !text.isEmpty ? text : "?"
    }
}
