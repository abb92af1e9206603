import HTTPTypes
import Hummingbird
import MadoguchiCore

/// Liveness, readiness and the static files the pages need.
struct OperationsController<Context: RequestContext> {
    let database: Database
    let site: PolicySite
    let stylesheet: RenderedPage
    let openAPI: RenderedPage

    init(database: Database, site: PolicySite) {
        self.database = database
        self.site = site
        self.stylesheet = RenderedPage(site.resources.stylesheet, contentType: "text/css; charset=utf-8")
        self.openAPI = RenderedPage(site.resources.openAPI, contentType: "application/yaml; charset=utf-8")
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
        /// The process can serve: the database answers.
        router.get("/readyz") { _, _ in
            let ready = await database.isReachable()
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: .init(string: ready ? "ready\n" : "database unreachable\n"))
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
