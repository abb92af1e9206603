import Foundation
import Subprocess
import SystemPackage

/// Child processes for the tests, started with swift-subprocess.
///
/// Not Foundation's `Process`: on Linux it finds the highest open descriptor by copying each whole `dirent` out of
/// `/proc/self/fd`, reading past the end of the directory buffer; with the suite's ~1,400 descriptors open (parallel
/// tests, each with its databases) that read once crossed into an unmapped page and ended the run with SIGSEGV.
/// swift-subprocess also waits without blocking a concurrency thread, which a child that talks to this process's own
/// database connections needs.
enum Child {
    struct Finished: Sendable {
        /// The exit code, or nil when a signal ended the process.
        var exitCode: Int32?
        var signal: Int32?
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` to its end and collects what it printed (up to 16 MiB of each stream).
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil
    ) async throws -> Finished {
        let result = try await Subprocess.run(
            .path(FilePath(executable)),
            arguments: Arguments(arguments),
            environment: Self.environment(environment),
            workingDirectory: workingDirectory.map { FilePath($0) },
            output: .string(limit: 16 << 20),
            error: .string(limit: 16 << 20)
        )
        let (code, signal) = Self.status(result.terminationStatus)
        return Finished(exitCode: code, signal: signal, stdout: result.standardOutput, stderr: result.standardError)
    }

    /// A child that runs until the test stops it: its standard input is a pipe the test closes, and its first line of
    /// output (a "ready" line) is handed back.
    final class Running: Sendable {
        /// The first line the child printed, or nil when it ended without printing one.
        let firstLine: String?
        private let stopRequest: AsyncStream<Bool>.Continuation
        private let ended: Task<Finished, any Error>

        private init(firstLine: String?, stopRequest: AsyncStream<Bool>.Continuation, ended: Task<Finished, any Error>) {
            self.firstLine = firstLine
            self.stopRequest = stopRequest
            self.ended = ended
        }

        /// Starts `executable` and, when `awaitingFirstLine`, waits for its first line of output (or its end).
        static func start(
            _ executable: String,
            _ arguments: [String],
            environment: [String: String]? = nil,
            workingDirectory: String? = nil,
            awaitingFirstLine: Bool = true
        ) async throws -> Running {
            let (stops, stopRequest) = AsyncStream<Bool>.makeStream()
            let (lines, lineSink) = AsyncStream<String?>.makeStream()
            let ended = Task { () throws -> Finished in
                let result = try await Subprocess.run(
                    .path(FilePath(executable)),
                    arguments: Arguments(arguments),
                    environment: Child.environment(environment),
                    workingDirectory: workingDirectory.map { FilePath($0) },
                    input: .inputWriter,
                    output: .sequence,
                    error: .discarded
                ) { execution in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            var first = true
                            // Read to the end, so a chatty child never blocks on a full pipe.
                            for try await line in execution.standardOutput.strings() where first {
                                lineSink.yield(line)
                                first = false
                            }
                            if first { lineSink.yield(nil) }
                            lineSink.finish()
                        }
                        var terminate = false
                        for await request in stops {
                            terminate = request
                            break
                        }
                        try? await execution.standardInputWriter.finish()
                        if terminate { try? execution.send(signal: .terminate) }
                        try await group.waitForAll()
                    }
                }
                let (code, signal) = Child.status(result.terminationStatus)
                return Finished(exitCode: code, signal: signal, stdout: "", stderr: "")
            }
            var firstLine: String?
            if awaitingFirstLine {
                for await line in lines {
                    firstLine = line
                    break
                }
            }
            return Running(firstLine: firstLine, stopRequest: stopRequest, ended: ended)
        }

        /// Closes the child's standard input (and sends SIGTERM when `terminate`), then waits for it to end.
        @discardableResult
        func stop(terminate: Bool = false) async throws -> Finished {
            stopRequest.yield(terminate)
            stopRequest.finish()
            return try await ended.value
        }
    }

    private static func environment(_ values: [String: String]?) -> Environment {
        guard let values else { return .inherit }
        // Raw entries are handed to strdup: each ends with its NUL.
        return .custom(values.map { Array("\($0.key)=\($0.value)".utf8) + [0] })
    }

    private static func status(_ status: TerminationStatus) -> (Int32?, Int32?) {
        switch status {
        case let .exited(code): (code, nil)
        case let .signaled(signal): (nil, signal)
        }
    }
}
