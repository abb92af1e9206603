import HTTPTypes
import Hummingbird
import MadoguchiCore

/// Liveness, readiness and the static files the pages need.
struct OperationsController<Context: RequestContext> {
    /// The data database and the key store: the server is ready when both answer and both can be written.
    let databases: [Database]
    let site: PolicySite
    let stylesheet: RenderedPage
    let openAPI: RenderedPage

    init(databases: [Database], site: PolicySite) {
        self.databases = databases
        self.site = site
        self.stylesheet = RenderedPage(site.resources.stylesheet, contentType: "text/css; charset=utf-8")
        self.openAPI = RenderedPage(
            OpenAPIDocument.render(site.resources.openAPI, policy: site.current),
            contentType: "application/yaml; charset=utf-8"
        )
    }

    func addRoutes(to router: Router<Context>) {
        /// The process is up.
        router.get("/healthz") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: .init(string: "ok\n"))
            )
        }
        /// The process can serve: the databases answer, and their disks took the last write (or have space again).
        router.get("/readyz") { _, _ in
            var problem: String?
            for database in databases {
                if !(await database.isReachable()) {
                    problem = "database unreachable"
                } else if database.storageIsFull() {
                    problem = "database disk full"
                }
                if problem != nil { break }
            }
            return Response(
                status: problem == nil ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: .init(string: (problem ?? "ready") + "\n"))
            )
        }
        router.get("/assets/site.css") { request, _ in
            cachedResponse(stylesheet, request: request, language: nil, cacheControl: "public, max-age=3600")
        }
        router.get("/openapi.yaml") { request, _ in
            cachedResponse(openAPI, request: request, language: nil)
        }
        router.get("/") { request, _ in
            let language = try requestedLanguage(request)
            return Response.seeOther(PageChrome.href(SitePath.privacy, language))
        }
    }
}
