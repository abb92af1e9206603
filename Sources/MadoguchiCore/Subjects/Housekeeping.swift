import Foundation
import Logging
import SQLKit

/// Periodic clean-up of short-lived records: used or expired self-service codes, ended sessions, requests whose
/// code was never entered (they lapse), and staff sign-in failure counts that are no longer holding anyone off
/// (without it, guesses from many clients would grow that table without bound). None holds personal plaintext, but nothing is kept longer than it serves.
public struct Housekeeping: Sendable {
    public let database: Database
    public let logger: Logger
    /// How long a spent code, or a request never verified, is kept (for the audit trail of attempts).
    public var grace: TimeInterval = 86_400

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What one pass removed or closed.
    public struct Pass: Sendable, Equatable {
        public var codes = 0
        public var sessions = 0
        public var lapsedRequests = 0
        public var signInFailures = 0
        /// Consent records kept for the mail act past an erasure whose month after the last mail has passed.
        public var mailConsentRecords = 0
        /// Provision records whose three years are over.
        public var provisionRecords = 0
        /// Counts of code issuance whose hour has ended.
        public var addressLimits = 0

        public init(
            codes: Int = 0,
            sessions: Int = 0,
            lapsedRequests: Int = 0,
            signInFailures: Int = 0,
            mailConsentRecords: Int = 0,
            provisionRecords: Int = 0
        ) {
            self.codes = codes
            self.sessions = sessions
            self.lapsedRequests = lapsedRequests
            self.signInFailures = signInFailures
            self.mailConsentRecords = mailConsentRecords
            self.provisionRecords = provisionRecords
        }
    }

    @discardableResult
    public func run(now: Date = Date()) async throws -> Pass {
        let kind = database.kind
        let cutoff = Timestamp.bind(now.addingTimeInterval(-grace), kind)
        return try await database.transaction { db in
            var pass = Pass()
            pass.codes = try await db.delete(from: "access_codes").where("expires_at", .lessThan, cutoff).returning("id").all().count
            pass.codes += try await db.delete(from: "download_codes").where("expires_at", .lessThan, cutoff).returning("id").all().count
            pass.sessions = try await db.delete(from: "access_sessions").where("expires_at", .lessThan, Timestamp.bind(now, kind))
                .returning("token_hash").all().count
            pass.lapsedRequests = try await db.update("requests").set("status", to: RightsRequestStatus.lapsed.rawValue)
                .set("closed_at", to: Timestamp.bind(now, kind))
                .where("status", .equal, RightsRequestStatus.unverified.rawValue).where("code_expires_at", .lessThan, cutoff)
                .returning("id").all().count
            pass.signInFailures = try await db.delete(from: "staff_sign_in_failures").where("updated_at", .lessThan, cutoff)
                .where("locked_until", .lessThan, Timestamp.bind(now, kind)).returning("account").all().count
            pass.mailConsentRecords = try await db.delete(from: "mail_consent_records").where("keep_until", .lessThan, Timestamp.bind(now, kind))
                .returning("id").all().count
            pass.addressLimits = try await AddressLimit.purge(in: db, before: now)
            pass.provisionRecords = try await db.delete(from: "provision_records")
                .where("keep_until", .lessThan, LocalDate(japanAt: now).description).returning("id").all().count
            return pass
        }
    }

    /// Runs a pass every `interval` until the task is cancelled. With `lease`, one pass per interval across every
    /// server on the database: the server that takes the lease keeps it for most of the interval (R-OPS-1).
    public func run(every interval: Duration, lease: JobLease? = nil) async {
        await Periodic.run(every: interval, logger: logger, failure: "housekeeping pass failed") {
            if let lease {
                _ = try await lease.run(for: interval.timeInterval * 0.9, keep: true) { try await run() }
            } else {
                try await run()
            }
            return false
        }
    }
}
