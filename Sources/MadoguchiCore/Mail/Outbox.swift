import Crypto
import Foundation
import SQLKit

/// The outbox table: mail sealed with the recipient's key, inserted in the transaction of the change that causes it.
enum Outbox {
    /// What a row's `sealed` holds once its content is gone (sent, discarded, or erased with its person): one zero
    /// byte, which no key opens (an empty value is not stored the same way by both databases' drivers).
    static let emptied = Data([0])

    /// Migration 12: the outbox keeps no content of mail already sent, and code mail is tied to its code so an
    /// erasure can find it.
    static let contentMigration = Migration(
        version: 12,
        name: "outbox content after sending; code mail keys",
        sqlite: [
            "UPDATE outbox SET sealed = X'00' WHERE status IN ('sent', 'discarded')",
            "ALTER TABLE access_codes ADD COLUMN key_id TEXT",
        ],
        postgres: [
            "UPDATE outbox SET sealed = '\\x00'::bytea WHERE status IN ('sent', 'discarded')",
            "ALTER TABLE access_codes ADD COLUMN key_id TEXT",
        ]
    )

    /// A message sealed for the outbox, ready to insert.
    struct Sealed: Sendable {
        let id: String
        let data: Data
    }

    static func seal(_ mail: OutgoingMail, key: SymmetricKey) throws -> Sealed {
        let id = RecordID.make()
        let json = String(decoding: try JSONEncoder().encode(mail), as: UTF8.self)
        return Sealed(id: id, data: try SealedField.seal(json, key: key, context: "outbox/\(id)"))
    }

    /// Adds the message to a change's write set.
    static func add(_ mail: Sealed, subjectID: String, kind: String, to writes: inout WriteSet, dialect: SQLDialectKind) {
        let now = Timestamp.bind(writes.at, dialect)
        writes.insert(
            into: "outbox",
            columns: ["id", "subject_id", "kind", "sealed", "status", "attempts", "next_attempt_at", "created_at"],
            values: [
                SQLBind(mail.id), SQLBind(subjectID), SQLBind(kind), SQLBind(mail.data), SQLBind("pending"),
                SQLBind(0), now, now,
            ]
        )
    }

    static func insert(
        _ mail: Sealed,
        subjectID: String,
        kind: String,
        in db: any SQLDatabase,
        dialect: SQLDialectKind,
        at now: Date
    ) async throws {
        try await db.insert(into: "outbox")
            .columns("id", "subject_id", "kind", "sealed", "status", "attempts", "next_attempt_at", "created_at")
            .values(
                SQLBind(mail.id),
                SQLBind(subjectID),
                SQLBind(kind),
                SQLBind(mail.data),
                SQLBind("pending"),
                SQLBind(0),
                Timestamp.bind(now, dialect),
                Timestamp.bind(now, dialect)
            )
            .run()
    }
}
