import Foundation
import SQLKit

/// Runs many small write transactions as one: jobs that arrive while a commit is in progress are collected and
/// committed together, so a burst of inquiries pays for one durable commit (one fsync) instead of one each.
/// Each job runs inside its own savepoint: a job that throws is rolled back alone and gets its own error; the
/// others still commit. Every caller is answered only after the commit that holds its work.
actor GroupCommitter {
    private struct Job {
        let body: @Sendable (any SQLDatabase) async throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private let database: Database
    private var pending: [Job] = []
    private var draining = false
    /// Upper bound on the jobs in one transaction, to keep each commit's latency bounded.
    private let batchLimit = 256

    init(database: Database) {
        self.database = database
    }

    func run<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            pending.append(Job(body: { try await body($0) }, continuation: continuation))
            if !draining {
                draining = true
                Task { await drain() }
            }
        }
        // The job's own closure produced an R.
        return result as! R
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(batchLimit))
            pending.removeFirst(batch.count)
            let outcomes: [Result<any Sendable, any Error>]
            do {
                outcomes = try await database.transaction { db in
                    var outcomes: [Result<any Sendable, any Error>] = []
                    for (index, job) in batch.enumerated() {
                        let savepoint = "job\(index)"
                        try await db.raw("SAVEPOINT \(unsafeRaw: savepoint)").run()
                        do {
                            let value = try await job.body(db)
                            try await db.raw("RELEASE SAVEPOINT \(unsafeRaw: savepoint)").run()
                            outcomes.append(.success(value))
                        } catch {
                            try await db.raw("ROLLBACK TO SAVEPOINT \(unsafeRaw: savepoint)").run()
                            try await db.raw("RELEASE SAVEPOINT \(unsafeRaw: savepoint)").run()
                            outcomes.append(.failure(error))
                        }
                    }
                    return outcomes
                }
            } catch {
                for job in batch { job.continuation.resume(throwing: error) }
                continue
            }
            for (job, outcome) in zip(batch, outcomes) { job.continuation.resume(with: outcome) }
        }
        draining = false
    }
}
