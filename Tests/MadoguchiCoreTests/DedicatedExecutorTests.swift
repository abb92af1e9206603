import Foundation
import Testing

@testable import MadoguchiCore

@Suite("Group commit thread")
struct DedicatedExecutorTests {
    @Test("the group commit's thread carries its name, so `top -H` and `perf` can tell it apart")
    func threadIsNamed() async throws {
        let executor = DedicatedExecutor(name: "madoguchi-test")
        defer { executor.shutdown() }
        #if os(Linux)
        // The name the system gives the thread, not Foundation's copy of it.
        let name = try await Task(executorPreference: executor) {
            try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
        }.value
        #expect(name == "madoguchi-test\n")
        #endif
    }
}
