import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiTesting
import NIOCore
import Testing

@testable import MadoguchiServer

@Suite("Clients behind a proxy")
struct ClientAddressTests {
    @Test("R-SEC-3: X-Forwarded-For is read only from trusted proxies, from the right; IPv6 clients are keyed by /64")
    func resolution() throws {
        let proxies = ClientAddress(trusted: [try #require(IPNetwork("10.0.0.0/8")), try #require(IPNetwork("fd00::/8"))])
        #expect(proxies.key(peer: "10.1.2.3", forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
        // The client put a forged hop in front; the proxy appended the real one on the right.
        #expect(proxies.key(peer: "10.1.2.3", forwardedFor: ["198.51.100.1, 203.0.113.9"]) == "203.0.113.9")
        #expect(proxies.key(peer: "10.1.2.3", forwardedFor: ["198.51.100.1", "203.0.113.9, 10.9.9.9"]) == "203.0.113.9", "two proxies")
        #expect(proxies.key(peer: "198.51.100.7", forwardedFor: ["203.0.113.9"]) == "198.51.100.7", "an untrusted peer's header is ignored")
        #expect(proxies.key(peer: "10.1.2.3", forwardedFor: ["not-an-address"]) == "10.1.2.3", "a malformed hop stops the walk")
        #expect(proxies.key(peer: "10.1.2.3", forwardedFor: ["203.0.113.9, garbage, 10.2.2.2"]) == "10.2.2.2")
        #expect(proxies.key(peer: "10.1.2.3", forwardedFor: []) == "10.1.2.3")
        #expect(proxies.key(peer: "fd00::1", forwardedFor: ["2001:db8:1:2:aaaa::1"]) == "2001:db8:1:2:0:0:0:0/64")
        #expect(
            proxies.key(peer: "2001:db8:1:2::5", forwardedFor: []) == proxies.key(peer: "2001:db8:1:2:ffff::9", forwardedFor: []),
            "one /64 is one client"
        )
        #expect(proxies.key(peer: "2001:db8:1:3::5", forwardedFor: []) != proxies.key(peer: "2001:db8:1:2::5", forwardedFor: []))
        #expect(proxies.key(peer: "::ffff:10.1.2.3", forwardedFor: ["203.0.113.9"]) == "203.0.113.9", "IPv4-mapped peers count as IPv4")
        #expect(proxies.key(peer: nil, forwardedFor: ["203.0.113.9"]) == "unknown")
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0/8", "fd00::/129", "example.org", "10.0.0.0/8/8", "10.0.0.0/-1"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
        #expect(IPNetwork("192.168.1.7")?.contains([192, 168, 1, 7]) == true)
        #expect(IPNetwork("192.168.1.0/25")?.contains([192, 168, 1, 200]) == false)
    }

    @Test("R-SEC-3: the limiter's memory stays bounded under address spraying, and a sprayed client is still limited")
    func boundedLimiter() {
        let limiter = RateLimiter(.init(capacity: 2, window: 60), clients: 1_000)
        let start = Date().timeIntervalSince1970
        #expect(limiter.acquire("victim", now: start) == nil)
        #expect(limiter.acquire("victim", now: start) == nil)
        #expect(limiter.acquire("victim", now: start) != nil)
        for index in 0..<100_000 { _ = limiter.acquire("spray-\(index)", now: start + 1) }
        #expect(limiter.heldClients <= 2 * limiter.capacityOfClients)
        // A window later, every bucket is full again: forgetting them changed nothing.
        #expect(limiter.acquire("victim", now: start + 61) == nil)
        #expect(limiter.acquire("late", now: start + 1e12) == nil, "a far time is no trap")
        _ = limiter.acquire("early", now: -1e12)  // a clock far behind is no trap either
    }

    @Test("R-SEC-3: behind a trusted proxy each forwarded client has its own limit; one client's sign-in guesses lock out no one else")
    func behindProxy() async throws {
        let fresh = try await TestDatabase.sqlite.makeLocation()
        let keys = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: keys) }
        var configuration = testConfiguration(fresh.location, keys: keys, limit: (2, 600))
        configuration.trustedProxies = [try #require(IPNetwork("127.0.0.1")), try #require(IPNetwork("::1"))]
        let installation = try await Installation.prepare(configuration, logger: quietLogger)
        let app = Application(
            router: buildRouter(installation),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: quietLogger
        )
        try await app.test(.live) { (client: any TestClientProtocol) async throws -> Void in
            func post(from forwarded: String) async throws -> HTTPResponse.Status {
                try await client.execute(
                    uri: "/api/v1/inquiries",
                    method: .post,
                    headers: [.contentType: "application/json", .xForwardedFor: forwarded],
                    body: ByteBuffer(
                        string: #"{"service":"agent","fields":{"name":"山田 太郎","email":"taro@example.jp","topic":"service","message":"相談"}}"#
                    )
                ).status
            }
            #expect(try await post(from: "203.0.113.9") == .created)
            #expect(try await post(from: "203.0.113.9") == .created)
            #expect(try await post(from: "203.0.113.9") == .tooManyRequests)
            #expect(try await post(from: "198.51.100.4") == .created, "another client behind the same proxy is not held back")
            #expect(try await post(from: "198.51.100.4, 203.0.113.10") == .created, "the rightmost hop is the client")
        }
        await installation.close()
        try await fresh.cleanUp()
    }
}
