import Foundation
import SQLKit

/// Work that must run on one server at a time across every server on the database — the retention purge, the
/// housekeeping pass, the daily audit check (R-OPS-1). A lease is a row of `job_leases` (migration 19), taken in one
/// statement by whoever asks when nobody holds it or its holder's time ran out: of servers asking at once, one gets
/// it, on SQLite and PostgreSQL alike; a holder that dies holds it no longer than its lifetime.
public struct JobLease: Sendable {
    public let database: Database
    public let name: String
    /// Who asks: each server process names itself once (`JobLease.processHolder`).
    public let holder: String

    public init(database: Database, name: String, holder: String = JobLease.processHolder) {
        (self.database, self.name, self.holder) = (database, name, holder)
    }

    /// This process, as a lease holder.
    public static let processHolder = "server-\(UUID().uuidString.lowercased())"

    /// Takes the lease until `until` when nobody holds it (or the holder's time ran out). False when another holds it.
    public func acquire(until: Date, at now: Date = Date()) async throws -> Bool {
        let kind = database.kind
        return try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO job_leases (name, holder, expires_at) VALUES (\(bind: name), \(bind: holder), \(Timestamp.bind(until, kind)))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE job_leases.expires_at < \(Timestamp.bind(now, kind))
                RETURNING holder
                """
            ).first() != nil
        }
    }

    /// Gives the lease back (only this holder's).
    public func release() async throws {
        try await database.transaction { db in
            try await db.delete(from: "job_leases").where("name", .equal, name).where("holder", .equal, holder).run()
        }
    }

    /// Runs `work` when the lease can be taken, holding it for `period`: a job meant to run once per period across
    /// all servers keeps the lease (`keep: true`) so that no other server runs it again before the period ends; a job
    /// meant only not to overlap gives it back when done. Nil when another server holds it.
    public func run<T: Sendable>(
        for period: TimeInterval,
        keep: Bool,
        at now: Date = Date(),
        _ work: () async throws -> T
    ) async throws -> T? {
        guard try await acquire(until: now.addingTimeInterval(period), at: now) else { return nil }
        let result: T
        do {
            result = try await work()
        } catch {
            try? await release()
            throw error
        }
        if !keep { try await release() }
        return result
    }
}
