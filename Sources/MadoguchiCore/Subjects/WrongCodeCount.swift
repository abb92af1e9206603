import Foundation
import SQLKit

/// Wrong tries at a one-time code kept in a table with `id`, `attempts` and `used` (`access_codes`,
/// `download_codes`). The count changes in the database, in one statement: concurrent wrong codes each count, and
/// none counts past `maximum` (R-SEC-3). The outcome comes from the row the statement returns, never from an
/// earlier read.
enum WrongCodeCount {
    enum Table: String {
        case accessCodes = "access_codes"
        case downloadCodes = "download_codes"
    }

    /// Counts one wrong try at code `id` and audits it (`audit` gets the attempts now used). Returns the attempts
    /// used, or nil when the code can take no more tries (used up, used, or gone).
    static func record(
        _ table: Table,
        id: String,
        maximum: Int,
        in database: Database,
        at now: Date,
        audit: @escaping @Sendable (Int) -> AuditEvent
    ) async throws -> Int? {
        let kind = database.kind
        return try await database.transaction { db -> Int? in
            guard
                let row = try await db.raw(
                    """
                    UPDATE \(unsafeRaw: table.rawValue) SET attempts = attempts + 1
                    WHERE id = \(bind: id) AND attempts < \(bind: maximum) AND used = \(bind: false)
                    RETURNING attempts
                    """
                ).first()
            else { return nil }
            let attempts = try row.decode(column: "attempts", as: Int.self)
            try await AuditLog.append(audit(attempts), in: db, kind: kind, at: now)
            return attempts
        }
    }
}
