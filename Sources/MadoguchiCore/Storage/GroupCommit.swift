import Foundation
import SQLKit

/// Runs many small write transactions as one: jobs that arrive while a commit is in progress are collected and
/// committed together, so a burst of inquiries pays for one durable commit (one fsync) instead of one each.
///
/// Two kinds of job share a batch. Write sets (`Database.commit`) are merged: the rows of all of them go in with one
/// multi-row statement per table and one audit append. Closures (`Database.batchedTransaction`) run one after the
/// other, each in its own savepoint. A job that fails is rolled back alone and gets its own error; the others still
/// commit. Every caller is answered only after the commit that holds its work.
actor GroupCommitter {
    private enum Work {
        case closure(@Sendable (any SQLDatabase) async throws -> any Sendable)
        case writes(WriteSet)
    }

    private struct Job {
        let work: Work
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private let database: Database
    /// The drain runs here rather than on the shared pool (see `DedicatedExecutor`).
    nonisolated let executor: DedicatedExecutor
    private var pending: [Job] = []
    private var draining = false
    /// Upper bound on the jobs in one transaction, to keep each commit's latency bounded.
    private let batchLimit = 256

    init(database: Database) {
        self.database = database
        executor = DedicatedExecutor(name: "madoguchi-commit")
    }

    func run<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let result = try await enqueue(.closure({ try await body($0) }))
        // The job's own closure produced an R.
        return result as! R
    }

    func commit(_ writes: WriteSet) async throws {
        _ = try await enqueue(.writes(writes))
    }

    private func enqueue(_ work: Work) async throws -> any Sendable {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Job(work: work, continuation: continuation))
            if !draining {
                draining = true
                Task(executorPreference: executor) { await self.drain() }
            }
        }
    }

    private func drain() async {
        let kind = database.kind
        while !pending.isEmpty {
            let batch = Array(pending.prefix(batchLimit))
            pending.removeFirst(batch.count)
            let outcomes: [Result<any Sendable, any Error>]
            do {
                outcomes = try await database.transaction { db in
                    var outcomes = [Result<any Sendable, any Error>?](repeating: nil, count: batch.count)
                    let merged = batch.indices.compactMap { index -> (Int, WriteSet)? in
                        if case let .writes(set) = batch[index].work { (index, set) } else { nil }
                    }
                    if !merged.isEmpty {
                        let results = try await Self.applyMerged(merged.map(\.1), in: db, kind: kind)
                        for ((index, _), result) in zip(merged, results) { outcomes[index] = result }
                    }
                    for (index, job) in batch.enumerated() {
                        guard case let .closure(body) = job.work else { continue }
                        outcomes[index] = try await Self.inSavepoint("job\(index)", db) { try await body(db) }
                    }
                    return outcomes.map { $0! }
                }
            } catch {
                for job in batch { job.continuation.resume(throwing: error) }
                continue
            }
            for (job, outcome) in zip(batch, outcomes) { job.continuation.resume(with: outcome) }
        }
        draining = false
    }

    /// Writes all sets with merged statements; if that fails (one set breaks a constraint), writes them one by one
    /// so that only the set at fault fails.
    private static func applyMerged(_ sets: [WriteSet], in db: any SQLDatabase, kind: SQLDialectKind) async throws -> [Result<any Sendable, any Error>] {
        let together = try await inSavepoint("merged", db) { try await WriteSet.apply(sets, in: db, kind: kind) }
        if case let .success(results) = together {
            return results.map { result in result.map { () as any Sendable }.mapError { $0 as any Error } }
        }
        var outcomes: [Result<any Sendable, any Error>] = []
        for (index, set) in sets.enumerated() {
            let alone = try await inSavepoint("single\(index)", db) { try await WriteSet.apply([set], in: db, kind: kind)[0] }
            switch alone {
            case .success(.success): outcomes.append(.success(()))
            case let .success(.failure(conflict)): outcomes.append(.failure(conflict))
            case let .failure(error): outcomes.append(.failure(error))
            }
        }
        return outcomes
    }

    /// Runs `body` in a savepoint: released on success, rolled back (and its error returned) on failure.
    private static func inSavepoint<R: Sendable>(_ name: String, _ db: any SQLDatabase,
                                                 _ body: () async throws -> R) async throws -> Result<R, any Error> {
        try await db.raw("SAVEPOINT \(unsafeRaw: name)").run()
        do {
            let value = try await body()
            try await db.raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            return .success(value)
        } catch {
            try await db.raw("ROLLBACK TO SAVEPOINT \(unsafeRaw: name)").run()
            try await db.raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            return .failure(error)
        }
    }
}

