import Foundation
import Logging
import MadoguchiCore
import Testing

/// The loop behind housekeeping, mail delivery and the daily audit check.
@Suite("Background work")
struct PeriodicTests {
    actor Counter {
        private(set) var value = 0
        func next() -> Int {
            value += 1
            return value
        }
    }

    struct Leaky: Error, CustomStringConvertible {
        var description: String { "could not reach taro@example.jp" }
    }

    static func waitFor(_ counter: Counter, _ count: Int) async throws {
        while await counter.value < count { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test("a pass that asks for more runs again at once, not after the interval; cancelling ends the wait", .timeLimit(.minutes(1)))
    func again() async throws {
        let counter = Counter()
        // An hour between passes: only "again" can bring the third pass within the test's time.
        let loop = Task {
            await Periodic.run(every: .seconds(3_600), logger: Logger(label: "test"), failure: "test pass failed") {
                await counter.next() < 3
            }
        }
        try await Self.waitFor(counter, 3)
        loop.cancel()
        await loop.value
        #expect(await counter.value == 3)
    }

    @Test("a failing pass is logged by its error's type only, and the next pass still runs", .timeLimit(.minutes(1)))
    func failure() async throws {
        let counter = Counter()
        let capture = LogCapture()
        let loop = Task {
            await Periodic.run(every: .milliseconds(10), logger: capture.logger, failure: "test pass failed") {
                if await counter.next() == 1 { throw Leaky() }
                return false
            }
        }
        try await Self.waitFor(counter, 2)
        loop.cancel()
        await loop.value
        let lines = capture.lines
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("error test pass failed error.type=") == true, "\(lines)")
        #expect(lines.first?.contains("Leaky") == true)
        #expect(!lines.joined().contains("taro"), "the error's text stays out of the log")
    }
}
