import Crypto
import Foundation
import SQLKit

/// Takes requests, verifies the requester's control of the address, and keeps the due dates (R-DSR-1…3).
public struct RightsRequestDesk: Sendable {
    public let vault: InquiryVault
    public static let codeLifetime: TimeInterval = 600
    public static let maximumAttempts = 5

    public static let migration = Migration(
        version: 6,
        name: "requests",
        portable: [
            """
            CREATE TABLE requests (
                id TEXT PRIMARY KEY,
                number TEXT NOT NULL UNIQUE,
                type TEXT NOT NULL,
                status TEXT NOT NULL,
                email_index TEXT NOT NULL,
                key_id TEXT NOT NULL,
                sealed {bytes} NOT NULL,
                code_hash TEXT NOT NULL,
                code_expires_at {timestamp} NOT NULL,
                attempts INTEGER NOT NULL,
                subject_id TEXT,
                received_at {timestamp},
                due_on TEXT,
                closed_at {timestamp},
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX requests_status_due ON requests (status, due_on)",
            "CREATE INDEX requests_subject ON requests (subject_id)",
        ]
    )

    /// Migration 24 (R-DSR-6): a request is received when it arrives — `received_at` is set at submission and the
    /// due date counts from that day — and verified later (`verified_at`); requests staff enter from mail, phone
    /// or post carry their `channel` and the identity check used. Requests already open keep the dates they were
    /// given (their receipt was recorded at verification).
    public static let clockMigration = Migration(
        version: 24,
        name: "request receipt and verification",
        portable: [
            "ALTER TABLE requests ADD COLUMN verified_at {timestamp}",
            "ALTER TABLE requests ADD COLUMN channel TEXT",
            "ALTER TABLE requests ADD COLUMN identity_check TEXT",
            "UPDATE requests SET verified_at = received_at WHERE received_at IS NOT NULL",
            "UPDATE requests SET received_at = created_at WHERE received_at IS NULL",
        ]
    )

    /// The law's outer mark: a person may sue when a request has not been met two weeks after it arrived
    /// (APPI Art. 39); shown beside the policy's due date.
    public static let legalMarkerDays = 14

    public init(vault: InquiryVault) {
        self.vault = vault
    }

    /// Stores a request, sealed under a key of its own, with a hashed one-time code; `mail` composes the code mail,
    /// queued in the same commit. Nothing here looks the person up, so the work and the answer are the same for
    /// a known and an unknown address.
    public func submit(
        _ request: ValidatedRightsRequest,
        mail: (_ number: String, _ code: String) -> OutgoingMail,
        at now: Date = Date()
    ) async throws -> RightsRequestReceipt {
        var attempt = 1
        while true {
            do {
                return try await attemptSubmit(request, mail: mail, at: now)
            } catch is WriteConflict where attempt < 4 {
                attempt += 1
            }
        }
    }

    private func attemptSubmit(
        _ request: ValidatedRightsRequest,
        mail: (String, String) -> OutgoingMail,
        at now: Date
    ) async throws -> RightsRequestReceipt {
        let kind = vault.database.kind
        let sealKey = try await vault.keys.newSubject()
        let id = RecordID.make(at: now)
        let number = "R" + InquiryVault.inquiryNumber(at: now).dropFirst()
        let code = Self.newCode()
        let expires = now.addingTimeInterval(Self.codeLifetime)
        let content = String(decoding: try JSONEncoder().encode(request.content), as: UTF8.self)
        var writes = WriteSet(at: now)
        writes.claim(
            "requests",
            key: id,
            columns: [
                "id", "number", "type", "status", "email_index", "key_id", "sealed", "code_hash", "code_expires_at",
                "attempts", "created_at", "received_at",
            ],
            values: [
                SQLBind(id), SQLBind(number), SQLBind(request.type.rawValue), SQLBind(RightsRequestStatus.unverified.rawValue),
                SQLBind(BlindIndex.of(email: request.content.email, key: vault.keys.ring.blindIndexKey)),
                SQLBind(sealKey.subjectID),
                SQLBind(try SealedField.seal(content, key: sealKey.key, context: "request/\(id)")),
                SQLBind(codeHash(code, requestID: id)), Timestamp.bind(expires, kind), SQLBind(0), Timestamp.bind(now, kind),
                Timestamp.bind(now, kind),
            ],
            uniqueOn: "number"
        )
        Outbox.add(
            try Outbox.seal(mail(number, code), key: sealKey.key),
            subjectID: sealKey.subjectID,
            kind: "request-code",
            to: &writes,
            dialect: kind
        )
        writes.audit(
            AuditEvent(
                actor: "person",
                action: "request.create",
                record: "request:\(id)",
                detail: "type=\(request.type.rawValue)"
            )
        )
        try await vault.database.commit(writes)
        return RightsRequestReceipt(id: id, number: number, code: code, expiresAt: expires)
    }

    static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next(upperBound: UInt32(1_000_000))
        let digits = String(value)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    func codeHash(_ code: String, requestID: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("\(requestID):\(code)".utf8), using: vault.keys.ring.codeKey))
    }

    /// A token for the verification link in the code mail: proves knowledge of the code without showing it.
    public func linkToken(code: String, requestID: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("link:\(requestID):\(code)".utf8), using: vault.keys.ring.linkKey))
    }
}
