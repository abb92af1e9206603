import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore
import NIOCore

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefix: Int

    /// Parses `a.b.c.d[/n]` or an IPv6 address `[/n]`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPNetwork.parse(String(parts[0])) else { return nil }
        let maximum = address.count * 8
        if parts.count == 2 {
            guard (1...3).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(parts[1]),
                value <= maximum
            else { return nil }
            prefix = value
        } else {
            prefix = maximum
        }
        bytes = address
    }

    public var description: String { "\(IPNetwork.format(bytes))/\(prefix)" }

    /// True when `address` (4 or 16 bytes) lies in the network.
    func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var left = prefix
        for index in 0..<bytes.count where left > 0 {
            let bits = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[index] & mask != bytes[index] & mask { return false }
            left -= bits
        }
        return true
    }

    /// The address's bytes (4 for IPv4, 16 for IPv6; an IPv4-mapped IPv6 address counts as IPv4), or nil.
    static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var v4 = [UInt8](repeating: 0, count: 4)
        if v4.withUnsafeMutableBytes({ inet_pton(AF_INET, text, $0.baseAddress) }) == 1 {
            return v4
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        if bytes.withUnsafeMutableBytes({ inet_pton(AF_INET6, text, $0.baseAddress) }) == 1 {
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
            return bytes
        }
        return nil
    }

    static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: bytes.count, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

/// Which client a request comes from, for rate limits (R-SEC-3). The socket peer, unless the peer is a trusted
/// proxy: then the `X-Forwarded-For` list is read from the right, skipping trusted proxies, and the first hop that is
/// not one is the client (a client cannot forge the hops its own proxy appends). IPv6 clients are keyed by their
/// /64, the block one subscriber usually holds.
public struct ClientAddress: Sendable {
    public let trusted: [IPNetwork]

    public init(trusted: [IPNetwork]) {
        self.trusted = trusted
    }

    /// The rate-limit key for a request from `peer` with these `X-Forwarded-For` values.
    public func key(peer: String?, forwardedFor: [String]) -> String {
        guard let peer, let peerBytes = IPNetwork.parse(peer) else { return "unknown" }
        var client = peerBytes
        if isTrusted(peerBytes) {
            let hops = forwardedFor.joined(separator: ",").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for hop in hops.reversed().prefix(32) {
                // A malformed hop ends the walk: the last trusted hop is as far as anything can be believed.
                guard let bytes = IPNetwork.parse(hop) else { break }
                client = bytes
                if !isTrusted(bytes) { break }
            }
        }
        return Self.key(client)
    }

    /// The key of a peer when no proxy is trusted.
    static func key(peer: String?) -> String {
        peer.flatMap(IPNetwork.parse).map(key) ?? "unknown"
    }

    func isTrusted(_ address: [UInt8]) -> Bool {
        trusted.contains { $0.contains(address) }
    }

    static func key(_ address: [UInt8]) -> String {
        guard address.count == 16 else { return IPNetwork.format(address) }
        return IPNetwork.format(Array(address[0..<8]) + Array(repeating: 0, count: 8)) + "/64"
    }
}

/// Puts the client's rate-limit key on the request context, once, for every route.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = SiteRequestContext
    let resolver: ClientAddress

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.resolvedClient = resolver.key(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[values: .xForwardedFor]
        )
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
