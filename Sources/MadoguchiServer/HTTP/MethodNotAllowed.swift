import HTTPTypes
import Hummingbird
import MadoguchiCore
import NIOCore
import Synchronization

/// A method a path does not take: 405 with `Allow` (RFC 9110 §15.5.6), not 404 — the path exists.
struct MethodNotAllowed: Error {
    /// The methods the path takes, as the `Allow` header lists them.
    let allow: String
}

/// Turns the router's "not found" into 405 with `Allow` when the path is routed for other methods — any other method,
/// standard (TRACE, PUT…) or not (QUERY, made-up ones). Sits inside the error page middleware; its table of paths is
/// filled once every route is added (`complete(with:)`).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Every routed path under GET, answering with its `Allow` list: the router's own matching, reused.
    final class Table: Sendable {
        let responder = Mutex<RouterResponder<Context>?>(nil)
    }

    let table = Table()

    /// Records the paths and methods of `router`. Call after every route is added.
    func complete(with router: Router<Context>) {
        var taken: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in router.routes {
            taken[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        let paths = Router(context: Context.self)
        for (path, methods) in taken.values {
            var allowed = methods
            // HEAD is answered wherever GET is (`autoGenerateHeadEndpoints`).
            if allowed.contains(.get) { allowed.insert(.head) }
            let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            paths.get(path) { _, _ in Response(status: .ok, headers: [.allow: allow]) }
        }
        table.responder.withLock { $0 = paths.buildResponder() }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let responder = table.responder.withLock({ $0 }) else { throw error }
            var head = request.head
            head.method = .get
            guard let known = try? await responder.respond(to: Request(head: head, body: .init(buffer: ByteBuffer())), context: context),
                let allow = known.headers[.allow],
                !allow.split(separator: ",").contains(where: { $0.drop(while: { $0 == " " }) == request.method.rawValue })
            else { throw error }
            throw MethodNotAllowed(allow: allow)
        }
    }
}
