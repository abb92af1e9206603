import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/me`: a person sees everything held about them and changes, adds and deletes it at any time (R-SELF-1), after
/// a one-time code proves control of their address. Works without JavaScript; every form is CSRF-protected.
struct SelfServiceController {
    static let sessionCookie = PersonSessionMiddleware.cookieName
    let policy: Policy
    let site: PolicySite
    let access: SelfService
    let csrf: CSRFTokens
    let limiter: RateLimiter
    /// Codes per address and hour, counted in the database across every server (R-OPS-1).
    let addressLimit: AddressLimit
    let secureCookies: Bool

    func addRoutes(to router: Router<SiteRequestContext>) {
        router.get(RouterPath(SitePath.me)) { request, _ in
            let language = try requestedLanguage(request)
            if let (token, subjectID) = try await session(request) {
                return try await overview(language, token: token, subjectID: subjectID, message: nil, status: .ok)
            }
            return try start(request, language, message: nil, status: .ok)
        }
        let signingIn = router.group().add(middleware: RateLimitMiddleware(name: "me", limiter: limiter))
        let addressForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, _, _ in
            let language = try requestedLanguage(request)
            return try start(request, language, message: site.resources.text(language).format("inquiry_expired"), status: .forbidden)
        }
        signingIn.group().add(middleware: addressForm).post(RouterPath(SitePath.meCode)) { request, context in
            let language = try requestedLanguage(request)
            let form = try context.form
            let t = site.resources.text(language)
            guard let email = EmailAddress.normalised(form["email"] ?? "") else {
                return try start(request, language, message: t.format("me_bad_email"), status: .unprocessableContent)
            }
            let emailIndex = BlindIndex.of(email: email, key: access.vault.keys.ring.blindIndexKey)
            if let wait = try await addressLimit.acquire(emailIndex: emailIndex) { throw TooManyRequests(retryAfter: wait) }
            let issued = try await access.issueCode(email: email) { code in codeMail(to: email, code: code) }
            return Response.seeOther(PageChrome.href(SitePath.meVerify, language) + (language == .ja ? "?" : "&") + "ticket=\(issued.ticket)")
        }
        router.get(RouterPath(SitePath.meVerify)) { request, _ in
            let language = try requestedLanguage(request)
            let ticket = request.uri.queryParameters["ticket"].map(String.init) ?? ""
            return try codePage(request, language, ticket: ticket, message: nil, status: .ok)
        }
        let codeForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, _, form in
            let language = try requestedLanguage(request)
            let ticket = String((form["ticket"] ?? "").prefix(64))
            return try codePage(
                request,
                language,
                ticket: ticket,
                message: site.resources.text(language).format("inquiry_expired"),
                status: .forbidden
            )
        }
        signingIn.group().add(middleware: codeForm).post(RouterPath(SitePath.meVerify)) { request, context in
            let language = try requestedLanguage(request)
            let form = try context.form
            let t = site.resources.text(language)
            let ticket = String((form["ticket"] ?? "").prefix(64))
            let code = (form["code"] ?? "").trimmingCharacters(in: .whitespaces)
            guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return try codePage(request, language, ticket: ticket, message: t.format("me_code_format"), status: .unprocessableContent)
            }
            switch try await access.enter(ticket: ticket, code: code) {
            case let .signedIn(token):
                var response = Response.seeOther(PageChrome.href(SitePath.me, language))
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
        addSignedInRoutes(to: router)
    }

    /// What a signed-in person does with their data; every form's token is bound to their session.
    private func addSignedInRoutes(to router: Router<SiteRequestContext>) {
        let signedIn = router.group(context: PersonRequestContext.self)
            .add(middleware: PersonSessionMiddleware(access: access))
            .add(middleware: CSRFMiddleware(csrf, nonce: { _, context in access.csrfNonce(sessionToken: try context.session.token) }))
        signedIn.post(RouterPath(SitePath.meInquiryRoute)) { request, context in
            let (language, token, subjectID, form) = try action(request, context)
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
            return Response.seeOther(PageChrome.href(SitePath.me, language))
        }
        signedIn.post(RouterPath(SitePath.meInquiryDeleteRoute)) { request, context in
            let (language, _, subjectID, _) = try action(request, context)
            guard try await access.deleteInquiry(subjectID: subjectID, number: try context.parameters.require("number")) else {
                throw PublicError(.notFound, LocalizedText(ja: "そのお問い合わせはありません。", en: "There is no such inquiry."))
            }
            return Response.seeOther(PageChrome.href(SitePath.me, language))
        }
        signedIn.post(RouterPath(SitePath.meErase)) { request, context in
            let (language, token, subjectID, form) = try action(request, context)
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
        signedIn.get(RouterPath(SitePath.meExport)) { request, context in
            let subjectID = try context.session.subjectID
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
        // Consent to a purpose that needs it, or to a change of purpose, given or withdrawn in one step (R-PUR-5,
        // R-VER-2); it takes effect at once.
        signedIn.post(RouterPath(SitePath.meConsents)) { request, context in
            let (language, token, subjectID, form) = try action(request, context)
            let questions = try await purposeConsents.questions(subjectID: subjectID, current: policy)
            guard let question = questions.first(where: { $0.purpose.id == form["purpose"] }),
                let answer = form["granted"], answer == "yes" || answer == "no"
            else {
                return try await overview(
                    language,
                    token: token,
                    subjectID: subjectID,
                    message: site.resources.text(language).format("me_purpose_invalid"),
                    status: .badRequest
                )
            }
            try await purposeConsents.record(
                subjectID: subjectID,
                purpose: question.purpose.id,
                granted: answer == "yes",
                policy: policy,
                source: "me",
                shownText: MeModel.PurposeQuestion(question, policy: policy, language: language, t: site.resources.text(language)).shownText
            )
            return Response.seeOther(PageChrome.href(SitePath.me, language) + "#h-purposes")
        }
        // Signing out needs no data held: a person who found nothing under their address can sign out too.
        signedIn.post(RouterPath(SitePath.meSignOut)) { request, context in
            let language = try requestedLanguage(request)
            try await access.signOut(token: try context.session.token)
            var response = Response.seeOther(PageChrome.href(SitePath.me, language))
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

    /// A signed-in action on the person's data: the language, the session token, the person (404 when nothing is
    /// held) and the checked form.
    private func action(_ request: Request, _ context: PersonRequestContext) throws -> (Language, String, String, [String: String]) {
        (try requestedLanguage(request), try context.session.token, try context.subjectWithData, try context.form)
    }

    private func cookie(_ value: String, maxAge: Int) -> String {
        SiteCookie(name: Self.sessionCookie, value: value, path: SitePath.me, maxAge: maxAge).header(secure: secureCookies)
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
        let questions = subjectID.isEmpty ? [] : try await purposeConsents.questions(subjectID: subjectID, current: policy)
        let model = MeModel(
            policy: policy,
            language: language,
            t: site.resources.text(language),
            document: document,
            questions: questions,
            message: message,
            csrfToken: csrf.issue(nonce: access.csrfNonce(sessionToken: token)).token
        )
        var response = try site.resources.page("me", model, cacheControl: "no-store")
        response.status = status
        return response
    }

    private var purposeConsents: PurposeConsents {
        PurposeConsents(database: access.vault.database, versions: PolicyVersionStore(database: access.vault.database))
    }

    private func codeMail(to address: String, code: String) -> OutgoingMail {
        site.resources.mail(to: address, subject: "me_code_subject", body: "me_code_body", policy: policy, baseURL: "") { _ in ["code": code] }
    }
}
