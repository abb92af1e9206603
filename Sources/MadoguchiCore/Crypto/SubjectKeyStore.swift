import Crypto
import Foundation
import SQLKit

/// Each person's own data key, kept wrapped by the master key in a database apart from the data (R-SEC-1, R-DSR-5).
///
/// Backups of the data therefore hold ciphertext only; destroying a person's key row makes every copy of their
/// data unreadable (crypto-shredding).
public struct SubjectKeyStore: Sendable {
    public let database: Database
    public let ring: KeyRing

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "subject keys", portable: [
            """
            CREATE TABLE subject_keys (
                subject_id TEXT PRIMARY KEY,
                master_key_id TEXT NOT NULL,
                wrapped {bytes} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
        ]),
    ]

    public init(database: Database, ring: KeyRing) {
        self.database = database
        self.ring = ring
    }

    /// Creates and stores a new key for `subjectID`. It is written before the data transaction that uses it; a key
    /// left without data by a failed transaction unlocks nothing.
    public func create(subjectID: String) async throws -> SymmetricKey {
        let key = SymmetricKey(size: .bits256)
        let master = ring.current
        let wrapped = try SealedField.seal(key.withUnsafeBytes { Data($0).base64EncodedString() },
                                           key: master.key, context: "subject-key/\(subjectID)")
        var writes = WriteSet()
        writes.insert(into: "subject_keys", columns: ["subject_id", "master_key_id", "wrapped", "created_at"],
                      values: [SQLBind(subjectID), SQLBind(master.id), SQLBind(wrapped), Timestamp.bind(writes.at, database.kind)])
        try await database.commit(writes)
        return key
    }

    /// The key of `subjectID`, or nil when it does not exist (never created, or destroyed by erasure).
    public func key(subjectID: String) async throws -> SymmetricKey? {
        let row = try await database.read { db in
            try await db.select().columns("master_key_id", "wrapped").from("subject_keys")
                .where("subject_id", .equal, subjectID).first()
        }
        guard let row else { return nil }
        let masterID = try row.decode(column: "master_key_id", as: String.self)
        guard let master = ring.masterKey(id: masterID) else {
            throw KeyRingError("subject key wrapped by master key \(masterID), which is not in the key file")
        }
        let encoded = try SealedField.open(try row.decode(column: "wrapped", as: Data.self), key: master.key,
                                           context: "subject-key/\(subjectID)")
        guard let raw = Data(base64Encoded: encoded) else { throw SealedFieldError.malformed }
        return SymmetricKey(data: raw)
    }
}
