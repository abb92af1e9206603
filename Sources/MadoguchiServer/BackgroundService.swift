import Logging
import ServiceLifecycle

/// A piece of background work — housekeeping, mail delivery, the daily audit check — run as a `Service` of the
/// server's `ServiceGroup`: it starts with the group and ends on graceful shutdown (its task is cancelled, which ends
/// a `Periodic` loop between passes), in the group's reverse start order, before the databases are closed.
public struct BackgroundService: ServiceLifecycle.Service {
    public let name: String
    private let work: @Sendable () async -> Void

    public init(_ name: String, _ work: @escaping @Sendable () async -> Void) {
        self.name = name
        self.work = work
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await work() }
    }
}
