import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// The link in every campaign mail (R-MAIL-1): a page with one button, and the one-click POST of RFC 8058 that mail
/// clients send from `List-Unsubscribe` — the same route. Neither takes a CSRF token: the mail client has none, the
/// signed token in the path is the proof, and the only thing it can do is stop mail for that person. A GET changes
/// nothing, so link scanners stop nothing.
struct UnsubscribeController {
    let policy: Policy
    let site: PolicySite
    let campaigns: CampaignDesk
    let key: SymmetricKey
    let limiter: RateLimiter

    func addRoutes(to router: Router<SiteRequestContext>) {
        let limited = router.group().add(middleware: RateLimitMiddleware(name: "unsubscribe", limiter: limiter))
        limited.get(RouterPath(SitePath.unsubscribeRoute)) { request, context in
            let language = try requestedLanguage(request)
            let token = try context.parameters.require("token")
            guard let named = CampaignDesk.verify(token: token, key: key), let campaign = try await campaigns.campaign(id: named.campaignID)
            else { return try page(language, token: token, purpose: nil, done: false, status: .notFound) }
            return try page(language, token: token, purpose: campaign.purposeID, done: false, status: .ok)
        }
        limited.post(RouterPath(SitePath.unsubscribeRoute)) { request, context in
            let language = try requestedLanguage(request)
            let token = try context.parameters.require("token")
            // The body (`List-Unsubscribe=One-Click`) carries nothing to act on; it is read only to its limit.
            _ = try await FormInput.collect(request, context, limit: 1_024)
            guard let campaign = try await campaigns.unsubscribe(token: token, key: key, policy: policy) else {
                return try page(language, token: token, purpose: nil, done: false, status: .notFound)
            }
            return try page(language, token: token, purpose: campaign.purposeID, done: true, status: .ok)
        }
    }

    private func page(_ language: Language, token: String, purpose: String?, done: Bool, status: HTTPResponse.Status) throws -> Response {
        let t = site.resources.text(language)
        let model = UnsubscribeModel(
            chrome: PageChrome(
                language: language,
                title: t.format("unsubscribe_title"),
                strings: t,
                operatorName: policy.company.name[language],
                path: purpose == nil ? SitePath.privacy : SitePath.unsubscribe(token)
            ),
            t: t,
            text: purpose.map { id in t.format("unsubscribe_text", ["purpose": policy.purpose(id: id)?.text[language] ?? id]) },
            action: PageChrome.href(SitePath.unsubscribe(token), language),
            done: done,
            invalid: purpose == nil
        )
        var response = try site.resources.page("unsubscribe", model, cacheControl: "no-store")
        response.status = status
        return response
    }
}

struct UnsubscribeModel {
    let chrome: PageChrome
    let t: [String: String]
    let text: String?
    let action: String
    let done, invalid: Bool
}
