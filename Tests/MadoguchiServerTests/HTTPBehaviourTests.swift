import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("HTTP behaviour")
struct HTTPBehaviourTests {
    static let publicPaths = [
        "/privacy", "/privacy?lang=en", "/privacy/external-transmission", "/privacy.json",
        "/privacy/versions/2026-12-06", "/healthz", "/readyz", "/assets/site.css", "/openapi.yaml",
        "/no-such-page", "/privacy?lang=xx", "/me", "/me/verify?ticket=x", "/requests/new", "/requests/new?lang=en",
        "/preferences", "/preferences?lang=en", "/api/v1/consent-config",
    ]

    // R-SEC-2 (headers part)
    @Test("every response carries the security headers")
    func securityHeaders() async throws {
        try await withServer { _, client in
            for path in Self.publicPaths {
                let response = try await client.execute(uri: path, method: .get)
                let csp = response.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("default-src 'none'"), "\(path)")
                #expect(csp.contains("frame-ancestors 'none'"), "\(path)")
                #expect(!csp.contains("unsafe-inline"), "\(path)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(path)")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(path)")
            }
        }
    }

    @Test("pages load nothing from elsewhere and every page links to the policy and the external-transmission page")
    func noExternalResourcesAndFooter() async throws {
        try await withServer { _, client in
            for path in [
                "/privacy", "/privacy?lang=en", "/privacy/external-transmission", "/privacy/versions/2026-12-06",
                "/no-such-page", "/no-such-page?lang=en", "/privacy?lang=xx", "/me", "/me?lang=en", "/requests/new",
                "/requests/new?lang=en", "/preferences", "/preferences?lang=en",
            ] {
                let html = try await client.execute(uri: path, method: .get).text
                #expect(!html.contains("<script"), "\(path)")
                #expect(!html.contains("<img"), "\(path)")
                #expect(!html.contains("<iframe"), "\(path)")
                #expect(!html.contains("style=\""), "\(path): inline styles break the CSP")
                #expect(html.contains("<link rel=\"stylesheet\" href=\"/assets/site.css\">"), "\(path)")
                #expect(html.occurrences(of: "<link ") == 1, "\(path)")
                let english = path.contains("lang=en")
                #expect(html.contains("<a href=\"/privacy\(english ? "?lang=en" : "")\">"), "\(path): footer policy link")
                #expect(
                    html.contains("<a href=\"/privacy/external-transmission\(english ? "?lang=en" : "")\">"),
                    "\(path): footer external-transmission link"
                )
            }
        }
    }

    @Test("unknown paths get a proper 404 page in the page's language, or a problem document for JSON clients")
    func notFound() async throws {
        try await withServer { _, client in
            let ja = try await client.execute(uri: "/no-such-page", method: .get)
            #expect(ja.status == .notFound)
            #expect(ja.headers[.contentType] == "text/html; charset=utf-8")
            #expect(ja.text.contains("<h1>ページが見つかりません</h1>"))
            let en = try await client.execute(uri: "/no-such-page?lang=en", method: .get)
            #expect(en.text.contains("<h1>Page not found</h1>"))
            #expect(en.text.contains("<html lang=\"en\">"))

            let api = try await client.execute(uri: "/api/v1/nothing", method: .get)
            #expect(api.status == .notFound)
            #expect(api.headers[.contentType] == "application/problem+json")
            let problem = try #require(try JSONSerialization.jsonObject(with: Data(api.text.utf8)) as? [String: Any])
            #expect(problem["status"] as? Int == 404)

            let accept = try await client.execute(uri: "/nothing", method: .get, headers: [.accept: "application/json"])
            #expect(accept.headers[.contentType] == "application/problem+json")

            let post = try await client.execute(uri: "/privacy", method: .post, body: .init(string: "x=1"))
            #expect(post.status == .notFound || post.status == .methodNotAllowed)
        }
    }

    @Test("R-SEC-3: an error page's language link is a path on this site, never another site's address")
    func languageLinkStaysOnSite() async throws {
        try await withServer { _, client in
            for uri in [
                "//evil.example/x", "/%2F%2Fevil.example/x", "/\\evil.example/x", "/%5C%5Cevil.example", "///evil.example",
                "/\\/evil.example",
            ] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .notFound, "\(uri)")
                let html = response.text
                let links = html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
                let switchLink = try #require(links.first { $0.hasSuffix("lang=en") }, "\(uri): a language link")
                #expect(switchLink.hasPrefix("/") && !switchLink.hasPrefix("//") && !switchLink.hasPrefix("/\\"), "\(uri) → \(switchLink)")
                #expect(!links.contains { $0.hasPrefix("//") || $0.hasPrefix("/\\") || $0.hasPrefix("\\") }, "\(uri): no scheme-relative link")
            }
        }
    }

    @Test("bad and hostile query values get a clear 400 that never echoes them")
    func badLanguage() async throws {
        try await withServer { _, client in
            for value in ["fr", "EN", "", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", String(repeating: "x", count: 10_000)] {
                let response = try await client.execute(uri: "/privacy?lang=\(value)", method: .get)
                if value.isEmpty {
                    #expect(response.status == .badRequest)
                    continue
                }
                #expect(response.status == .badRequest, "\(value.prefix(20))")
                #expect(response.text.contains("lang に指定できるのは ja または en です。"))
                #expect(!response.text.contains("<script>alert"))
                #expect(response.text.contains("<h1>リクエストを処理できません</h1>"))
            }
            let json = try await client.execute(uri: "/privacy.json?lang=fr", method: .get)
            #expect(json.status == .badRequest)
            #expect(json.headers[.contentType] == "application/problem+json")
            #expect(json.text.contains("The lang parameter must be ja or en."))
        }
    }

    @Test("pages carry an ETag and answer If-None-Match with 304")
    func entityTags() async throws {
        try await withServer { _, client in
            for path in [
                "/privacy", "/privacy?lang=en", "/privacy/external-transmission", "/privacy.json", "/assets/site.css",
                "/privacy/versions/2026-12-06",
            ] {
                let first = try await client.execute(uri: path, method: .get)
                let tag = try #require(first.headers[.eTag], "\(path)")
                #expect(tag.hasPrefix("\"") && tag.hasSuffix("\""))
                let again = try await client.execute(uri: path, method: .get)
                #expect(again.headers[.eTag] == tag, "rendered once per version and language")
                let cached = try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: tag])
                #expect(cached.status == .notModified, "\(path)")
                #expect(cached.body.readableBytes == 0)
                let stale = try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: "\"stale\""])
                #expect(stale.status == .ok)
            }
            let ja = try await client.execute(uri: "/privacy", method: .get).headers[.eTag]
            let en = try await client.execute(uri: "/privacy?lang=en", method: .get).headers[.eTag]
            #expect(ja != en)
        }
    }

    @Test("HEAD answers like GET without a body")
    func head() async throws {
        try await withServer { _, client in
            let response = try await client.execute(uri: "/privacy", method: .head)
            #expect(response.status == .ok)
            #expect(response.body.readableBytes == 0)
        }
    }

    @Test("health and readiness; readiness follows the database", arguments: TestDatabase.available)
    func health(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            #expect(try await client.execute(uri: "/healthz", method: .get).text == "ok\n")
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            await installation.database.close()
            let down = try await client.execute(uri: "/readyz", method: .get)
            #expect(down.status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            // Pages are served from memory and keep working.
            #expect(try await client.execute(uri: "/privacy", method: .get).status == .ok)
        }
    }

    @Test("the root sends people to the policy; the OpenAPI document is served")
    func rootAndOpenAPI() async throws {
        try await withServer { installation, client in
            let root = try await client.execute(uri: "/?lang=en", method: .get)
            #expect(root.status == .seeOther)
            #expect(root.headers[.location] == "/privacy?lang=en")
            let spec = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(spec.status == .ok)
            #expect(spec.text.hasPrefix("openapi: 3.1.0"))
            #expect(spec.text.contains("/privacy.json:"))
            #expect(spec.text.contains("/api/v1/inquiries:"))
            // The served document names this installation's vendors: a choice must name each, and only them.
            let declared = installation.policy.vendors.map { "\"\($0.id)\": { type: boolean }" }
            #expect(!declared.isEmpty && declared.allSatisfy { spec.text.contains($0) })
            #expect(spec.text.contains("DeclaredVendors: { type: object, required: [") && spec.text.contains("additionalProperties: false"))
            let purposes = installation.policy.purposes.map { "\"\($0.id)\"" }.joined(separator: ", ")
            #expect(spec.text.contains("RequestPurpose: { enum: [\(purposes)] }"))
        }
    }

    @Test("R-OPS-1: a method a routed path does not take is 405 with Allow (any method, standard or not); an unknown path stays 404")
    func methodNotAllowed() async throws {
        try await withServer { _, client in
            for (method, path, allow) in [
                (HTTPRequest.Method.trace, "/privacy", "GET, HEAD"),
                (HTTPRequest.Method("QUERY")!, "/privacy/versions/2026-12-06", "GET, HEAD"),
                (.delete, "/api/v1/inquiries", "POST"),
                (.get, "/api/v1/events", "POST"),
                (.put, "/api/v1/requests/R20261129-XXXXXX/verify", "POST"),
                (.options, "/snippet.js", "GET, HEAD"),
            ] {
                let answer = try await client.execute(uri: path, method: method, headers: [.accept: "application/json"])
                #expect(answer.status == .methodNotAllowed, "\(method) \(path)")
                #expect(answer.headers[.allow] == allow, "\(method) \(path)")
                #expect(answer.headers[.contentType] == "application/problem+json")
                #expect(answer.text.contains(allow))
            }
            let page = try await client.execute(uri: "/privacy?lang=en", method: .trace)
            #expect(page.status == .methodNotAllowed && page.text.contains("This address accepts GET, HEAD only."))
            #expect(try await client.execute(uri: "/no-such-path", method: .trace).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/no-such-path", method: .post).status == .notFound)
            // A route's own 404 (an unknown version) is not turned into 405.
            #expect(try await client.execute(uri: "/privacy/versions/1999-01-01", method: .get).status == .notFound)
        }
    }

    @Test("every message exists in Japanese and English")
    func localeParity() async throws {
        let ja = try await strings(.ja)
        let en = try await strings(.en)
        #expect(Set(ja.keys) == Set(en.keys))
        #expect(ja.values.allSatisfy { !$0.isEmpty })
        #expect(en.values.allSatisfy { !$0.isEmpty })
        for category in VendorCategory.allCases {
            #expect(ja["cat_\(category.rawValue)"] != nil)
        }
    }

    @Test("hostile policy text is escaped on every page")
    func escaping() async throws {
        let hostile = try Fixtures.examplePolicyText().replacingOccurrences(
            of: "name: { ja: ミライAGENT, en: Mirai AGENT }",
            with: "name: { ja: \"<script>alert('x')</script>\", en: \"\\\"><img src=x onerror=alert(1)>\" }"
        )
        let path = try temporaryPolicy(hostile)
        try await withServer(policyPath: path) { _, client in
            let ja = try await client.execute(uri: "/privacy", method: .get).text
            #expect(!ja.contains("<script>"))
            #expect(ja.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
            let en = try await client.execute(uri: "/privacy?lang=en", method: .get).text
            #expect(!en.contains("<img"))
        }
    }
}

@Suite("Request logs")
struct RequestLogTests {
    @Test("requests are logged with method, path and status, never with the query string")
    func noQueryInLogs() async throws {
        let capture = LogCapture()
        let fresh = try await TestDatabase.sqlite.makeLocation()
        let keys = try Fixtures.temporaryDirectory()
        let installation = try await Installation.prepare(testConfiguration(fresh.location, keys: keys), logger: quietLogger)
        let app = Application(router: buildRouter(installation), logger: capture.logger)
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/privacy?lang=en&token=secret-token-123", method: .get)
            _ = try await client.execute(uri: "/missing?email=someone%40example.com", method: .get)
        }
        await installation.close()
        try await fresh.cleanUp()
        let requests = capture.lines.filter { $0.contains("request") }
        #expect(requests.contains { $0.contains("path=/privacy") && $0.contains("status=200") }, "\(requests)")
        #expect(requests.contains { $0.contains("path=/missing") && $0.contains("status=404") }, "\(requests)")
        #expect(!capture.lines.contains { $0.contains("secret-token-123") || $0.contains("someone") })
    }
}
