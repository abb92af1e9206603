import Crypto
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
    /// After this many failed attempts a message is marked `failed` and left for the operator (`FailedMail`).
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

    /// How many messages of a pass are handed to the transport at once.
    public var parallelSends = 4

    /// What became of one claimed message.
    private enum Outcome: Sendable {
        case sent, discarded, failed
        case retry(attempts: Int)
    }

    private struct Claimed: Sendable {
        let id: String
        let subjectID: String
        let sealed: Data
        let attempts: Int
    }

    /// Sends up to `limit` messages that are due; returns what happened. The pass claims its messages in one
    /// transaction, sends them (`parallelSends` at a time), and records every outcome with its audit entry in one
    /// more transaction.
    @discardableResult
    public func deliverDue(now: Date = Date(), limit: Int = 50) async throws -> Pass {
        let claimed = try await claim(now: now, limit: limit)
        guard !claimed.isEmpty else { return Pass() }
        // Every recipient's key in one read; a person erased meanwhile has none.
        // A key that cannot be unwrapped (another master key) fails its own message only.
        let (keys, unreadable) = try await self.keys.readableKeys(subjectIDs: claimed.map(\.subjectID))
        var outcomes: [(Claimed, Outcome)] = []
        try await withThrowingTaskGroup(of: (Claimed, Outcome?).self) { group in
            var next = claimed.makeIterator()
            func startNext() -> Bool {
                // A stopping server leaves the rest claimed; the claim expires and the next worker sends them.
                guard !Task.isCancelled, let message = next.next() else { return false }
                let key = keys[message.subjectID]
                let readable = unreadable[message.subjectID] == nil
                group.addTask { (message, await deliver(message, key: key, readable: readable, now: now)) }
                return true
            }
            for _ in 0..<max(1, parallelSends) where startNext() {}
            while let (message, outcome) = try await group.next() {
                // A send cut short by a stopping server is left claimed, like the messages not started.
                if let outcome { outcomes.append((message, outcome)) }
                _ = startNext()
            }
        }
        if !outcomes.isEmpty { try await record(outcomes, now: now) }
        var pass = Pass()
        for (_, outcome) in outcomes {
            switch outcome {
            case .sent: pass.sent += 1
            case .discarded: pass.discarded += 1
            case .failed: pass.failed += 1
            case .retry: pass.retried += 1
            }
        }
        return pass
    }

    /// Marks the due messages as being sent. A claim lasts five minutes: a worker that dies mid-send releases its
    /// messages to the next one.
    private func claim(now: Date, limit: Int) async throws -> [Claimed] {
        let kind = database.kind
        return try await database.transaction { db in
            var select = db.select().columns("id", "subject_id", "sealed", "attempts").from("outbox")
                .where("status", .in, ["pending", "sending"]).where("next_attempt_at", .lessThanOrEqual, Timestamp.bind(now, kind))
                .orderBy("next_attempt_at").limit(limit)
            if kind == .postgres { select = select.lockingClause(SQLRaw("FOR UPDATE SKIP LOCKED")) }
            let rows = try await select.all().map { row in
                Claimed(
                    id: try row.decode(column: "id", as: String.self),
                    subjectID: try row.decode(column: "subject_id", as: String.self),
                    sealed: try row.decode(column: "sealed", as: Data.self),
                    attempts: try row.decode(column: "attempts", as: Int.self)
                )
            }
            if !rows.isEmpty {
                try await db.update("outbox").set("status", to: "sending")
                    .set("next_attempt_at", to: Timestamp.bind(now.addingTimeInterval(300), kind))
                    .where("id", .in, rows.map(\.id)).run()
            }
            return rows
        }
    }

    private func deliver(_ message: Claimed, key: SymmetricKey?, readable: Bool, now: Date) async -> Outcome? {
        guard readable else {
            // Stored under a master key this installation does not hold: it can never be opened here. Failed at once,
            // for staff to see, and it holds back nothing else.
            logger.error("mail cannot be opened: its key is not readable with this master key", metadata: ["outbox.id": "\(message.id)"])
            return .failed
        }
        // The person was erased: the message can no longer be read, and must not be.
        guard let key else { return .discarded }
        let mail: OutgoingMail
        do {
            let json = try SealedField.open(message.sealed, key: key, context: "outbox/\(message.id)", for: .delivery)
            mail = try JSONDecoder().decode(OutgoingMail.self, from: Data(json.utf8))
        } catch {
            // A message that does not open or decode will not on a later try either.
            logger.error(
                "mail cannot be opened",
                metadata: [
                    "outbox.id": "\(message.id)",
                    "error.type": "\(String(reflecting: type(of: error)))",
                ]
            )
            return .failed
        }
        do {
            try await mailer.send(
                MailMessage(
                    from: from,
                    to: mail.to,
                    subject: mail.subject,
                    body: mail.body,
                    messageID: "\(message.id)@\(messageDomain)",
                    date: now,
                    listUnsubscribe: mail.listUnsubscribe
                )
            )
            return .sent
        } catch is CancellationError {
            return nil
        } catch {
            let attempts = message.attempts + 1
            var metadata: Logger.Metadata = [
                "outbox.id": "\(message.id)", "attempt": "\(attempts)",
                "error.type": "\(String(reflecting: type(of: error)))",
            ]
            let refusal = error as? SMTPError
            // The server's step and reply code say what went wrong and carry nothing personal.
            if let refusal { metadata["error.message"] = "\(refusal)" }
            logger.warning("mail delivery failed", metadata: metadata)
            // Refused for good (a 5xx to its recipient or content): failed at once, on its own; the rest go on.
            if refusal?.refusesMessageForGood == true { return .failed }
            return attempts >= maximumAttempts ? .failed : .retry(attempts: attempts)
        }
    }

    /// Records the outcomes of a pass: sent, discarded and failed messages with an audit entry each, retried ones
    /// with their next attempt (after 1, 2, 4 … minutes, at most an hour).
    private func record(_ outcomes: [(Claimed, Outcome)], now: Date) async throws {
        let kind = database.kind
        try await database.transaction { db in
            var events: [(AuditEvent, Date)] = []
            for status in ["sent", "discarded", "failed"] {
                let ids = outcomes.filter { Self.status($0.1) == status }.map(\.0)
                guard !ids.isEmpty else { continue }
                var update = db.update("outbox").set("status", to: status)
                if status == "sent" { update = update.set("sent_at", to: Timestamp.bind(now, kind)) }
                // Sent or discarded mail keeps no content: nothing of a person lingers readable in the outbox once
                // it is delivered (a failed message keeps its content for staff to look at and re-queue).
                if status != "failed" { update = update.set("sealed", to: Outbox.emptied) }
                try await update.where("id", .in, ids.map(\.id)).run()
                events += ids.map { message in
                    (
                        AuditEvent(
                            actor: "system",
                            action: "mail.\(status)",
                            subjectID: message.subjectID,
                            record: "outbox:\(message.id)",
                            purpose: "answer-inquiries"
                        ), now
                    )
                }
            }
            for (message, outcome) in outcomes {
                guard case let .retry(attempts) = outcome else { continue }
                let delay = min(3_600, 60 * pow(2, Double(attempts - 1)))
                try await db.update("outbox").set("status", to: "pending").set("attempts", to: attempts)
                    .set("next_attempt_at", to: Timestamp.bind(now.addingTimeInterval(delay), kind))
                    .where("id", .equal, message.id).run()
            }
            try await AuditLog.append(events, in: db, kind: kind)
        }
    }

    private static func status(_ outcome: Outcome) -> String? {
        switch outcome {
        case .sent: "sent"
        case .discarded: "discarded"
        case .failed: "failed"
        case .retry: nil
        }
    }

    /// Runs passes until the task is cancelled: the next pass starts at once while passes come back full (a burst
    /// of inquiries is mailed at the transport's pace), otherwise after `interval`.
    public func run(every interval: Duration = .seconds(5), batch: Int = 50) async {
        await Periodic.run(every: interval, logger: logger, failure: "outbox pass failed") {
            let pass = try await deliverDue(limit: batch)
            return pass.sent + pass.retried + pass.failed + pass.discarded >= batch
        }
    }
}
