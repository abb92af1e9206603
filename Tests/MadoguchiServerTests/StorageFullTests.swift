import Foundation
import HTTPTypes
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import SQLKit
import Testing

/// A full disk under SQLite (R-OPS-1): simulated with `PRAGMA max_page_count`, which makes SQLite answer exactly as it
/// does when the file system has no space left ("database or disk is full"). The real thing, a full tmpfs, is
/// `tests/faults/disk-full.sh`.
@Suite("Full disk")
struct StorageFullTests {
    @Test(
        "R-OPS-1: a write refused for a full disk is a 503 with Retry-After and nothing of the batch is stored (SQLite rolls the whole transaction back)"
    )
    func refusedWrite() async throws {
        try await withServer(.sqlite) { installation, client in
            func submit(_ email: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/v1/inquiries",
                    method: .post,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"service":"agent","fields":{"name":"容量 試験","email":"\#(email)","topic":"other","message":"試験"}}"#)
                )
            }
            #expect(try await submit("before@example.jp").status == .created)
            let database = installation.database
            let count = {
                try await database.read { db in try await db.raw("SELECT COUNT(*) AS n FROM inquiries").first(decodingColumn: "n", as: Int.self) }
            }
            let pages = try #require(
                try await database.read { db in try await db.raw("PRAGMA page_count").first(decodingColumn: "page_count", as: Int.self) }
            )
            // No page beyond those in use: the next insert that needs one is refused as on a full disk.
            try await database.transaction { db in try await db.raw(SQLQueryString("PRAGMA max_page_count = \(unsafeRaw: String(pages))")).run() }
            let before = try await count() ?? 0
            var accepted = 0
            var refused: TestResponse?
            for attempt in 0..<50 {
                let response = try await submit("full\(attempt)@example.jp")
                if response.status != .created {
                    refused = response
                    break
                }
                accepted += 1
            }
            let answer = try #require(refused, "the page limit never refused an insert")
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.headers[.retryAfter] == "5")
            #expect(answer.headers[.contentType] == "application/problem+json")
            #expect(answer.text.contains("Service Unavailable") || answer.text.contains("503"))
            // Nothing of the refused inquiry was kept: its transaction was rolled back whole.
            #expect(try await count() == before + accepted)
            // The full disk is flagged; the file system itself has space, so /readyz finds it writable again and
            // says ready (on a really full disk it answers 503 "database disk full": tests/faults/disk-full.sh).
            #expect(installation.database.storageIsFull() == false)
            try await database.transaction { db in try await db.raw("PRAGMA max_page_count = 1073741823").run() }
            #expect(try await submit("after@example.jp").status == .created)
            #expect(try await count() == before + accepted + 1)
        }
    }
}
