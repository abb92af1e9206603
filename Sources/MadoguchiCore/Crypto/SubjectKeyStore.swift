import Crypto
import Foundation
import PostgresNIO
import SQLKit

/// Each person's own data key, kept wrapped by the master key in a database apart from the data (R-SEC-1, R-DSR-5).
///
/// Backups of the data therefore hold ciphertext only; destroying a person's key row makes every copy of their
/// data unreadable (crypto-shredding).
public struct SubjectKeyStore: Sendable {
    public let database: Database
    public let ring: KeyRing
    /// Keys for new people, stored ahead of need in batches so that a first inquiry waits for no key-store commit.
    private let pool: KeyPool

    public static let migrations: [Migration] = [
        Migration(
            version: 1,
            name: "subject keys",
            portable: [
                """
                CREATE TABLE subject_keys (
                    subject_id TEXT PRIMARY KEY,
                    master_key_id TEXT NOT NULL,
                    wrapped {bytes} NOT NULL,
                    created_at {timestamp} NOT NULL
                )
                """
            ]
        )
    ]

    /// `poolSize` keys for new people are stored at a time (0: each is stored when needed).
    public init(database: Database, ring: KeyRing, poolSize: Int = 32) {
        self.database = database
        self.ring = ring
        let kind = database.kind
        pool = KeyPool(size: poolSize) { count in
            let master = ring.current
            var writes = WriteSet()
            var made: [NewSubjectKey] = []
            for _ in 0..<count {
                let subjectID = RecordID.make()
                let key = SymmetricKey(size: .bits256)
                let wrapped = try SealedField.seal(
                    key.withUnsafeBytes { Data($0).base64EncodedString() },
                    key: master.key,
                    context: "subject-key/\(subjectID)"
                )
                writes.insert(
                    into: "subject_keys",
                    columns: ["subject_id", "master_key_id", "wrapped", "created_at"],
                    values: [SQLBind(subjectID), SQLBind(master.id), SQLBind(wrapped), Timestamp.bind(writes.at, kind)]
                )
                made.append(NewSubjectKey(subjectID: subjectID, key: key))
            }
            try await database.commit(writes)
            return made
        }
    }

    /// A subject id with its key, already stored: for a new person. The key is written before the data transaction
    /// that uses it; a key left without data (a failed transaction, a stopped server) unlocks nothing.
    public func newSubject() async throws -> NewSubjectKey {
        try await pool.take()
    }

    /// Destroys the person's key (crypto-shredding): every sealed field of theirs becomes unreadable wherever a copy
    /// of it lies. On SQLite the freed pages are overwritten (`secure_delete`) and the write-ahead log that still
    /// holds the old page is checkpointed and truncated at once.
    /// Returns false when the write-ahead log could not be truncated yet (a long reader): the key row is gone, but an
    /// old copy of its page may stay in the log until the next checkpoint; the caller records that.
    @discardableResult
    public func destroy(subjectID: String) async throws -> Bool {
        try await destroy(subjectIDs: [subjectID])
    }

    /// Destroys several keys in one transaction (an erasure: the person's key and the keys of their requests and
    /// code mails), then checkpoints once.
    @discardableResult
    public func destroy(subjectIDs: [String]) async throws -> Bool {
        let unique = Array(Set(subjectIDs))
        guard !unique.isEmpty else { return true }
        try await database.transaction { db in
            for chunk in stride(from: 0, to: unique.count, by: 500).map({ Array(unique[$0..<min($0 + 500, unique.count)]) }) {
                try await db.delete(from: "subject_keys").where("subject_id", .in, chunk).run()
            }
        }
        return try await database.checkpoint()
    }

    /// Deletes the stored keys that were made ahead and never given to a person (at shutdown).
    public func discardUnusedKeys() async {
        let unused = await pool.drain()
        guard !unused.isEmpty else { return }
        _ = try? await database.transaction { db in
            try await db.delete(from: "subject_keys").where("subject_id", .in, unused.map(\.subjectID)).run()
        }
    }

    /// The key of `subjectID`, or nil when it does not exist (never created, or destroyed by erasure).
    public func key(subjectID: String) async throws -> SymmetricKey? {
        try await keys(subjectIDs: [subjectID])[subjectID]
    }

    /// The keys that exist among `subjectIDs`, in one read. Throws when one of them cannot be unwrapped.
    public func keys(subjectIDs: [String]) async throws -> [String: SymmetricKey] {
        let read = try await readableKeys(subjectIDs: subjectIDs)
        if let failure = read.failures.first { throw failure.value }
        return read.keys
    }

