import Hummingbird
import NIOCore

/// The request context of a signed-in route group: the site's context plus the session its session middleware found
/// (`StaffSessionMiddleware` for the console, `PersonSessionMiddleware` for `/me`). Every route of such a group gets
/// one, so no handler there runs without a session.
struct SignedInContext<Session: Sendable>: ChildRequestContext, SiteContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    var resolvedClient: String?
    var checkedForm: [String: String]?
    /// Set by the group's session middleware before any handler runs.
    var signedIn: Session?

    init(context: SiteRequestContext) throws {
        coreContext = context.coreContext
        remoteAddress = context.remoteAddress
        resolvedClient = context.resolvedClient
        checkedForm = context.checkedForm
    }

    var maxUploadSize: Int { SiteRequestContext.uploadLimit }

    /// The session; a handler outside its group's session middleware fails instead of running unsigned.
    var session: Session {
        get throws {
            guard let signedIn else { throw UncheckedSession() }
            return signedIn
        }
    }
}

/// A signed-in handler ran outside its session middleware (a programming error; `RouteGuardTests` finds it).
struct UncheckedSession: Error {}
