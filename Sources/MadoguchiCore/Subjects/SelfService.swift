import Crypto
import Foundation
import SQLKit

/// A person's own access to their data at `/me` (R-SELF-1): a one-time code proves control of the address, then a
/// short session lets them see everything, change, add and delete — each change audited.
public struct SelfService: Sendable {
    public let vault: InquiryVault
    public static let codeLifetime: TimeInterval = 600
    public static let maximumAttempts = 5
    public static let sessionLifetime: TimeInterval = 1_800

    public static let migration = Migration(
        version: 7,
        name: "self-service access",
        portable: [
            """
            CREATE TABLE access_codes (
                id TEXT PRIMARY KEY,
                email_index TEXT NOT NULL,
                code_hash TEXT NOT NULL,
                expires_at {timestamp} NOT NULL,
                attempts INTEGER NOT NULL,
                used {bool} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            """
            CREATE TABLE access_sessions (
                token_hash TEXT PRIMARY KEY,
                email_index TEXT NOT NULL,
                expires_at {timestamp} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
        ]
    )

    public init(vault: InquiryVault) {
        self.vault = vault
    }

    /// A code was issued: `ticket` identifies it in the next step; `code` is to be mailed, never shown.
    public struct Issued: Sendable, Hashable {
        public let ticket: String
        public let code: String
    }

    /// Issues a code for `email` and queues `mail` with it, the same work whether or not the address is known.
    public func issueCode(email: String, mail: (String) -> OutgoingMail, at now: Date = Date()) async throws -> Issued {
        let kind = vault.database.kind
        let sealKey = try await vault.keys.newSubject()
        let ticket = RecordID.make(at: now)
        let code = RightsRequestDesk.newCode()
        var writes = WriteSet(at: now)
        // The code mail's key is kept with the code, so an erasure of the address's person destroys it too.
        writes.insert(
            into: "access_codes",
            columns: ["id", "email_index", "code_hash", "expires_at", "attempts", "used", "created_at", "key_id"],
            values: [
                SQLBind(ticket), SQLBind(BlindIndex.of(email: email, key: vault.keys.ring.blindIndexKey)),
                SQLBind(hash("code:\(ticket):\(code)")), Timestamp.bind(now.addingTimeInterval(Self.codeLifetime), kind),
                SQLBind(0), SQLBind(false), Timestamp.bind(now, kind), SQLBind(sealKey.subjectID),
            ]
        )
        Outbox.add(try Outbox.seal(mail(code), key: sealKey.key), subjectID: sealKey.subjectID, kind: "access-code", to: &writes, dialect: kind)
        writes.audit(AuditEvent(actor: "person", action: "access.code", record: "access:\(ticket)"))
        try await vault.database.commit(writes)
        return Issued(ticket: ticket, code: code)
    }

    public enum CodeOutcome: Sendable, Hashable {
        /// A session token for the cookie.
        case signedIn(token: String)
        case wrongCode(attemptsLeft: Int)
        case notValid
    }

    /// Checks the code of `ticket`; a right code (once, in time, within five tries) starts a session.
    public func enter(ticket: String, code: String, at now: Date = Date()) async throws -> CodeOutcome {
        let kind = vault.database.kind
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns("email_index", "code_hash", "expires_at", "attempts", "used").from("access_codes")
                    .where("id", .equal, ticket).first()
            })
        else { return .notValid }
        let attempts = try row.decode(column: "attempts", as: Int.self)
        guard try !row.decode(column: "used", as: Bool.self), attempts < Self.maximumAttempts,
            now < (try Timestamp.decode(row, column: "expires_at", kind))
        else { return .notValid }
        guard RightsRequestDesk.constantTimeEqual(hash("code:\(ticket):\(code)"), try row.decode(column: "code_hash", as: String.self)) else {
            let counted = try await WrongCodeCount.record(.accessCodes, id: ticket, maximum: Self.maximumAttempts, in: vault.database, at: now) {
                AuditEvent(actor: "person", action: "access.code-wrong", record: "access:\(ticket)", detail: "attempt=\($0)")
            }
            guard let counted else { return .notValid }
            let left = Self.maximumAttempts - counted
            return left > 0 ? .wrongCode(attemptsLeft: left) : .notValid
        }
        let emailIndex = try row.decode(column: "email_index", as: String.self)
        let token = Hex.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        let started = try await vault.database.transaction { db -> Bool in
            // A right code counts only while the attempts are not used up, checked in the same statement.
            let claimed = try await db.update("access_codes").set("used", to: true).where("id", .equal, ticket)
                .where("used", .equal, false).where("attempts", .lessThan, Self.maximumAttempts).returning("id").first()
            guard claimed != nil else { return false }
            try await db.insert(into: "access_sessions").columns("token_hash", "email_index", "expires_at", "created_at")
                .values(
                    SQLBind(hash("session:\(token)")),
                    SQLBind(emailIndex),
                    Timestamp.bind(now.addingTimeInterval(Self.sessionLifetime), kind),
                    Timestamp.bind(now, kind)
                ).run()
            try await AuditLog.append(
                AuditEvent(actor: "person", action: "access.sign-in", record: "access:\(ticket)"),
                in: db,
                kind: kind,
                at: now
            )
            return true
        }
        return started ? .signedIn(token: token) : .notValid
    }

    /// The person a live session belongs to: their subject id, or "" when nothing is held under the address.
    public func person(token: String, at now: Date = Date()) async throws -> String? {
        let kind = vault.database.kind
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns("email_index", "expires_at").from("access_sessions")
                    .where("token_hash", .equal, hash("session:\(token)")).first()
            }), now < (try Timestamp.decode(row, column: "expires_at", kind))
        else { return nil }
        let emailIndex = try row.decode(column: "email_index", as: String.self)
        return try await vault.database.read { db in
            try await db.select().column("id").from("subjects").where("email_index", .equal, emailIndex)
                .first(decodingColumn: "id", as: String.self)
        } ?? ""
    }

    /// The nonce that binds the page's CSRF tokens to a session: derived from the session token by a keyed hash, so
    /// the page carries a value of its own — the HttpOnly session token never appears in the HTML, and the nonce does
    /// not lead back to it.
    public func csrfNonce(sessionToken token: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data("me-csrf:\(token)".utf8), using: vault.keys.ring.sessionKey)).base64URLEncoded
    }

    /// Ends a session.
    public func signOut(token: String) async throws {
        try await vault.database.transaction { db in
            try await db.delete(from: "access_sessions").where("token_hash", .equal, hash("session:\(token)")).run()
        }
    }

    /// The current fields of one of the person's inquiries (for an edit), or nil when it is not theirs. Audited.
    public func inquiryFields(subjectID: String, number: String, at now: Date = Date()) async throws -> [String: String]? {
        let database = vault.database
        guard
            let inquiryID = try await database.read({ db in
                try await db.select().column("id").from("inquiries").where("number", .equal, number)
                    .where("subject_id", .equal, subjectID).first(decodingColumn: "id", as: String.self)
            }), let key = try await vault.keys.key(subjectID: subjectID)
        else { return nil }
        let rows = try await database.read { db in
            try await db.select().columns("field_id", "sealed").from("inquiry_fields").where("inquiry_id", .equal, inquiryID).all()
        }
        var fields: [String: String] = [:]
        for row in rows {
            let fieldID = try row.decode(column: "field_id", as: String.self)
            fields[fieldID] = try SealedField.open(
                try row.decode(column: "sealed", as: Data.self),
                key: key,
                context: "inquiry/\(inquiryID)/\(fieldID)",
                for: .personalAccess
            )
        }
        try await AuditLog.record(
            AuditEvent(
                actor: "person",
                action: "inquiry.read",
                subjectID: subjectID,
                record: "inquiry:\(inquiryID)",
                detail: "source=self-service"
            ),
            in: database,
            at: now
        )
        return fields
    }

    /// Deletes one of the person's inquiries with everything attached to it.
    public func deleteInquiry(subjectID: String, number: String, at now: Date = Date()) async throws -> Bool {
        let kind = vault.database.kind
        return try await vault.database.transaction { db in
            guard
                let id = try await db.select().column("id").from("inquiries").where("number", .equal, number)
                    .where("subject_id", .equal, subjectID).first(decodingColumn: "id", as: String.self)
            else { return false }
            try await db.delete(from: "inquiries").where("id", .equal, id).run()
            try await AuditLog.append(
                AuditEvent(
                    actor: "person",
                    action: "inquiry.delete",
                    subjectID: subjectID,
                    record: "inquiry:\(id)",
                    detail: "source=self-service"
                ),
                in: db,
                kind: kind,
                at: now
            )
            return true
        }
    }

    private func hash(_ text: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: vault.keys.ring.codeKey))
    }
}
