import Foundation
import SQLKit

/// The figures an operator watches (`/metrics`, R-OPS-1), read from the database at the moment they are asked for,
/// without personal data: counts and ages only.
public struct OperationalFigures: Sendable, Equatable {
    /// Mail waiting for delivery (pending, or being sent).
    public var outboxQueued: Int
    /// How long the oldest waiting message has waited, in seconds; 0 when none waits.
    public var outboxOldestSeconds: Double
    /// Mail given up after its attempts, left for staff.
    public var outboxFailed: Int
    /// Open requests about personal data past their due date (Japan's calendar day).
    public var requestsOverdue: Int

    public static func read(from database: Database, now: Date = Date()) async throws -> OperationalFigures {
        let kind = database.kind
        let today = LocalDate(japanAt: now).description
        return try await database.read { db in
            let queued = try await db.raw(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status IN ('pending', 'sending')"
            ).first()
            let count = try queued?.decode(column: "n", as: Int.self) ?? 0
            let oldest = try queued.flatMap { try Timestamp.decodeIfPresent($0, column: "oldest", kind) }
            let failed = try await db.raw("SELECT COUNT(*) AS n FROM outbox WHERE status = 'failed'").first(decodingColumn: "n", as: Int.self)
            let overdue = try await db.raw(
                "SELECT COUNT(*) AS n FROM requests WHERE status = 'open' AND due_on < \(bind: today)"
            ).first(decodingColumn: "n", as: Int.self)
            return OperationalFigures(
                outboxQueued: count,
                outboxOldestSeconds: oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0,
                outboxFailed: failed ?? 0,
                requestsOverdue: overdue ?? 0
            )
        }
    }
}