    /// The keys that exist among `subjectIDs`, in one read, and apart from them the ones that are stored but cannot be
    /// unwrapped with this ring (wrapped by a master key it does not hold, or damaged), each with its error — so one
    /// such key holds back nothing else (the outbox marks its message failed and sends the rest).
    public func readableKeys(subjectIDs: [String]) async throws -> (keys: [String: SymmetricKey], failures: [String: any Error]) {
        let unique = Array(Set(subjectIDs))
        guard !unique.isEmpty else { return ([:], [:]) }
        let rows: [(subjectID: String, masterID: String, wrapped: Data)]
        if unique.count == 1, let prepared = try await database.prepared(OneKey(subjectID: unique[0])) {
            // One person's key, the intake's case: prepared once per PostgreSQL connection.
            rows = prepared.map { (subjectID: $0.0, masterID: $0.1, wrapped: $0.2) }
        } else {
            rows = try await database.read { db in
                try await db.select().columns("subject_id", "master_key_id", "wrapped").from("subject_keys")
                    .where("subject_id", .in, unique).all()
            }.map { row in
                (
                    subjectID: try row.decode(column: "subject_id", as: String.self),
                    masterID: try row.decode(column: "master_key_id", as: String.self),
                    wrapped: try row.decode(column: "wrapped", as: Data.self)
                )
            }
        }
        var found: [String: SymmetricKey] = [:]
        var failures: [String: any Error] = [:]
        for (subjectID, masterID, wrapped) in rows {
            do {
                guard let master = ring.masterKey(id: masterID) else {
                    throw KeyRingError(
                        ja: "本人の鍵がマスター鍵 \(masterID) で包まれていますが、その鍵が鍵ファイルにありません",
                        en: "subject key wrapped by master key \(masterID), which is not in the key file"
                    )
                }
                let encoded = try SealedField.open(
                    wrapped,
                    key: master.key,
                    context: "subject-key/\(subjectID)",
                    for: .keyUnwrap
                )
                guard let raw = Data(base64Encoded: encoded), raw.count == 32 else { throw SealedFieldError.malformed }
                found[subjectID] = SymmetricKey(data: raw)
            } catch {
                failures[subjectID] = error
            }
        }
        return (found, failures)
    }
}

extension SubjectKeyStore {
    /// One person's stored key on PostgreSQL (`Database.prepared`).
    struct OneKey: PostgresPreparedStatement {
        static let sql = "SELECT subject_id, master_key_id, wrapped FROM subject_keys WHERE subject_id = $1"
        typealias Row = (String, String, Data)
        let subjectID: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(subjectID)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }
}

/// A new person's id and data key.
public struct NewSubjectKey: Sendable {
    public let subjectID: String
    public let key: SymmetricKey
}

/// Stored keys waiting for new people. Taking one below half the pool starts a refill of a whole pool in one commit;
/// when the pool is empty, takers wait for that commit.
actor KeyPool {
    private let size: Int
    private let make: @Sendable (Int) async throws -> [NewSubjectKey]
    private var ready: [NewSubjectKey] = []
    private var waiters: [CheckedContinuation<NewSubjectKey, any Error>] = []
    private var refilling = false

    init(size: Int, make: @escaping @Sendable (Int) async throws -> [NewSubjectKey]) {
        self.size = size
        self.make = make
    }

    func take() async throws -> NewSubjectKey {
        if size == 0 {
            guard let made = try await make(1).first else { throw KeyRingError(ja: "鍵を作れませんでした", en: "no key was made") }
            return made
        }
        if ready.count <= size / 2 { refill() }
        if let next = ready.popLast() { return next }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }

    func drain() -> [NewSubjectKey] {
        defer { ready.removeAll() }
        return ready
    }

    private func refill() {
        guard !refilling else { return }
        refilling = true
        let count = max(size, waiters.count)
        Task {
            do {
                self.arrived(try await make(count))
            } catch {
                self.failed(error)
            }
        }
    }

    private func arrived(_ keys: [NewSubjectKey]) {
        refilling = false
        ready.append(contentsOf: keys)
        while !waiters.isEmpty, let next = ready.popLast() {
            waiters.removeFirst().resume(returning: next)
        }
        if !waiters.isEmpty || ready.count <= size / 2 { refill() }
    }

    private func failed(_ error: any Error) {
        refilling = false
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume(throwing: error) }
    }
}
