import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// The published policy: `/privacy`, its external-transmission page, its JSON, and every stored version.
struct PolicyController<Context: RequestContext> {
    let site: PolicySite

    func addRoutes(to router: Router<Context>) {
        router.get(RouterPath(SitePath.privacy)) { request, _ in try await serve(.full, version: nil, request) }
        router.get(RouterPath(SitePath.externalTransmission)) { request, _ in try await serve(.externalTransmission, version: nil, request) }
        router.get(RouterPath(SitePath.privacyJSON)) { request, _ in try await serve(.json, version: nil, request) }
        router.get(RouterPath(SitePath.versionRoute)) { request, context in
            let raw = try context.parameters.require("version")
            if raw.hasSuffix(".json") {
                return try await serve(.json, version: String(raw.dropLast(".json".count)), request)
            }
            return try await serve(.full, version: raw, request)
        }
        router.get(RouterPath(SitePath.versionExternalRoute)) { request, context in
            try await serve(.externalTransmission, version: try context.parameters.require("version"), request)
        }
    }

    /// Serves a page from the render cache, answering `304 Not Modified` when the client already has it.
    private func serve(_ kind: PolicyPageKind, version: String?, _ request: Request) async throws -> Response {
        let language = try requestedLanguage(request)
        guard let page = try await site.page(kind, version: version, language: language) else {
            throw PublicError(
                .notFound,
                LocalizedText(
                    ja: "この版の個人情報の取り扱いは見つかりません。",
                    en: "There is no stored version of the policy with that id."
                )
            )
        }
        return cachedResponse(page, request: request, language: kind == .json ? nil : language)
    }
}

/// Reads `?lang=`: Japanese by default, English on request; anything else is a clear 400.
func requestedLanguage(_ request: Request) throws -> Language {
    let raw = request.uri.queryParameters["lang"].map(String.init)
    guard let language = Language(query: raw) else {
        throw PublicError(
            .badRequest,
            LocalizedText(
                ja: "lang に指定できるのは ja または en です。",
                en: "The lang parameter must be ja or en."
            )
        )
    }
    return language
}

/// A response for a pre-rendered page, with its ETag; `If-None-Match` with the same tag gets `304`.
func cachedResponse(_ page: RenderedPage, request: Request, language: Language?, cacheControl: String = "no-cache") -> Response {
    var headers = HTTPFields()
    headers[.eTag] = page.etag
    headers[.cacheControl] = cacheControl
    if let language { headers[.contentLanguage] = language.rawValue }
    if let tags = request.headers[.ifNoneMatch],
        tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == page.etag || $0 == "*" })
    {
        return Response(status: .notModified, headers: headers)
    }
    headers[.contentType] = page.contentType
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: page.body))
}
