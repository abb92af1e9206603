import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// The consent ledger's intake (`POST /api/v1/events`, for the site snippet's sendBeacon) and `/preferences`, the
/// same switches as a page that works without JavaScript (R-OPT-1, R-OPT-2, R-OPT-4, R-INF-1).
struct ConsentController {
    static let eventLimit = 4 * 1_024
    let policy: Policy
    let site: PolicySite
    let ledger: ConsentLedger
    let csrf: CSRFTokens
    let limiter: RateLimiter
    let secureCookies: Bool
    /// Computed once: every event is checked against it.
    let vendorList: String
    let snippet: SiteSnippet

    init(
        policy: Policy,
        site: PolicySite,
        ledger: ConsentLedger,
        csrf: CSRFTokens,
        limiter: RateLimiter,
        baseURL: String,
        secureCookies: Bool
    ) {
        self.policy = policy
        self.site = site
        self.ledger = ledger
        self.csrf = csrf
        self.limiter = limiter
        self.secureCookies = secureCookies
        vendorList = VendorList.version(of: policy)
        snippet = SiteSnippet(policy: policy, resources: site.resources, baseURL: baseURL)
    }

    /// What the site snippet needs, from the same declarations as the external-transmission page.
    var configurationJSON: Data {
        let body: [String: Any] = [
            "vendor_list": vendorList, "policy_version": policy.version, "mode": policy.informativeData.consentMode.rawValue,
            "cookie_name": policy.informativeData.cookieName, "cookie_lifetime_days": policy.informativeData.cookieLifetimeDays,
            "vendors": policy.vendors.map { vendor -> [String: Any] in
                var entry: [String: Any] = [
                    "id": vendor.id, "category": vendor.category.rawValue, "hosts": vendor.hosts,
                    "name_ja": "\(vendor.company.ja) \(vendor.service.ja)", "name_en": "\(vendor.company.en) \(vendor.service.en)",
                    "purpose": ["ja": vendor.purpose.ja, "en": vendor.purpose.en],
                    "items": ["ja": vendor.items.map(\.ja), "en": vendor.items.map(\.en)],
                ]
                if let url = vendor.optOutURL { entry["opt_out_url"] = url }
                return entry
            },
        ]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }

