import Foundation
import Logging
import SQLKit

/// Delivers the mail queued in the outbox with the changes that caused it. An SMTP outage loses nothing: a failed
/// message is retried with growing delays; a message is claimed before it is sent, so two workers never send it
/// together.
public struct OutboxWorker: Sendable {
    public let database: Database
    public let keys: SubjectKeyStore
    public let mailer: any Mailer
    public let from: String
    public let messageDomain: String
    public let logger: Logger
    /// After this many failed attempts a message is marked `failed` and left for staff.
    public var maximumAttempts = 10

    public init(database: Database, keys: SubjectKeyStore, mailer: any Mailer, from: String, messageDomain: String, logger: Logger) {
        self.database = database
        self.keys = keys
        self.mailer = mailer
        self.from = from
        self.messageDomain = messageDomain
        self.logger = logger
    }

    /// What one pass did.
    public struct Pass: Sendable, Equatable {
        public var sent = 0
        public var retried = 0
        public var failed = 0
        public var discarded = 0

        public init(sent: Int = 0, retried: Int = 0, failed: Int = 0, discarded: Int = 0) {
            self.sent = sent
            self.retried = retried
            self.failed = failed
            self.discarded = discarded
        }
    }

    /// Sends every message that is due; returns what happened.
    @discardableResult
    public func deliverDue(now: Date = Date(), limit: Int = 50) async throws -> Pass {
        let kind = database.kind
        let claimed: [(id: String, subjectID: String, sealed: Data, attempts: Int)] = try await database.transaction { db in
            var select = db.select().columns("id", "subject_id", "sealed", "attempts").from("outbox")
                .where("status", .in, ["pending", "sending"]).where("next_attempt_at", .lessThanOrEqual, Timestamp.bind(now, kind))
                .orderBy("next_attempt_at").limit(limit)
            if kind == .postgres { select = select.lockingClause(SQLRaw("FOR UPDATE SKIP LOCKED")) }
            let rows = try await select.all().map { row in
                (id: try row.decode(column: "id", as: String.self), subjectID: try row.decode(column: "subject_id", as: String.self),
                 sealed: try row.decode(column: "sealed", as: Data.self), attempts: try row.decode(column: "attempts", as: Int.self))
            }
            // A claim lasts five minutes: a worker that dies mid-send releases its messages to the next one.
            for row in rows {
                try await db.update("outbox").set("status", to: "sending")
                    .set("next_attempt_at", to: Timestamp.bind(now.addingTimeInterval(300), kind))
                    .where("id", .equal, row.id).run()
            }
            return rows
        }
        var pass = Pass()
        for message in claimed {
            // A stopping server leaves the rest claimed; the claim expires and the next worker sends them.
            if Task.isCancelled { break }
            guard let key = try await keys.key(subjectID: message.subjectID) else {
                // The person was erased: the message can no longer be read, and must not be.
                try await finish(message.id, subjectID: message.subjectID, status: "discarded", action: "mail.discarded", now: now)
                pass.discarded += 1
                continue
            }
            do {
                let json = try SealedField.open(message.sealed, key: key, context: "outbox/\(message.id)")
                let mail = try JSONDecoder().decode(OutgoingMail.self, from: Data(json.utf8))
                try await mailer.send(MailMessage(from: from, to: mail.to, subject: mail.subject, body: mail.body,
                                                  messageID: "\(message.id)@\(messageDomain)", date: now))
                try await finish(message.id, subjectID: message.subjectID, status: "sent", action: "mail.sent", now: now)
                pass.sent += 1
            } catch is CancellationError {
                break
            } catch {
                let attempts = message.attempts + 1
                logger.warning("mail delivery failed", metadata: ["outbox.id": "\(message.id)", "attempt": "\(attempts)",
                                                                  "error.type": "\(String(reflecting: type(of: error)))"])
                if attempts >= maximumAttempts {
                    try await finish(message.id, subjectID: message.subjectID, status: "failed", action: "mail.failed", now: now)
                    pass.failed += 1
                } else {
                    let delay = min(3_600, 60 * pow(2, Double(attempts - 1)))
                    try await database.transaction { db in
                        try await db.update("outbox").set("status", to: "pending").set("attempts", to: attempts)
                            .set("next_attempt_at", to: Timestamp.bind(now.addingTimeInterval(delay), kind))
                            .where("id", .equal, message.id).run()
                    }
                    pass.retried += 1
                }
            }
        }
        return pass
    }

    private func finish(_ id: String, subjectID: String, status: String, action: String, now: Date) async throws {
        let kind = database.kind
        try await database.transaction { db in
            var update = db.update("outbox").set("status", to: status)
            if status == "sent" { update = update.set("sent_at", to: Timestamp.bind(now, kind)) }
            try await update.where("id", .equal, id).run()
            try await AuditLog.append(AuditEvent(actor: "system", action: action, subjectID: subjectID, record: "outbox:\(id)",
                                                 purpose: "answer-inquiries"), in: db, kind: kind, at: now)
        }
    }

    /// Runs passes until the task is cancelled: the next pass starts at once while passes come back full (a burst
    /// of inquiries is mailed at the transport's pace), otherwise after `interval`.
    public func run(every interval: Duration = .seconds(5), batch: Int = 50) async {
        while !Task.isCancelled {
            var full = false
            do {
                let pass = try await deliverDue(limit: batch)
                full = pass.sent + pass.retried + pass.failed + pass.discarded >= batch
            } catch is CancellationError {
                return
            } catch {
                logger.error("outbox pass failed", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
            }
            if !full { try? await Task.sleep(for: interval) }
        }
    }
}
