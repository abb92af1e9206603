import Hummingbird

/// A named limiter for one route group (R-SEC-2): every request to the group's routes takes a token from the client's
/// bucket before anything else is read; an empty bucket is 429 with `Retry-After`. Limits keyed by something in
/// the body (an e-mail address) stay in the handler that reads it.
struct RateLimitMiddleware<Context: SiteContext>: RouterMiddleware {
    /// Names the group in the limiter's keys, so two groups sharing a limiter still count apart.
    let name: String
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let wait = limiter.acquire(name + ":" + context.clientKey) { throw TooManyRequests(retryAfter: wait) }
        return try await next(request, context)
    }
}
