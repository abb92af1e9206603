import Crypto
import Foundation
import SQLKit

extension RightsRequestDesk {
    /// How long the download link of a completed disclosure works.
    public static let downloadLifetime: TimeInterval = 14 * 86_400
    /// Codes one completed disclosure can have sent over its link's life (each with `maximumAttempts` tries).
    public static let downloadCodeLimit = 10

    /// Migration 28 (issue #21): the download link alone no longer hands out the document. It leads to a page that
    /// mails a fresh one-time code to the request's proven address; only the code opens the download. A link read
    /// from a proxy's log, a browser history or a forwarded mail is therefore not a bearer credential. The codes
    /// are hashed; how many a request has had sent is counted on its row, in one statement.
    public static let downloadCodeMigration = Migration(
        version: 28,
        name: "download codes",
        portable: [
            """
            CREATE TABLE download_codes (
                id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL,
                code_hash TEXT NOT NULL,
                expires_at {timestamp} NOT NULL,
                attempts INTEGER NOT NULL,
                used {bool} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX download_codes_request ON download_codes (request_id)",
            "ALTER TABLE requests ADD COLUMN download_codes INTEGER NOT NULL DEFAULT 0",
        ]
    )

    /// A download token for a completed disclosure, valid until `expires` (whole seconds since 1970).
    public func disclosureToken(number: String, expires: Date) -> String {
        // `expires` is the server's own time; a value outside Int's range would be a bug, never a trap.
        let stamp = Int(exactly: expires.timeIntervalSince1970.rounded(.down)) ?? 0
        return "\(stamp).\(downloadMAC(number: number, stamp: String(stamp)))"
    }

    private func downloadMAC(number: String, stamp: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("download:\(number):\(stamp)".utf8), using: vault.keys.ring.linkKey))
    }

    /// A valid, unexpired download link of a completed disclosure request: what the code steps need. The address
    /// it holds is the one the requester proved with the request's code; it is only ever given to the mail.
    public struct DownloadLink: Sendable {
        public let number: String
        /// The blind index of the request's address (for the per-address limit on code mail).
        public let emailIndex: String
        /// The person the disclosure is about ("" when nothing was held under the address).
        public let subjectID: String
        public let format: DisclosureFormat
        public let requestID: String
        let keyID: String
        let address: String
    }

    /// The download link `token` of request `number`, when it is valid and unexpired and the request is a
    /// completed disclosure; nil for anything else. The token comes from a URL: its parts are checked as text
    /// (digits only, a signature of the right length) and its time against a window (now … now + the link's
    /// lifetime) before any arithmetic, so no value a client sends can overflow a conversion (R-SEC-3).
    public func downloadLink(number: String, token: String, at now: Date = Date()) async throws -> DownloadLink? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...12).contains(parts[0].utf8.count), parts[0].utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            parts[1].utf8.count == 64, number.utf8.count <= 64,
            Self.constantTimeEqual(downloadMAC(number: number, stamp: String(parts[0])), String(parts[1])),
            let stamp = Int(parts[0])  // at most 12 digits: always in range
        else { return nil }
        let nowSeconds = Int(exactly: now.timeIntervalSince1970.rounded(.down)) ?? 0
        guard stamp > nowSeconds, stamp <= nowSeconds + Int(Self.downloadLifetime) + 60 else { return nil }
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns("id", "type", "status", "subject_id", "email_index", "key_id", "sealed").from("requests")
                    .where("number", .equal, number).first()
            })
        else { return nil }
        let type = try row.decode(column: "type", as: String.self)
        let keyID = try row.decode(column: "key_id", as: String.self)
        guard try row.decode(column: "status", as: String.self) == RightsRequestStatus.completed.rawValue,
            type == RightsRequestType.disclosure.rawValue || type == RightsRequestType.provisionRecords.rawValue,
            let key = try await vault.keys.key(subjectID: keyID)
        else { return nil }
        let id = try row.decode(column: "id", as: String.self)
        let content = try RightsRequestContent.open(try row.decode(column: "sealed", as: Data.self), key: key, requestID: id, for: .personalAccess)
        return DownloadLink(
            number: number,
            emailIndex: try row.decode(column: "email_index", as: String.self),
            subjectID: try row.decode(column: "subject_id", as: String?.self) ?? "",
            format: content.delivery,
            requestID: id,
            keyID: keyID,
            address: content.email
        )
    }

    public enum DownloadCodeIssue: Sendable, Hashable {
        /// A code was mailed; `ticket` names it in the next step (not secret: the code is).
        case sent(ticket: String)
        /// This link has had `downloadCodeLimit` codes already.
        case limitReached
        /// The request is no longer a completed disclosure (erased meanwhile).
        case notValid
    }

    /// Mails a fresh one-time code for `link` to the request's address, sealed under the request's key (so an
    /// erasure of the person destroys it with the request), and counts it on the request in the same statement
    /// that checks the limit. Audited.
    public func issueDownloadCode(
        _ link: DownloadLink,
        mail: (_ address: String, _ code: String) -> OutgoingMail,
        at now: Date = Date()
    ) async throws -> DownloadCodeIssue {
        let kind = vault.database.kind
        guard let key = try await vault.keys.key(subjectID: link.keyID) else { return .notValid }
        let ticket = RecordID.make(at: now)
        let code = Self.newCode()
        let sealed = try Outbox.seal(mail(link.address, code), key: key)
        let limit = Self.downloadCodeLimit
        return try await vault.database.transaction { db -> DownloadCodeIssue in
            guard
                let row = try await db.raw(
                    """
                    UPDATE requests SET download_codes = download_codes + 1
                    WHERE id = \(bind: link.requestID) AND status = \(bind: RightsRequestStatus.completed.rawValue)
                        AND download_codes < \(bind: limit)
                    RETURNING download_codes
                    """
                ).first()
            else {
                let status = try await db.select().column("status").from("requests").where("id", .equal, link.requestID)
                    .first(decodingColumn: "status", as: String.self)
                return status == RightsRequestStatus.completed.rawValue ? .limitReached : .notValid
            }
            let sent = try row.decode(column: "download_codes", as: Int.self)
            try await db.insert(into: "download_codes")
                .columns("id", "request_id", "code_hash", "expires_at", "attempts", "used", "created_at")
                .values(
                    SQLBind(ticket),
                    SQLBind(link.requestID),
                    SQLBind(downloadCodeHash(ticket: ticket, code: code)),
                    Timestamp.bind(now.addingTimeInterval(Self.codeLifetime), kind),
                    SQLBind(0),
                    SQLBind(false),
                    Timestamp.bind(now, kind)
                ).run()
            try await Outbox.insert(sealed, subjectID: link.keyID, kind: "download-code", in: db, dialect: kind, at: now)
            try await AuditLog.append(
                AuditEvent(
                    actor: "person",
                    action: "request.download-code",
                    subjectID: link.subjectID.isEmpty ? nil : link.subjectID,
                    record: "request:\(link.requestID)",
                    detail: "sent=\(sent)"
                ),
                in: db,
                kind: kind,
                at: now
            )
            return .sent(ticket: ticket)
        }
    }

    public enum DownloadCodeOutcome: Sendable, Hashable {
        /// The code is right: the document may be delivered (once for this code).
        case granted
        case wrongCode(attemptsLeft: Int)
        /// Unknown ticket, another request's, expired, used, or out of tries.
        case notValid
    }

    /// Checks `code` of `ticket` for `link`. A right code is used up in the statement that claims it; wrong codes
    /// are counted in one statement each, none past the limit (R-SEC-3). Audited.
    public func enterDownloadCode(_ link: DownloadLink, ticket: String, code: String, at now: Date = Date()) async throws -> DownloadCodeOutcome {
        let kind = vault.database.kind
        guard ticket.utf8.count <= 64,
            let row = try await vault.database.read({ db in
                try await db.select().columns("code_hash", "expires_at", "attempts", "used").from("download_codes")
                    .where("id", .equal, ticket).where("request_id", .equal, link.requestID).first()
            })
        else { return .notValid }
        let attempts = try row.decode(column: "attempts", as: Int.self)
        guard try !row.decode(column: "used", as: Bool.self), attempts < Self.maximumAttempts,
            now < (try Timestamp.decode(row, column: "expires_at", kind))
        else { return .notValid }
        let maximum = Self.maximumAttempts
        let subjectID = link.subjectID.isEmpty ? nil : link.subjectID
        guard Self.constantTimeEqual(downloadCodeHash(ticket: ticket, code: code), try row.decode(column: "code_hash", as: String.self)) else {
            let record = "request:\(link.requestID)"
            let counted = try await WrongCodeCount.record(.downloadCodes, id: ticket, maximum: maximum, in: vault.database, at: now) {
                AuditEvent(actor: "person", action: "request.download-code-wrong", subjectID: subjectID, record: record, detail: "attempt=\($0)")
            }
            guard let counted, counted < maximum else { return .notValid }
            return .wrongCode(attemptsLeft: maximum - counted)
        }
        let claimed = try await vault.database.transaction { db -> Bool in
            guard
                try await db.update("download_codes").set("used", to: true).where("id", .equal, ticket)
                    .where("used", .equal, false).where("attempts", .lessThan, maximum).returning("id").first() != nil
            else { return false }
            try await AuditLog.append(
                AuditEvent(actor: "person", action: "request.download", subjectID: subjectID, record: "request:\(link.requestID)"),
                in: db,
                kind: kind,
                at: now
            )
            return true
        }
        return claimed ? .granted : .notValid
    }

    private func downloadCodeHash(ticket: String, code: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("download-code:\(ticket):\(code)".utf8), using: vault.keys.ring.codeKey))
    }
}
