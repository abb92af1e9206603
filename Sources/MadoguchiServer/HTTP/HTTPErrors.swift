import HTTPTypes
import Hummingbird
import MadoguchiCore

/// A request the server refuses, with a message a person can act on (shown in ja and en); `ErrorPageMiddleware`
/// renders it as a page or a problem document.
public struct PublicError: Error, HTTPResponseError {
    public let status: HTTPResponse.Status
    public let message: LocalizedText

    public init(_ status: HTTPResponse.Status, _ message: LocalizedText) {
        self.status = status
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status)
    }

    /// A form whose CSRF token is missing, forged or expired.
    static let formExpired = PublicError(
        .forbidden,
        LocalizedText(
            ja: "フォームの有効期限が切れたか、正しくない送信です。ページを再読み込みしてください。",
            en: "The form expired or was not sent from this site. Please reload the page."
        )
    )

    /// A staff member whose role does not allow the action.
    static let notAllowed = PublicError(
        .forbidden,
        LocalizedText(ja: "この操作を行う権限がありません。", en: "You are not allowed to do this.")
    )
}

/// Too many requests from one client: 429 with `Retry-After`.
struct TooManyRequests: Error {
    let retryAfter: Int
}

/// Sends the browser elsewhere (to sign in) instead of showing an error.
struct RedirectError: Error {
    let location: String
}

/// A request for a service that does not exist: a 404 page that lists the services.
struct ServiceListError: Error {}

extension Response {
    /// `303 See Other` to `location`, never cached: every redirect of the site (after a form, to sign in).
    static func seeOther(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}
