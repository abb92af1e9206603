import Foundation
import SQLKit

/// Which tables already hold rows: asked before anything is created beside stored data (a new master key next to
/// data sealed under another one would make that data unreadable without a word).
public enum ExistingData {
    /// The data tables whose rows are sealed under, or found through, keys derived from the master key.
    public static let dataTables = [
        "subjects", "inquiries", "requests", "access_codes", "access_sessions", "outbox", "staff_users",
        "consent_events", "identifier_links", "audit_log",
    ]
    /// The key store's table of wrapped person keys.
    public static let keyStoreTables = ["subject_keys"]

    /// The tables of `tables` that exist in `database` and hold at least one row.
    public static func tablesWithRows(_ tables: [String], in database: Database) async throws -> [String] {
        try await database.read { db in
            var holding: [String] = []
            for table in tables {
                guard try await Migrations.tableExists(table, in: db, kind: database.kind) else { continue }
                if try await db.raw("SELECT 1 AS one FROM \(ident: table) LIMIT 1").first() != nil { holding.append(table) }
            }
            return holding
        }
    }
}
