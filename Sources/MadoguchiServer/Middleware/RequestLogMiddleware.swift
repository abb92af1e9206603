import Hummingbird
import Logging

/// Logs each request's method, path, status and duration — never the query string or headers, which can carry
/// codes, tokens or personal data. (Hummingbird's `LogRequestsMiddleware` logs the whole URI.)
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: response.status.code, start)
            return response
        } catch let error as any HTTPResponseError {
            log(request, context, status: error.status.code, start)
            throw error
        } catch {
            log(request, context, status: 500, start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, _ start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        // Health checks come every few seconds from load balancers: at debug, so they do not bury the rest.
        let level: Logger.Level = request.uri.path == "/healthz" || request.uri.path == "/readyz" ? .debug : .info
        context.logger.log(
            level: level,
            "request",
            metadata: [
                "method": "\(request.method.rawValue)",
                "path": "\(request.uri.path)",
                "status": "\(status)",
                "ms": "\((milliseconds * 10).rounded() / 10)",
            ]
        )
    }
}
