import Crypto
import Foundation
import SQLKit

extension RightsRequestDesk {
    /// An open request in the staff queue, without personal data.
    public struct QueueEntry: Sendable, Hashable {
        public let id: String
        public let number: String
        public let type: RightsRequestType
        public let status: RightsRequestStatus
        public let subjectKnown: Bool
        public let receivedAt: Date?
        public let due: LocalDate?
        /// When the requester's control of the address was proven (or staff checked their identity).
        public var verifiedAt: Date? = nil
        /// How it arrived: nil for the site's form or API, otherwise `mail`, `phone`, `post` or `email`.
        public var channel: String? = nil

        /// Two weeks from the day of receipt (APPI Art. 39): after it the person may sue.
        public var legalMarker: LocalDate? {
            receivedAt.map { LocalDate(japanAt: $0).adding(days: RightsRequestDesk.legalMarkerDays) }
        }

        /// True when the request is still open (or awaits verification) after the two weeks.
        public func pastLegalMarker(on today: LocalDate) -> Bool {
            guard status == .open || status == .unverified, let legalMarker else { return false }
            return today > legalMarker
        }

        /// How the due date stands on `today`.
        public func urgency(on today: LocalDate) -> Urgency {
            guard status == .open, let due else { return .none }
            if due < today { return .overdue }
            if due == today { return .dueToday }
            return .onTime
        }
    }

    public enum Urgency: String, Sendable, Hashable {
        case overdue
        case dueToday = "due-today"
        case onTime = "on-time"
        case none
    }

    /// Requests in `statuses`, the earliest due first.
    public func queue(statuses: [RightsRequestStatus] = [.open]) async throws -> [QueueEntry] {
        try await Self.queue(in: vault.database, statuses: statuses)
    }

    /// The queue read straight from the database (no keys needed: it holds no personal data).
    public static func queue(in database: Database, statuses: [RightsRequestStatus] = [.open]) async throws -> [QueueEntry] {
        let kind = database.kind
        return try await database.read { db in
            try await db.select().columns("id", "number", "type", "status", "subject_id", "received_at", "due_on", "verified_at", "channel")
                .from("requests")
                .where("status", .in, statuses.map(\.rawValue)).orderBy("due_on").orderBy("created_at").all()
                .map { row in
                    QueueEntry(
                        id: try row.decode(column: "id", as: String.self),
                        number: try row.decode(column: "number", as: String.self),
                        type: RightsRequestType(rawValue: try row.decode(column: "type", as: String.self)) ?? .disclosure,
                        status: RightsRequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                        subjectKnown: !(try row.decode(column: "subject_id", as: String?.self) ?? "").isEmpty,
                        receivedAt: try? Timestamp.decode(row, column: "received_at", kind),
                        due: try row.decode(column: "due_on", as: String?.self).flatMap(LocalDate.init(iso:)),
                        verifiedAt: try Timestamp.decodeIfPresent(row, column: "verified_at", kind),
                        channel: try row.decode(column: "channel", as: String?.self)
                    )
                }
        }
    }
}
