import Foundation
import SQLKit

/// Mail that the outbox gave up on (`failed`: refused for good by the SMTP server, or still failing after the worker's
/// attempts), for the operator: listed without content (no address, no subject), and put back in the queue when the
/// cause is fixed (`madoguchi mail failed`, `madoguchi mail retry`). A failed message keeps its sealed content until
/// then; erasure reaches it like any queued mail.
public struct FailedMail: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// One failed message, as the operator sees it.
    public struct Entry: Sendable, Hashable {
        public let id: String
        public let kind: String
        public let attempts: Int
        public let createdAt: Date
        public let lastAttemptDue: Date
    }

    /// Every failed message, oldest first.
    public func list() async throws -> [Entry] {
        let kind = database.kind
        return try await database.read { db in
            try await db.raw(
                "SELECT id, kind, attempts, created_at, next_attempt_at FROM outbox WHERE status = 'failed' ORDER BY created_at, id"
            ).all().map { row in
                Entry(
                    id: try row.decode(column: "id", as: String.self),
                    kind: try row.decode(column: "kind", as: String.self),
                    attempts: try row.decode(column: "attempts", as: Int.self),
                    createdAt: try Timestamp.decode(row, column: "created_at", kind),
                    lastAttemptDue: try Timestamp.decode(row, column: "next_attempt_at", kind)
                )
            }
        }
    }

    /// What `retry` did: the ids put back in the queue, and those that were not failed messages (unknown, already
    /// sent or pending, or gone with an erasure).
    public struct Requeued: Sendable, Equatable {
        public var requeued: [String]
        public var notFailed: [String]

        public init(requeued: [String], notFailed: [String]) {
            self.requeued = requeued
            self.notFailed = notFailed
        }
    }

    /// Puts the failed messages `ids` back in the queue, due now with their attempts counted afresh; each is audited
    /// (`mail.requeue`) with `actor`. Only failed messages move: a retry cannot resend what was sent.
    public func retry(_ ids: [String], actor: String, at now: Date = Date()) async throws -> Requeued {
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { return Requeued(requeued: [], notFailed: []) }
        let kind = database.kind
        return try await database.transaction { db in
            let rows = try await db.raw(
                """
                UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = \(Timestamp.bind(now, kind))
                WHERE status = 'failed' AND id IN (\(SQLList(unique.map { SQLBind($0) })))
                RETURNING id, subject_id
                """
            ).all()
            var requeued: [String] = []
            var events: [(AuditEvent, Date)] = []
            for row in rows {
                let id = try row.decode(column: "id", as: String.self)
                requeued.append(id)
                events.append(
                    (
                        AuditEvent(
                            actor: actor,
                            action: "mail.requeue",
                            subjectID: try row.decode(column: "subject_id", as: String.self),
                            record: "outbox:\(id)"
                        ), now
                    )
                )
            }
            _ = try await AuditLog.append(events, in: db, kind: kind)
            let done = Set(requeued)
            return Requeued(requeued: requeued.sorted(), notFailed: unique.filter { !done.contains($0) })
        }
    }
}
