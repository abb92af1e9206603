import Hummingbird
import MadoguchiCore

/// The request context of the signed-in console.
typealias ConsoleRequestContext = SignedInContext<StaffSession>

/// Signs the request in from the session cookie, or sends the browser to the sign-in page.
struct StaffSessionMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    static let cookieName = "mdg_staff"
    let staff: StaffDirectory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.cookies[Self.cookieName]?.value, !token.isEmpty,
            let session = try await staff.session(token: token)
        else {
            let language = Language(query: request.uri.queryParameters["lang"].map(String.init)) ?? .ja
            throw RedirectError(location: PageChrome.href(SitePath.signIn, language))
        }
        var context = context
        context.signedIn = session
        return try await next(request, context)
    }
}

/// Lets only the roles that `allows` accepts through to the group's routes (403 otherwise).
struct StaffRoleMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    let allows: @Sendable (StaffRole) -> Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard allows(try context.session.user.role) else { throw PublicError.notAllowed }
        return try await next(request, context)
    }
}
