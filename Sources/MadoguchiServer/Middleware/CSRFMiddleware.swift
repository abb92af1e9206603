import HTTPTypes
import Hummingbird

/// The CSRF check of every form (R-SEC-2), in one place: for each state-changing request of its route group it reads
/// the form (size-limited), checks the signed token against the nonce of the group — the form cookie on public
/// pages, the session on `/me` and `/console` — and hands the handler the form through `context.form`. A route that
/// takes no CSRF token is one registered outside every such group, and `RouteGuardTests` lists each with its reason.
struct CSRFMiddleware<Context: SiteContext>: RouterMiddleware {
    typealias Rejection = @Sendable (Request, Context, [String: String]) async throws -> Response

    let tokens: CSRFTokens
    /// The nonce the token must belong to.
    let nonce: @Sendable (Request, Context) async throws -> String?
    /// The page for a refused token, built from what was sent (the form again, input kept, status 403); the
    /// generic "form expired" error page when nil.
    let rejected: Rejection?

    init(
        _ tokens: CSRFTokens,
        nonce: @escaping @Sendable (Request, Context) async throws -> String? = { request, _ in request.cookies[CSRFTokens.cookieName]?.value },
        rejected: Rejection? = nil
    ) {
        self.tokens = tokens
        self.nonce = nonce
        self.rejected = rejected
    }

    /// A public form's check (the nonce in the form cookie) whose refusal shows `rejected`'s page.
    init(_ tokens: CSRFTokens, rejected: @escaping Rejection) {
        self.init(tokens, nonce: { request, _ in request.cookies[CSRFTokens.cookieName]?.value }, rejected: rejected)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if [.get, .head, .options].contains(request.method) { return try await next(request, context) }
        let form = try await FormInput.read(request, context)
        guard tokens.verify(token: form[CSRFTokens.fieldName], cookieNonce: try await nonce(request, context)) else {
            guard let rejected else { throw PublicError.formExpired }
            var response = try await rejected(request, context, form)
            response.status = .forbidden
            return response
        }
        var context = context
        context.checkedForm = form
        return try await next(request, context)
    }
}
