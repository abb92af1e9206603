import Hummingbird
import MadoguchiCore

/// A person signed in to `/me` with a one-time code: the session token (which the CSRF tokens are bound to) and
/// the person, whose subject id is empty when nothing is held under the proven address.
struct PersonSession: Sendable {
    let token: String
    let subjectID: String
}

/// The request context of `/me` once a person has signed in.
typealias PersonRequestContext = SignedInContext<PersonSession>

extension SignedInContext where Session == PersonSession {
    /// The person's subject id; 404 when nothing is held under their address.
    var subjectWithData: String {
        get throws {
            let subjectID = try session.subjectID
            guard !subjectID.isEmpty else {
                throw PublicError(
                    .notFound,
                    LocalizedText(ja: "このメールアドレスで保有している個人データはありません。", en: "We hold no personal data under this address.")
                )
            }
            return subjectID
        }
    }
}

/// Finds the `/me` session from its cookie, or sends the browser to `/me` to sign in.
struct PersonSessionMiddleware: RouterMiddleware {
    typealias Context = PersonRequestContext
    static let cookieName = "mdg_me"
    let access: SelfService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.cookies[Self.cookieName]?.value, token.count == 64,
            let subjectID = try await access.person(token: token)
        else {
            let language = Language(query: request.uri.queryParameters["lang"].map(String.init)) ?? .ja
            throw RedirectError(location: PageChrome.href(SitePath.me, language))
        }
        var context = context
        context.signedIn = PersonSession(token: token, subjectID: subjectID)
        return try await next(request, context)
    }
}
