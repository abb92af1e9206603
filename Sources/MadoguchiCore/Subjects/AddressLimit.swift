import Foundation
import SQLKit

/// How many one-time codes one address may be sent in an hour, counted in the database so that the limit holds
/// across every server on it (R-SEC-2, R-OPS-1): a guesser cannot multiply it by adding servers, nor flood a
/// person's mailbox. The address appears only as its blind index; the count of a window is raised in one statement
/// that refuses once the limit is reached (`… DO UPDATE … WHERE used < capacity RETURNING used`).
public struct AddressLimit: Sendable {
    public let database: Database
    /// What the codes are for: the person's page (`me`) or a request (`request`), counted apart.
    public let scope: String
    public var capacity: Int
    public var window: TimeInterval

    public init(database: Database, scope: String, capacity: Int = 5, window: TimeInterval = 3_600) {
        (self.database, self.scope, self.capacity, self.window) = (database, scope, capacity, window)
    }

    /// Migration 25: the per-address counts of code issuance.
    public static let migration = Migration(
        version: 25,
        name: "address-limits",
        portable: [
            """
            CREATE TABLE address_limits (
                scope TEXT NOT NULL,
                email_index TEXT NOT NULL,
                window_start BIGINT NOT NULL,
                used INTEGER NOT NULL,
                PRIMARY KEY (scope, email_index)
            )
            """
        ]
    )

    /// Counts one code for the address whose blind index is `emailIndex`: nil when allowed, else the whole seconds
    /// until its window ends. Windows are fixed (`window` seconds from the epoch).
    public func acquire(emailIndex: String, at now: Date = Date()) async throws -> Int? {
        let seconds = now.timeIntervalSince1970
        guard seconds.isFinite, seconds >= 0, seconds < 1e15, window >= 1 else { return Int(window) }
        let length = Int64(window)
        let start = Int64(seconds) / length * length
        let used = try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO address_limits (scope, email_index, window_start, used) VALUES (\(bind: scope), \(bind: emailIndex), \(bind: start), 1)
                ON CONFLICT (scope, email_index) DO UPDATE SET
                    used = CASE WHEN address_limits.window_start < excluded.window_start THEN 1 ELSE address_limits.used + 1 END,
                    window_start = CASE WHEN address_limits.window_start < excluded.window_start THEN excluded.window_start ELSE address_limits.window_start END
                WHERE address_limits.window_start < excluded.window_start OR address_limits.used < \(bind: capacity)
                RETURNING used
                """
            ).first(decodingColumn: "used", as: Int.self)
        }
        if used != nil { return nil }
        return max(1, Int(start + length - Int64(seconds)))
    }

    /// Removes the counts of windows that have ended (housekeeping).
    public static func purge(in db: any SQLDatabase, before now: Date, window: TimeInterval = 3_600) async throws -> Int {
        let cutoff = Int64(max(0, min(now.timeIntervalSince1970 - window, 1e15)))
        return try await db.delete(from: "address_limits").where("window_start", .lessThanOrEqual, SQLBind(cutoff))
            .returning("scope").all().count
    }
}
