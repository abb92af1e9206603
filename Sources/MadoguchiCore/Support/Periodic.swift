import Logging

/// Background work that repeats while the server runs: housekeeping, mail delivery, the daily audit check.
public enum Periodic {
    /// Runs `pass` now, then again `interval` after each pass ends — at once instead when `pass` returns true (there
    /// is more to do) — until the task is cancelled. A failing pass is logged as `failure` with its error's type only
    /// (an error's text could carry personal data), and the next pass still runs.
    public static func run(
        every interval: Duration,
        logger: Logger,
        failure: Logger.Message,
        isolation: isolated (any Actor)? = #isolation,
        _ pass: () async throws -> Bool
    ) async {
        while !Task.isCancelled {
            var again = false
            do {
                again = try await pass()
            } catch is CancellationError {
                return
            } catch {
                logger.error(failure, metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
            }
            if !again { try? await Task.sleep(for: interval) }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    public var timeInterval: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
