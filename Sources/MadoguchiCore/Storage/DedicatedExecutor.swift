import Foundation
import Synchronization

/// A task executor with a thread of its own. The group commit runs on it: each of its SQL statements hands work to
/// the database thread and back, and on the shared cooperative pool every "back" would wait behind the HTTP work
/// that keeps that pool busy under load. On its own thread the commit resumes at once, so batches stay short.
final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` and `stopping` are only touched under `lock`; the thread is started once in init.
    private let lock = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false

    /// `name` shows in `top -H` and `perf`; Linux keeps 15 bytes of it and ignores a longer one.
    init(name: String) {
        // Named from inside: Foundation on Linux does not pass a name set before `start()` on to the system thread.
        let thread = Thread { [self] in
            Thread.current.name = name
            run()
        }
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock.lock()
        jobs.append(unowned)
        lock.signal()
        lock.unlock()
    }

    /// Lets the thread end once its queue is empty.
    func shutdown() {
        lock.lock()
        stopping = true
        lock.signal()
        lock.unlock()
    }

    private func run() {
        while true {
            lock.lock()
            while jobs.isEmpty && !stopping { lock.wait() }
            if jobs.isEmpty && stopping {
                lock.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            lock.unlock()
            for job in batch {
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }
}
