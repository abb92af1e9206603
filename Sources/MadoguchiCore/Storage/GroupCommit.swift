import Foundation
import Metrics
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
        let enqueued = ContinuousClock.now
    }

    private let database: Database
    /// The drain runs here rather than on the shared pool (see `DedicatedExecutor`).
    nonisolated let executor: DedicatedExecutor
    private var pending: [Job] = []
    private var draining = false
    /// Upper bound on the jobs in one transaction, to keep each commit's latency bounded.
    private let batchLimit = 256
    /// Jobs per shared commit, and how long each job waited for its batch to start (`/metrics`; no-ops unless the
    /// server was started with a metrics listener).
    private let batchSizes = Recorder(label: GroupCommitMetrics.batchSize, aggregate: true)
    private let waits = CoreMetrics.Timer(label: GroupCommitMetrics.wait)

    init(database: Database) {
        self.database = database
        executor = DedicatedExecutor(name: "madoguchi-write")
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
        while !pending.isEmpty {
            let batch = Array(pending.prefix(batchLimit))
            pending.removeFirst(batch.count)
            batchSizes.record(batch.count)
            let started = ContinuousClock.now
            for job in batch {
                let (seconds, attoseconds) = (started - job.enqueued).components
                waits.recordNanoseconds(min(seconds, 86_400) * 1_000_000_000 + attoseconds / 1_000_000_000)
            }
            let outcomes: [Result<any Sendable, any Error>]
            do {
                do {
                    outcomes = try await run(batch, mergingWrites: true)
                } catch is MergedWritesFailed {
                    // One write set broke a constraint: the transaction was rolled back; run each set on its own so
                    // that only the one at fault fails.
                    outcomes = try await run(batch, mergingWrites: false)
                }
            } catch {
                for job in batch { job.continuation.resume(throwing: error) }
                continue
            }
            for (job, outcome) in zip(batch, outcomes) {
                // A job refused in its savepoint for a full disk did not fail its transaction: note it here.
                if case let .failure(error) = outcome { database.storage.noteFailure(error, logger: database.logger) }
                job.continuation.resume(with: outcome)
            }
        }
        draining = false
    }

    /// Wraps the error of a merged write, which rolls back the whole batch.
    private struct MergedWritesFailed: Error {
        let underlying: any Error
    }

    /// One transaction for the batch. Merged write sets go first and without a savepoint (the common case pays for
    /// no rollback journal); closures and unmerged write sets run in savepoints of their own.
    private func run(_ batch: [Job], mergingWrites: Bool) async throws -> [Result<any Sendable, any Error>] {
        let kind = database.kind
        return try await database.transaction { db in
            var outcomes = [Result<any Sendable, any Error>?](repeating: nil, count: batch.count)
            let writes = batch.indices.compactMap { index -> (Int, WriteSet)? in
                if case let .writes(set) = batch[index].work { (index, set) } else { nil }
            }
            if mergingWrites, !writes.isEmpty {
                let results: [Result<Void, WriteConflict>]
                do {
                    results = try await WriteSet.apply(writes.map(\.1), in: db, kind: kind)
                } catch {
                    throw MergedWritesFailed(underlying: error)
                }
                for ((index, _), result) in zip(writes, results) {
                    outcomes[index] = result.map { () as any Sendable }.mapError { $0 as any Error }
                }
            }
            for (index, job) in batch.enumerated() {
                switch job.work {
                case let .closure(body):
                    outcomes[index] = try await Self.inSavepoint("job\(index)", db) { try await body(db) }
                case let .writes(set) where !mergingWrites:
                    outcomes[index] = try await Self.inSavepoint("job\(index)", db) {
                        try await WriteSet.apply([set], in: db, kind: kind)[0].get()
                    }.map { () as any Sendable }
                case .writes:
                    continue
                }
            }
            return outcomes.map { $0! }
        }
    }

    /// Runs `body` in a savepoint: released on success, rolled back (and its error returned) on failure.
    private static func inSavepoint<R: Sendable>(
        _ name: String,
        _ db: any SQLDatabase,
        _ body: () async throws -> R
    ) async throws -> Result<R, any Error> {
        try await db.raw("SAVEPOINT \(unsafeRaw: name)").run()
        do {
            let value = try await body()
            try await db.raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            return .success(value)
        } catch {
            do {
                try await db.raw("ROLLBACK TO SAVEPOINT \(unsafeRaw: name)").run()
                try await db.raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            } catch _ {
                // A full disk (or an I/O error) makes SQLite roll the whole transaction back on its own: the savepoint
                // is gone, and with it the work of the jobs before this one. Fail the transaction with the original
                // error, so that no job of the batch is reported stored and none after it runs outside a transaction.
                throw error
            }
            return .failure(error)
        }
    }
}

/// The group commit's metric names (and their histogram buckets, set where the metrics backend is chosen).
public enum GroupCommitMetrics {
    public static let batchSize = "madoguchi_group_commit_batch_size"
    public static let wait = "madoguchi_group_commit_wait_seconds"
    public static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    public static let waitBuckets: [Duration] = [
        .microseconds(100), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]
}
