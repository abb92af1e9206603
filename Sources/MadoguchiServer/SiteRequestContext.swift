import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basics plus the peer address, for rate limits.
public struct SiteRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        clientKey = ClientAddress.key(peer: remoteAddress?.ipAddress)
    }

    /// Bodies larger than this are refused with 413 before they are read further.
    public var maxUploadSize: Int { 64 * 1024 }

    /// The client as a rate-limit key: the peer (IPv6 by its /64), or the client a trusted proxy names
    /// (`ClientAddressMiddleware`, `--trusted-proxy`).
    var clientKey: String
}
