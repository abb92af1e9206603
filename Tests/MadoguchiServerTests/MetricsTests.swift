import Foundation
import HTTPTypes
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import Prometheus
import SQLKit
import Testing

/// `/metrics` (R-OPS-1). The metrics backend is global to a process: the tests' registry is chosen once.
@Suite("Metrics")
struct MetricsTests {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsEndpoint.bootstrap(registry)
        return registry
    }()

    @Test(
        "R-OPS-1: per-route counts and latencies, group commit batches, outbox, overdue requests and the audit chain; no path or address in a label"
    )
    func exposition() async throws {
        let registry = Self.registry
        try await withServer(.sqlite, configure: { $0.metrics = ("127.0.0.1", 9_464) }) { installation, client in
            #expect(try await client.execute(uri: "/privacy", method: .get).status == .ok)
            let probe = "no-such-page-\(UUID().uuidString)"
            #expect(try await client.execute(uri: "/\(probe)", method: .get).status == .notFound)
            let created = try await client.execute(
                uri: "/api/v1/inquiries",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(
                    string: #"{"service":"agent","fields":{"name":"計測 試験","email":"metrics-probe@example.jp","topic":"other","message":"試験"}}"#
                )
            )
            #expect(created.status == .created)
            let endpoint = MetricsEndpoint(registry: registry, live: LiveInstallation(installation))
            let text = await endpoint.render(logger: quietLogger)
            #expect(text.contains(#"hb_requests{http_route="/privacy",http_request_method="GET",http_response_status_code="200"}"#))
            #expect(text.contains(#"hb_requests{http_route="/api/v1/inquiries",http_request_method="POST",http_response_status_code="201"}"#))
            #expect(text.contains(#"http_server_request_duration_seconds_bucket{http_route="/privacy""#))
            // An unknown path is counted under one name: a scanner cannot grow the series without bound.
            #expect(text.contains(#"http_route="NotFound""#))
            #expect(!text.contains(probe))
            #expect(!text.contains("metrics-probe"))
            #expect(text.contains("madoguchi_group_commit_batch_size_bucket"))
            #expect(text.contains("madoguchi_group_commit_wait_seconds_bucket"))
            // The receipt waits in the outbox (no mail worker runs here).
            #expect(text.contains("\nmadoguchi_outbox_queued 1.0\n"))
            #expect(text.contains("\nmadoguchi_outbox_failed 0.0\n"))
            #expect(text.contains("\nmadoguchi_requests_overdue 0.0\n"))
            #expect(text.contains("\nmadoguchi_audit_chain_intact 1.0\n"))
            #expect(text.contains("\nmadoguchi_database_up 1.0\n"))
        }
    }

    @Test("R-OPS-1: the figures read from the database: queued and failed mail, the oldest's age", arguments: TestDatabase.available)
    func figures(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let empty = try await OperationalFigures.read(from: fixture.data)
            #expect(empty.outboxQueued == 0 && empty.outboxOldestSeconds == 0 && empty.outboxFailed == 0 && empty.requestsOverdue == 0)
            guard case let .success(valid) = fixture.policy.validate(fixture.submission()) else { throw TestDatabaseError("invalid") }
            _ = try await fixture.vault.submit(valid, policy: fixture.policy) { number in
                OutgoingMail(to: "taro@example.jp", subject: "受付 \(number)", body: "受け付けました")
            }
            let later = Date().addingTimeInterval(90)
            let figures = try await OperationalFigures.read(from: fixture.data, now: later)
            #expect(figures.outboxQueued == 1)
            #expect(figures.outboxOldestSeconds >= 89 && figures.outboxOldestSeconds < 300)
            try await fixture.data.transaction { db in
                try await db.raw("UPDATE outbox SET status = 'failed'").run()
            }
            let failed = try await OperationalFigures.read(from: fixture.data, now: later)
            #expect(failed.outboxQueued == 0 && failed.outboxFailed == 1 && failed.outboxOldestSeconds == 0)
        }
    }
}
