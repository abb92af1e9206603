import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basics plus the peer address, for rate limits.
public struct SiteRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Bodies larger than this are refused with 413 before they are read further.
    public var maxUploadSize: Int { 64 * 1024 }

    /// The client as `ClientAddressMiddleware` resolved it (once per request).
    var resolvedClient: String?

    /// The client as a rate-limit key: the peer (IPv6 by its /64), or the client a trusted proxy names
    /// (`ClientAddressMiddleware`, `--trusted-proxy`).
    var clientKey: String {
        resolvedClient ?? ClientAddress.key(peer: remoteAddress?.ipAddress)
    }
}
