import Hummingbird
import NIOCore

/// What every request context of the site carries, whatever the route group: the client as the rate limits see it
/// and the form that `CSRFMiddleware` accepted.
protocol SiteContext: RequestContext {
    var remoteAddress: SocketAddress? { get }
    /// The client as `ClientAddressMiddleware` resolved it (once per request).
    var resolvedClient: String? { get set }
    /// The form body, set by `CSRFMiddleware` and only once its token is verified.
    var checkedForm: [String: String]? { get set }
}

extension SiteContext {
    /// The client as a rate-limit key: the peer (IPv6 by its /64), or the client a trusted proxy names
    /// (`ClientAddressMiddleware`, `--trusted-proxy`).
    var clientKey: String {
        resolvedClient ?? ClientAddress.key(peer: remoteAddress?.ipAddress)
    }

    /// The submitted form of a route behind `CSRFMiddleware`. A handler has no other way to read a form, so a form
    /// route registered outside a CSRF check fails (500) instead of accepting a forged form — and `RouteGuardTests`,
    /// which sends every state-changing route a forged token, finds it.
    var form: [String: String] {
        get throws {
            guard let checkedForm else { throw UncheckedForm() }
            return checkedForm
        }
    }
}

/// A handler asked for a form that no CSRF check accepted (a route registered outside its CSRF group).
struct UncheckedForm: Error {}

/// The request context of the public routes: Hummingbird's basics plus the peer address, for rate limits.
public struct SiteRequestContext: RequestContext, RemoteAddressRequestContext, SiteContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    var resolvedClient: String?
    var checkedForm: [String: String]?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Bodies larger than this are refused with 413 before they are read further.
    public var maxUploadSize: Int { Self.uploadLimit }

    static let uploadLimit = 64 * 1024
}
