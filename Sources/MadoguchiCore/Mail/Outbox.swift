import Crypto
import Foundation
import SQLKit

/// The outbox table: mail sealed with the recipient's key, inserted in the transaction of the change that causes it.
enum Outbox {
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
        writes.insert(into: "outbox", columns: ["id", "subject_id", "kind", "sealed", "status", "attempts", "next_attempt_at", "created_at"],
                      values: [SQLBind(mail.id), SQLBind(subjectID), SQLBind(kind), SQLBind(mail.data), SQLBind("pending"),
                               SQLBind(0), now, now])
    }

    static func insert(_ mail: Sealed, subjectID: String, kind: String, in db: any SQLDatabase, dialect: SQLDialectKind,
                       at now: Date) async throws {
        try await db.insert(into: "outbox")
            .columns("id", "subject_id", "kind", "sealed", "status", "attempts", "next_attempt_at", "created_at")
            .values(SQLBind(mail.id), SQLBind(subjectID), SQLBind(kind), SQLBind(mail.data), SQLBind("pending"),
                    SQLBind(0), Timestamp.bind(now, dialect), Timestamp.bind(now, dialect))
            .run()
    }
}
