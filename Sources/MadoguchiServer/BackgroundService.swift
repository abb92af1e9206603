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

/// The installation's databases as the first `Service` of the group, so that they close last: the group shuts its
/// services down in reverse start order, so the HTTP server and the background work have stopped before the data
/// database and the key store close. The PostgreSQL client's run loop stays with `Database` (the command-line tools
/// open databases without a service group); in `serve`, this service owns when it ends.
public struct InstallationService: ServiceLifecycle.Service {
    let installation: Installation

    public init(_ installation: Installation) {
        self.installation = installation
    }

    public func run() async throws {
        // Waits for SIGTERM/SIGINT (or for the group to be cancelled because a service failed), then closes.
        try? await gracefulShutdown()
        await installation.close()
    }
}
