import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import Metrics
import Prometheus

/// `/metrics` in Prometheus text (R-OPS-1), on a listener of its own (`--metrics-host`, `--metrics-port`), never on the
/// public one. What the code records as it runs goes through swift-metrics into `registry`: per route (its pattern,
/// never the raw path) the request count and latency histogram (Hummingbird's `MetricsMiddleware`), and the group
/// commit's batch sizes and waits. What lives in the database is read at each scrape: the outbox's depth, the age
/// of its oldest message and its failed count, the overdue requests, and the audit chain's state. Counts and ages
/// only: nothing personal.
public struct MetricsEndpoint: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let live: LiveInstallation
    private let outboxQueued: Prometheus.Gauge
    private let outboxOldest: Prometheus.Gauge
    private let outboxFailed: Prometheus.Gauge
    private let requestsOverdue: Prometheus.Gauge
    private let databaseUp: Prometheus.Gauge
    private let auditIntact: Prometheus.Gauge
    private let auditEntries: Prometheus.Gauge
    private let auditWholeChainChecked: Prometheus.Gauge

    public init(registry: PrometheusCollectorRegistry, live: LiveInstallation) {
        self.registry = registry
        self.live = live
        func gauge(_ subsystem: String, _ name: String, unit: String = "", _ help: String) -> Prometheus.Gauge {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "madoguchi", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
            )
        }
        outboxQueued = gauge("outbox", "queued", "Mail waiting for delivery")
        outboxOldest = gauge("outbox", "oldest", unit: "seconds", "Age of the oldest mail waiting for delivery, 0 when none waits")
        outboxFailed = gauge("outbox", "failed", "Mail given up after its attempts (madoguchi mail failed, mail retry)")
        requestsOverdue = gauge("requests", "overdue", "Open requests about personal data past their due date")
        databaseUp = gauge("database", "up", "1 when the database answered this scrape's queries")
        auditIntact = gauge("audit", "chain_intact", "1 when the audit chain verifies, 0 when it is broken")
        auditEntries = gauge("audit", "entries", "Entries in the audit chain at its last check")
        auditWholeChainChecked = gauge(
            "audit",
            "whole_chain_checked",
            unit: "timestamp_seconds",
            "When the whole audit chain was last recomputed and found intact (Unix time), 0 before that"
        )
    }

    /// Chooses the Prometheus backend for swift-metrics, with the histogram buckets of Madoguchi's own metrics. Call
    /// once per process, before the installation opens its databases.
    public static func bootstrap(_ registry: PrometheusCollectorRegistry) {
        MetricsSystem.bootstrap(factory(registry))
    }

    /// The swift-metrics backend writing into `registry`.
    public static func factory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[GroupCommitMetrics.batchSize] = GroupCommitMetrics.batchSizeBuckets
        factory.durationHistogramBuckets[GroupCommitMetrics.wait] = GroupCommitMetrics.waitBuckets
        // Hummingbird names its latency histogram as OpenTelemetry does; Prometheus names carry the unit.
        factory.nameAndLabelSanitizer = { name, labels in
            (name == "http.server.request.duration" ? "http_server_request_duration_seconds" : name, labels)
        }
        return factory
    }

    /// The exposition text, the database's figures read now.
    public func render(logger: Logger) async -> String {
        let installation = live.installation
        do {
            let figures = try await OperationalFigures.read(from: installation.database)
            outboxQueued.set(to: Double(figures.outboxQueued))
            outboxOldest.set(to: figures.outboxOldestSeconds)
            outboxFailed.set(to: Double(figures.outboxFailed))
            requestsOverdue.set(to: Double(figures.requestsOverdue))
            let status = try await installation.auditWatch.check()
            switch status.verification {
            case let .intact(entries):
                auditIntact.set(to: 1)
                auditEntries.set(to: Double(entries))
            case .broken:
                auditIntact.set(to: 0)
            }
            auditWholeChainChecked.set(to: status.wholeChainCheckedAt?.timeIntervalSince1970 ?? 0)
            databaseUp.set(to: 1)
        } catch {
            databaseUp.set(to: 0)
            logger.warning("metrics: the database's figures could not be read", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
        }
        return registry.emitToString()
    }

    /// The metrics listener's routes: `GET /metrics`, and 404 for anything else.
    public func router(logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: .init(string: await render(logger: logger)))
            )
        }
        return router
    }
}