    func addRoutes(to router: Router<SiteRequestContext>) {
        let configuration = configurationJSON
        /// The snippet for the operator's pages: five minutes' cache, so a new policy reaches every page soon.
        router.get("/snippet.js") { request, _ in
            snippetResponse(request, cacheControl: "public, max-age=300")
        }
        /// The same snippet at a URL that changes with its content, cached for a year.
        router.get("/snippet/:file") { request, context in
            guard try context.parameters.require("file") == snippet.versionedPath.dropFirst("/snippet/".count) else {
                // An outdated versioned URL gets the current declarations, never the old ones.
                return Response(status: .found, headers: [.location: "/snippet.js", .cacheControl: "no-store"])
            }
            return snippetResponse(request, cacheControl: "public, max-age=31536000, immutable")
        }
        router.get("/snippet.css") { request, _ in
            var response = cachedResponse(snippet.stylesheet, request: request, language: nil, cacheControl: "public, max-age=3600")
            response.headers[.accessControlAllowOrigin] = "*"
            response.headers[.crossOriginResourcePolicy] = "cross-origin"
            return response
        }
        router.get("/api/v1/consent-config") { _, _ in
            // Read by the snippet from the operator's pages, so any origin may read these public declarations.
            Response(
                status: .ok,
                headers: [
                    .contentType: "application/json", .cacheControl: "public, max-age=300",
                    .accessControlAllowOrigin: "*", .crossOriginResourcePolicy: "cross-origin",
                ],
                body: .init(byteBuffer: .init(bytes: configuration))
            )
        }
        let limited = router.group().add(middleware: RateLimitMiddleware(name: "consent", limiter: limiter))
        // No CSRF token: the snippet's beacon comes from the operator's pages, another origin by design (RouteGuardTests).
        limited.post("/api/v1/events") { request, context in
            // sendBeacon sends text/plain (no CORS preflight from the operator's pages); both carry JSON.
            let type = request.headers[.contentType]?.lowercased() ?? ""
            guard type.hasPrefix("application/json") || type.hasPrefix("text/plain") else {
                throw PublicError(.unsupportedMediaType, LocalizedText(ja: "JSON を送ってください。", en: "Send JSON."))
            }
            let body = try await FormInput.collect(request, context, limit: Self.eventLimit)
            guard
                let input = body.withUnsafeReadableBytes({ EventBodyScanner.scan($0).map(APIEvent.init) })
                    ?? APIEvent(json: Data(body.readableBytesView))
            else {
                throw PublicError(
                    .badRequest,
                    LocalizedText(
                        ja: "JSON を読み取れません。id、kind(choice・notice・reset)、vendors(ベンダーID→真偽)、vendor_list が必要です。",
                        en:
                            "The body is not JSON of the expected shape: id, kind (choice, notice, reset), vendors (vendor id → boolean), vendor_list."
                    )
                )
            }
            guard let kind = ConsentEventKind(rawValue: input.kind) else {
                return problem(.unprocessableContent, "kind", "not one of choice, notice, reset")
            }
            guard input.vendorList == vendorList else {
                return problem(.conflict, "vendor_list", "the vendor list changed (now \(vendorList)); ask the person again")
            }
            let gpc = (input.gpc ?? false) || request.headers[.secGPC] == "1"
            let event = ConsentEvent(
                identifier: input.id,
                kind: kind,
                vendors: input.vendors ?? [:],
                gpc: gpc,
                vendorListVersion: vendorList,
                policyVersion: policy.version
            )
            switch ConsentLedger.validate(event, policy: policy) {
            case let .failure(failure):
                return problem(.unprocessableContent, failure.field, failure.reason)
            case let .success(valid):
                try await ledger.record(valid)
                if valid.kind == .reset { try await ledger.unlink(identifier: valid.identifier) }
                return Response(status: .noContent, headers: [.cacheControl: "no-store"])
            }
        }
        /// Asked by the snippet once per browser session: is this browser linked to a person who suspended every use
        /// of their data? The identifier travels in the query, which request logs never record.
        limited.get("/api/v1/identifier-state") { request, context in
            guard let id = request.uri.queryParameters["id"].map(String.init), ConsentEvent.isIdentifier(id) else {
                return problem(.badRequest, "id", "give the site identifier (22–64 URL-safe characters)")
            }
            let suspended = try await ledger.isSuspended(identifier: id)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/json", .cacheControl: "no-store",
                    .accessControlAllowOrigin: "*", .crossOriginResourcePolicy: "cross-origin",
                ],
                body: .init(byteBuffer: .init(string: suspended ? #"{"suspended":true}"# : #"{"suspended":false}"#))
            )
        }
        router.get(RouterPath(SitePath.preferences)) { request, _ in
            let language = try requestedLanguage(request)
            return try await preferencesPage(request, language, message: nil, status: .ok)
        }
        let preferencesForm = limited.group().add(
            middleware: CSRFMiddleware<SiteRequestContext>(csrf) { request, _, _ in
                let language = try requestedLanguage(request)
                let expired = site.resources.text(language).format("inquiry_expired")
                return try await preferencesPage(request, language, message: expired, status: .forbidden)
            }
        )
        preferencesForm.post(RouterPath(SitePath.preferences)) { request, context in
            let language = try requestedLanguage(request)
            let form = try context.form
            let existing = identifier(in: request)
            let identifier = existing ?? ConsentEvent.newIdentifier()
            var vendors: [String: Bool] = [:]
            for vendor in policy.vendors { vendors[vendor.id] = form["vendor_\(vendor.id)"] == "on" }
            try await ledger.record(
                ConsentEvent(
                    identifier: identifier,
                    kind: .choice,
                    vendors: vendors,
                    gpc: request.headers[.secGPC] == "1",
                    vendorListVersion: vendorList,
                    policyVersion: policy.version
                )
            )
            var response = Response(
                status: .seeOther,
                headers: [
                    .location: PageChrome.href(SitePath.preferences, language) + (language == .ja ? "?" : "&") + "saved=1", .cacheControl: "no-store",
                ]
            )
            let lifetime = policy.informativeData.cookieLifetimeDays * 86_400
            // The snippet reads the same state cookie, so a choice made here holds on the operator's pages too.
            response.headers.append(HTTPField(name: .setCookie, value: cookie(policy.informativeData.cookieName, identifier, maxAge: lifetime)))
            response.headers.append(
                HTTPField(
                    name: .setCookie,
                    value: cookie(
                        ConsentCookie.name(policy),
                        ConsentCookie(allowed: vendors, explicit: true).value(policy, vendorList: vendorList),
                        maxAge: lifetime
                    )
                )
            )
            return response
        }
        preferencesForm.post(RouterPath(SitePath.preferencesReset)) { request, _ in
            let language = try requestedLanguage(request)
            if let identifier = identifier(in: request) {
                try await ledger.record(
                    ConsentEvent(
                        identifier: identifier,
                        kind: .reset,
                        vendors: [:],
                        gpc: false,
                        vendorListVersion: vendorList,
                        policyVersion: policy.version
                    )
                )
                try await ledger.unlink(identifier: identifier)
            }
            // The identifier goes, and no new one is issued until the person chooses again on a later visit (R-OPT-2).
            var response = Response(
                status: .seeOther,
                headers: [
                    .location: PageChrome.href(SitePath.preferences, language) + (language == .ja ? "?" : "&") + "reset=1", .cacheControl: "no-store",
                ]
            )
            response.headers.append(HTTPField(name: .setCookie, value: cookie(policy.informativeData.cookieName, "", maxAge: 0)))
            response.headers.append(HTTPField(name: .setCookie, value: cookie(ConsentCookie.name(policy), "", maxAge: 0)))
            return response
        }
    }

