import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/me`: a person sees everything held about them and changes, adds and deletes it at any time (R-SELF-1), after
/// a one-time code proves control of their address. Works without JavaScript; every form is CSRF-protected.
struct SelfServiceController {
    static let sessionCookie = "mdg_me"
    let policy: Policy
    let site: PolicySite
    let access: SelfService
    let csrf: CSRFTokens
    let limiter: RateLimiter
    let addressLimiter: RateLimiter
    let secureCookies: Bool

    func addRoutes(to router: Router<SiteRequestContext>) {
        router.get(RouterPath(SitePath.me)) { request, _ in
            let language = try requestedLanguage(request)
            if let (token, subjectID) = try await session(request) {
                return try await overview(language, token: token, subjectID: subjectID, message: nil, status: .ok)
            }
            return try start(request, language, message: nil, status: .ok)
        }
        router.post(RouterPath(SitePath.meCode)) { request, context in
            let language = try requestedLanguage(request)
            if let wait = limiter.acquire(context.clientKey) { throw TooManyRequests(retryAfter: wait) }
            let form = try await FormInput.read(request, context)
            let t = site.resources.text(language)
            guard csrf.verify(token: form[CSRFTokens.fieldName], cookieNonce: request.cookies[CSRFTokens.cookieName]?.value) else {
                return try start(request, language, message: t.format("inquiry_expired"), status: .forbidden)
            }
            guard let email = EmailAddress.normalised(form["email"] ?? "") else {
                return try start(request, language, message: t.format("me_bad_email"), status: .unprocessableContent)
            }
            let addressKey = "me:" + BlindIndex.of(email: email, key: access.vault.keys.ring.blindIndexKey)
            if let wait = addressLimiter.acquire(addressKey) { throw TooManyRequests(retryAfter: wait) }
            let issued = try await access.issueCode(email: email) { code in codeMail(to: email, code: code) }
            return Response(
                status: .seeOther,
                headers: [
                    .location: PageChrome.href(SitePath.meVerify, language) + (language == .ja ? "?" : "&") + "ticket=\(issued.ticket)",
                    .cacheControl: "no-store",
                ]
            )
        }
        router.get(RouterPath(SitePath.meVerify)) { request, _ in
            let language = try requestedLanguage(request)
            let ticket = request.uri.queryParameters["ticket"].map(String.init) ?? ""
            return try codePage(request, language, ticket: ticket, message: nil, status: .ok)
        }
        router.post(RouterPath(SitePath.meVerify)) { request, context in
            let language = try requestedLanguage(request)
            if let wait = limiter.acquire(context.clientKey) { throw TooManyRequests(retryAfter: wait) }
            let form = try await FormInput.read(request, context)
            let t = site.resources.text(language)
            let ticket = String((form["ticket"] ?? "").prefix(64))
            guard csrf.verify(token: form[CSRFTokens.fieldName], cookieNonce: request.cookies[CSRFTokens.cookieName]?.value) else {
                return try codePage(request, language, ticket: ticket, message: t.format("inquiry_expired"), status: .forbidden)
            }
            let code = (form["code"] ?? "").trimmingCharacters(in: .whitespaces)
            guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return try codePage(request, language, ticket: ticket, message: t.format("me_code_format"), status: .unprocessableContent)
            }
            switch try await access.enter(ticket: ticket, code: code) {
            case let .signedIn(token):
                var response = Response(status: .seeOther, headers: [.location: PageChrome.href(SitePath.me, language), .cacheControl: "no-store"])
                response.headers[.setCookie] = cookie(token, maxAge: Int(SelfService.sessionLifetime))
                return response
            case let .wrongCode(left):
                return try codePage(
                    request,
                    language,
                    ticket: ticket,
                    message: t.format("me_code_wrong", ["left": "\(left)"]),
                    status: .unprocessableContent
                )
            case .notValid:
                return try start(request, language, message: t.format("me_code_gone"), status: .gone)
            }
        }
        router.post(RouterPath(SitePath.meInquiryRoute)) { request, context in
            let (language, token, subjectID, form) = try await action(request, context)
            let number = try context.parameters.require("number")
            let t = site.resources.text(language)
            let rights = SubjectRights(vault: access.vault)
            guard let current = try await access.inquiryFields(subjectID: subjectID, number: number) else {
                throw PublicError(.notFound, LocalizedText(ja: "そのお問い合わせはありません。", en: "There is no such inquiry."))
            }
            for field in policy.fields {
                guard let value = form["field_" + field.id], value != (current[field.id] ?? "") else { continue }
                do {
                    try await rights.correct(
                        subjectID: subjectID,
                        RightsRequestDesk.Correction(inquiryNumber: number, fieldID: field.id, value: value),
                        policy: policy,
                        actor: "person",
                        source: "self-service"
                    )
                } catch let RightsRequestError.invalidValue(problem) {
                    return try await overview(
                        language,
                        token: token,
                        subjectID: subjectID,
                        message: InquiryFormModel.message(problem, label: field.label[language], t),
                        status: .unprocessableContent
                    )
                } catch RightsRequestError.emailInUse {
                    return try await overview(language, token: token, subjectID: subjectID, message: t.format("email_in_use"), status: .conflict)
                }
            }
            return Response(status: .seeOther, headers: [.location: PageChrome.href(SitePath.me, language)])
        }
        router.post(RouterPath(SitePath.meInquiryDeleteRoute)) { request, context in
            let (language, _, subjectID, _) = try await action(request, context)
            guard try await access.deleteInquiry(subjectID: subjectID, number: try context.parameters.require("number")) else {
                throw PublicError(.notFound, LocalizedText(ja: "そのお問い合わせはありません。", en: "There is no such inquiry."))
            }
            return Response(status: .seeOther, headers: [.location: PageChrome.href(SitePath.me, language)])
        }
        router.post(RouterPath(SitePath.meErase)) { request, context in
            let (language, token, subjectID, form) = try await action(request, context)
            let t = site.resources.text(language)
            guard form["confirm"] == "yes" else {
                return try await overview(
                    language,
                    token: token,
                    subjectID: subjectID,
                    message: t.format("me_erase_confirm_missing"),
                    status: .unprocessableContent
                )
            }
            try await SubjectRights(vault: access.vault).erase(subjectID: subjectID, actor: "person", source: "self-service")
            try await access.signOut(token: token)
            var response = try site.resources.page("me-erased", MeErasedModel(policy: policy, language: language, t: t), cacheControl: "no-store")
            response.headers[.setCookie] = cookie("", maxAge: 0)
            return response
        }
        router.get(RouterPath(SitePath.meExport)) { request, _ in
            let language = try requestedLanguage(request)
            guard let (_, subjectID) = try await session(request) else {
                throw RedirectError(location: PageChrome.href(SitePath.me, language))
            }
            let document =
                try await SubjectRights(vault: access.vault).disclosure(subjectID: subjectID, actor: "person", source: "self-service")
                ?? DisclosureDocument.empty()
            let csv = request.uri.queryParameters["format"] == "csv"
            return Response(
                status: .ok,
                headers: [
                    .contentType: csv ? "text/csv; charset=utf-8" : "application/json", .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"my-data.\(csv ? "csv" : "json")\"",
                ],
                body: .init(byteBuffer: .init(bytes: csv ? Data(document.csv().utf8) : try document.json()))
            )
        }
        router.post(RouterPath(SitePath.meSignOut)) { request, context in
            let (language, token, _, _) = try await action(request, context)
            try await access.signOut(token: token)
            var response = Response(status: .seeOther, headers: [.location: PageChrome.href(SitePath.me, language)])
            response.headers[.setCookie] = cookie("", maxAge: 0)
            return response
        }
    }

    // MARK: Helpers

    private func session(_ request: Request) async throws -> (String, String)? {
        guard let token = request.cookies[Self.sessionCookie]?.value, token.count == 64,
            let subjectID = try await access.person(token: token)
        else { return nil }
        return (token, subjectID)
    }

    /// A signed-in action: the session (or a redirect to sign in), a person with data, and a CSRF token bound to the session.
    private func action(_ request: Request, _ context: SiteRequestContext) async throws -> (Language, String, String, [String: String]) {
        let language = try requestedLanguage(request)
        guard let (token, subjectID) = try await session(request) else {
            throw RedirectError(location: PageChrome.href(SitePath.me, language))
        }
        let form = try await FormInput.read(request, context)
        guard csrf.verify(token: form[CSRFTokens.fieldName], cookieNonce: access.csrfNonce(sessionToken: token)) else {
            throw PublicError(
                .forbidden,
                LocalizedText(
                    ja: "フォームの有効期限が切れました。ページを再読み込みしてください。",
                    en: "The form expired. Please reload the page."
                )
            )
        }
        guard !subjectID.isEmpty else {
            throw PublicError(
                .notFound,
                LocalizedText(
                    ja: "このメールアドレスで保有している個人データはありません。",
                    en: "We hold no personal data under this address."
                )
            )
        }
        return (language, token, subjectID, form)
    }

    private func cookie(_ value: String, maxAge: Int) -> String {
        "\(Self.sessionCookie)=\(value); Path=/me; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)\(secureCookies ? "; Secure" : "")"
    }

    private func start(_ request: Request, _ language: Language, message: String?, status: HTTPResponse.Status) throws -> Response {
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let t = site.resources.text(language)
        var response = try site.resources.page(
            "me-start",
            MeFormModel(
                policy: policy,
                language: language,
                t: t,
                path: SitePath.me,
                message: message,
                csrfToken: issued.token,
                ticket: ""
            ),
            cacheControl: "no-store"
        )
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }

    private func codePage(_ request: Request, _ language: Language, ticket: String, message: String?, status: HTTPResponse.Status) throws -> Response
    {
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let t = site.resources.text(language)
        var response = try site.resources.page(
            "me-code",
            MeFormModel(
                policy: policy,
                language: language,
                t: t,
                path: SitePath.meVerify,
                message: message,
                csrfToken: issued.token,
                ticket: ticket
            ),
            cacheControl: "no-store"
        )
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }

    private func overview(
        _ language: Language,
        token: String,
        subjectID: String,
        message: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let document =
            subjectID.isEmpty
            ? nil
            : try await SubjectRights(vault: access.vault).disclosure(subjectID: subjectID, actor: "person", source: "self-service")
        let model = MeModel(
            policy: policy,
            language: language,
            t: site.resources.text(language),
            document: document,
            message: message,
            csrfToken: csrf.issue(nonce: access.csrfNonce(sessionToken: token)).token
        )
        var response = try site.resources.page("me", model, cacheControl: "no-store")
        response.status = status
        return response
    }

    private func codeMail(to address: String, code: String) -> OutgoingMail {
        site.resources.mail(to: address, subject: "me_code_subject", body: "me_code_body", policy: policy, baseURL: "") { _ in ["code": code] }
    }
}
