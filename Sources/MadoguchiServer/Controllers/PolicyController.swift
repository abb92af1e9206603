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
        router.get(RouterPath(SitePath.versions)) { request, _ in
            let language = try requestedLanguage(request)
            guard let page = site.historyPage(language: language) else {
                throw PublicError(.notFound, LocalizedText(ja: "改定の履歴はまだありません。", en: "There is no revision history yet."))
            }
            return cachedResponse(page, request: request, language: language)
        }
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