    /// The snippet variant for the request (`Sec-GPC: 1` gets the one that honours GPC), loadable from any site.
    private func snippetResponse(_ request: Request, cacheControl: String) -> Response {
        let gpc = request.headers[.secGPC] == "1"
        let compressed = Self.acceptsGzip(request.headers[.acceptEncoding]) ? (gpc ? snippet.gpcGzip : snippet.plainGzip) : nil
        var response = cachedResponse(
            compressed ?? (gpc ? snippet.gpc : snippet.plain),
            request: request,
            language: nil,
            cacheControl: cacheControl
        )
        if compressed != nil { response.headers[.contentEncoding] = "gzip" }
        response.headers[.vary] = "Sec-GPC, Accept-Encoding"
        response.headers[.contentLocation] = snippet.versionedPath
        response.headers[.accessControlAllowOrigin] = "*"
        response.headers[.crossOriginResourcePolicy] = "cross-origin"
        return response
    }

    /// Whether an `Accept-Encoding` value accepts gzip (a `gzip` or `*` entry whose q is not 0).
    static func acceptsGzip(_ value: String?) -> Bool {
        guard let value else { return false }
        return value.split(separator: ",").contains { entry in
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first, coding == "gzip" || coding == "x-gzip" || coding == "*" else { return false }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
    }

    /// The event as sent: by `EventBodyScanner` when the body is plain, else with JSONSerialization (for this small,
    /// fixed shape a fraction of a Codable decode).
    struct APIEvent {
        let id: String
        let kind: String
        let vendors: [String: Bool]?
        let gpc: Bool?
        let vendorList: String

        init(_ fields: EventBodyScanner.Fields) {
            (id, kind, vendors, gpc, vendorList) = (fields.id, fields.kind, fields.vendors, fields.gpc, fields.vendorList)
        }

        init?(json: Data) {
            guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
                let id = object["id"] as? String, let kind = object["kind"] as? String,
                let vendorList = object["vendor_list"] as? String
            else { return nil }
            var vendors: [String: Bool]?
            if let raw = object["vendors"] {
                guard let map = raw as? [String: Any] else { return nil }
                var parsed: [String: Bool] = [:]
                for (key, value) in map {
                    guard let allowed = value as? Bool else { return nil }
                    parsed[key] = allowed
                }
                vendors = parsed
            }
            var gpc: Bool?
            if let raw = object["gpc"] {
                guard let signalled = raw as? Bool else { return nil }
                gpc = signalled
            }
            (self.id, self.kind, self.vendors, self.gpc, self.vendorList) = (id, kind, vendors, gpc, vendorList)
        }
    }

    private func problem(_ status: HTTPResponse.Status, _ field: String, _ reason: String) -> Response {
        JSONAnswer.problem(status, detail: "\(field): \(reason)", detailJA: nil, extra: ["field": field, "vendor_list": vendorList])
    }

    /// The site identifier the browser holds, if it is well-formed.
    private func identifier(in request: Request) -> String? {
        guard let value = request.cookies[policy.informativeData.cookieName]?.value, ConsentEvent.isIdentifier(String(value)) else { return nil }
        return String(value)
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        SiteCookie(name: name, value: value, maxAge: maxAge, httpOnly: false, sameSite: .lax).header(secure: secureCookies)
    }

    /// The switches, set from the state cookie the snippet shares, else the ledger's latest choice for this identifier on the current vendor list,
    /// otherwise from the consent mode (notice: on, opt-in: off) with advertising off under GPC (R-OPT-4).
    private func preferencesPage(_ request: Request, _ language: Language, message: String?, status: HTTPResponse.Status) async throws -> Response {
        let identifier = identifier(in: request)
        let gpc = request.headers[.secGPC] == "1"
        var state = ConsentCookie.defaults(policy, gpc: gpc)
        if let raw = request.cookies[ConsentCookie.name(policy)]?.value,
            let stored = ConsentCookie.parse(String(raw), policy: policy, vendorList: vendorList)
        {
            // An acknowledged notice is no choice: GPC still turns advertising off (R-OPT-4).
            state = stored.explicit ? stored.allowed : stored.allowed.merging(ConsentCookie.defaults(policy, gpc: gpc)) { $0 && $1 }
        } else if let identifier, let last = try await ledger.latest(identifier: identifier), last.kind == .choice,
            last.vendorListVersion == vendorList
        {
            state = last.vendors
        }
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let query = request.uri.queryParameters
        let model = PreferencesModel(
            policy: policy,
            language: language,
            t: site.resources.text(language),
            state: state,
            gpc: gpc,
            saved: query["saved"] == "1",
            reset: query["reset"] == "1",
            message: message,
            csrfToken: issued.token
        )
        var response = try site.resources.page("preferences", model, cacheControl: "no-store")
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }
}

extension HTTPField.Name {
    static let secGPC = Self("Sec-GPC")!
    static let crossOriginResourcePolicy = Self("Cross-Origin-Resource-Policy")!
}
