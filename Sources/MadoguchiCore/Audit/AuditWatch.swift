import Foundation
import Logging

/// Keeps the audit chain checked without reading all of it for every look: the console's audit page checks only the
/// entries added since the last check (from its checkpoint), and the whole chain is recomputed at the first look
/// after start, after a broken result, and on each `checkWholeChain` (the server runs one a day).
public actor AuditWatch {
    /// What a look at the chain found.
    public struct Status: Sendable, Equatable {
        public let verification: AuditVerification
        /// When the whole chain was last recomputed and found intact; nil before that.
        public let wholeChainCheckedAt: Date?

        public init(verification: AuditVerification, wholeChainCheckedAt: Date?) {
            self.verification = verification
            self.wholeChainCheckedAt = wholeChainCheckedAt
        }
    }

    public let database: Database
    private var checkpoint: AuditCheckpoint?
    private var wholeChainCheckedAt: Date?

    public init(database: Database) {
        self.database = database
    }

    /// The entries added since the last check (the whole chain when there is no intact checkpoint).
    public func check(now: Date = Date()) async throws -> Status {
        guard let start = checkpoint else { return try await checkWholeChain(now: now) }
        let (verification, next) = try await AuditLog.verify(database, after: start)
        record(verification, next, wholeChain: false, now: now)
        return Status(verification: verification, wholeChainCheckedAt: wholeChainCheckedAt)
    }

    /// Recomputes every entry.
    public func checkWholeChain(now: Date = Date()) async throws -> Status {
        let (verification, next) = try await AuditLog.verify(database, after: .genesis)
        record(verification, next, wholeChain: true, now: now)
        return Status(verification: verification, wholeChainCheckedAt: wholeChainCheckedAt)
    }

    /// Recomputes the whole chain now and then every `interval` until the task is cancelled; a broken chain is logged
    /// as an error (the entry's number and what failed, nothing else).
    /// With `lease`, one server on the database checks per interval (R-OPS-1); the others' consoles still check the
    /// whole chain at their first look.
    public func checkWholeChain(every interval: Duration, logger: Logger, lease: JobLease? = nil) async {
        await Periodic.run(every: interval, logger: logger, failure: "audit chain check failed") {
            if let lease, try await !lease.acquire(until: Date().addingTimeInterval(interval.timeInterval * 0.95)) { return false }
            switch try await checkWholeChain().verification {
            case let .intact(entries):
                // The head goes to the log, outside the database: compare it with `madoguchi audit verify --expect`.
                // An intact whole-chain check leaves its checkpoint at the head.
                let head = checkpoint ?? .genesis
                logger.info("audit chain intact", metadata: ["audit.entries": "\(entries)", "audit.head": "\(head.sequence):\(head.hash)"])
            case let .broken(sequence, reason):
                logger.error("audit chain broken", metadata: ["audit.entry": "\(sequence)", "audit.reason": "\(reason)"])
            }
            return false
        }
    }

    private func record(_ verification: AuditVerification, _ next: AuditCheckpoint, wholeChain: Bool, now: Date) {
        guard case .intact = verification else {
            // Until the whole chain checks out again, every look recomputes it.
            checkpoint = nil
            wholeChainCheckedAt = nil
            return
        }
        if wholeChain {
            wholeChainCheckedAt = now
        } else if checkpoint == nil {
            // A look that overlapped this one found the chain broken: that stands until the whole chain checks out.
            return
        }
        // Two looks can overlap; the further checkpoint wins.
        if next.sequence >= checkpoint?.sequence ?? 0 { checkpoint = next }
    }
}
