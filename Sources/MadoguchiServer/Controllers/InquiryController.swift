import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// The inquiry forms of every service, and the same intake as JSON (R-SVC-1, R-REQ-1).
struct InquiryController {
    let policy: Policy
    let site: PolicySite
    let vault: InquiryVault
    let csrf: CSRFTokens
    let limiter: RateLimiter
    let baseURL: String
    let secureCookies: Bool

    func addRoutes(to router: Router<SiteRequestContext>) {
        /// The list of services to contact.
        router.get(RouterPath(SitePath.services)) { request, _ in
            let language = try requestedLanguage(request)
            let t = site.resources.text(language)
            return try page(
                "inquiry-index",
                ServiceListModel(
                    policy: policy,
                    language: language,
                    t: t,
                    path: SitePath.services,
                    heading: t.format("inquiry_index_title"),
                    message: t.format("inquiry_index_intro")
                )
            )
        }
        /// The form of one service.
        router.get(RouterPath(SitePath.inquiryRoute)) { request, context in
            try formAgain(request, context, [:], problems: [], expired: false, status: .ok)
        }
        /// A submitted form: stored and confirmed, or shown again with every problem and the person's input kept.
        let submissions = router.group().add(middleware: RateLimitMiddleware(name: "inquiries", limiter: limiter))
        // A refused token shows the form again with everything typed kept, saying the form expired.
        let inquiryForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, context, form in
            try formAgain(request, context, form, problems: [], expired: true, status: .forbidden)
        }
        submissions.group().add(middleware: inquiryForm).post(RouterPath(SitePath.inquiryRoute)) { request, context in
            let language = try requestedLanguage(request)
            let service = try findService(context, language)
            let form = try context.form
            let values = form.filter { !$0.key.hasPrefix("_") && $0.key != "consent" }
            let consent = form["consent"] == "yes"
            let submission = InquirySubmission(serviceID: service.id, values: values, consentToOptionalPurposes: consent)
            switch policy.validate(submission, allowUnknownFields: true) {
            case let .failure(.invalidFields(problems)):
                return try formAgain(request, context, form, problems: problems, expired: false, status: .unprocessableContent)
            case .failure(.unknownService):
                throw ServiceListError()
            case let .success(valid):
                let receipt = try await vault.submit(
                    valid,
                    policy: policy,
                    confirmation: confirmationMail(valid),
                    identifier: request.cookies[policy.informativeData.cookieName].map { String($0.value) },
                    consentText: InquiryFormModel.consentLabel(policy: policy, service: service, language: language, t: site.resources.text(language))
                )
                let location =
                    PageChrome.href(SitePath.received(service.id), language)
                    + (language == .ja ? "?" : "&") + "number=\(receipt.number)"
                return Response.seeOther(location)
            }
        }
        /// The receipt page after a successful submission (Post/Redirect/Get, so a reload sends nothing twice).
        router.get(RouterPath(SitePath.receivedRoute)) { request, context in
            let language = try requestedLanguage(request)
            _ = try findService(context, language)
            let number = request.uri.queryParameters["number"].map(String.init) ?? ""
            guard Self.isInquiryNumber(number)
            else {
                throw PublicError(.badRequest, LocalizedText(ja: "受付番号が正しくありません。", en: "That is not an inquiry number."))
            }
            let t = site.resources.text(language)
            let model = ReceiptModel(
                chrome: PageChrome(
                    language: language,
                    title: t.format("done_title"),
                    strings: t,
                    operatorName: policy.company.name[language],
                    path: request.uri.path
                ),
                t: t,
                number: number
            )
            var response = try page("inquiry-done", model)
            response.headers[.cacheControl] = "no-store"
            return response
        }
        /// The confirmation link of the receipt mail: the sender confirms the inquiry as theirs (ADR 0004).
        router.get(RouterPath(SitePath.confirmRoute)) { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            let token = String((request.uri.queryParameters["token"].map(String.init) ?? "").prefix(64))
            let t = site.resources.text(language)
            guard Self.isInquiryNumber(number), token.count == 64, vault.confirmationToken(number: number) == token else {
                return try confirmPage(
                    request,
                    language,
                    number: Self.isInquiryNumber(number) ? number : "",
                    token: "",
                    message: t.format("confirm_invalid"),
                    showForm: false,
                    status: .notFound
                )
            }
            return try confirmPage(request, language, number: number, token: token, message: nil, showForm: true, status: .ok)
        }
        let confirmForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, context, form in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            guard Self.isInquiryNumber(number) else {
                let invalid = site.resources.text(language).format("confirm_invalid")
                return try confirmPage(request, language, number: "", token: "", message: invalid, showForm: false, status: .notFound)
            }
            let token = String((form["token"] ?? "").prefix(64))
            let expired = site.resources.text(language).format("inquiry_expired")
            return try confirmPage(request, language, number: number, token: token, message: expired, showForm: true, status: .forbidden)
        }
        submissions.group().add(middleware: confirmForm).post(RouterPath(SitePath.confirmRoute)) { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            let form = try context.form
            let token = String((form["token"] ?? "").prefix(64))
            let t = site.resources.text(language)
            guard Self.isInquiryNumber(number) else {
                return try confirmPage(
                    request,
                    language,
                    number: "",
                    token: "",
                    message: t.format("confirm_invalid"),
                    showForm: false,
                    status: .notFound
                )
            }
            switch try await vault.confirm(number: number, token: token) {
            case .confirmed:
                return try confirmPage(request, language, number: number, token: "", message: t.format("confirm_done"), showForm: false, status: .ok)
            case .alreadyConfirmed:
                return try confirmPage(
                    request,
                    language,
                    number: number,
                    token: "",
                    message: t.format("confirm_already"),
                    showForm: false,
                    status: .ok
                )
            case .invalid:
                return try confirmPage(
                    request,
                    language,
                    number: number,
                    token: "",
                    message: t.format("confirm_invalid"),
                    showForm: false,
                    status: .notFound
                )
            }
        }
        /// The same intake as JSON, for the operator's own front ends.
        submissions.post("/api/v1/inquiries") { request, context in
            let input: APIInquiry = try await JSONInput.decode(
                request,
                context,
                expected: LocalizedText(
                    ja: "JSON を読み取れません。service(文字列)と fields(文字列の対応表)が必要です。",
                    en: "The body is not valid JSON of the expected shape: service (string) and fields (object of strings)."
                )
            )
            let submission = InquirySubmission(
                serviceID: input.service,
                values: input.fields,
                consentToOptionalPurposes: input.consentToOptionalPurposes ?? false
            )
            switch policy.validate(submission) {
            case .failure(.unknownService):
                throw PublicError(
                    .notFound,
                    LocalizedText(
                        ja: "そのサービスはありません。指定できるのは \(policy.services.map(\.id).joined(separator: ", ")) です。",
                        en: "No such service; use one of \(policy.services.map(\.id).joined(separator: ", "))."
                    )
                )
            case let .failure(.invalidFields(problems)):
                return problemsResponse(problems, service: policy.service(id: input.service))
            case let .success(valid):
                // An API client shows its own words; the record says which purposes it asked for, in both languages.
                let asked = policy.optionalPurposes.map { "\($0.text.ja) / \($0.text.en)" }.joined(separator: "; ")
                let receipt = try await vault.submit(
                    valid,
                    policy: policy,
                    confirmation: confirmationMail(valid),
                    identifier: request.cookies[policy.informativeData.cookieName].map { String($0.value) },
                    consentText: "API consent_to_optional_purposes: " + asked
                )
                let json = try JSONEncoder().encode(["number": receipt.number])
                return Response(
                    status: .created,
                    headers: [.contentType: "application/json", .cacheControl: "no-store"],
                    body: .init(byteBuffer: .init(bytes: json))
                )
            }
        }
    }

    struct APIInquiry: Decodable {
        let service: String
        let fields: [String: String]
        let consentToOptionalPurposes: Bool?

        enum CodingKeys: String, CodingKey {
            case service, fields
            case consentToOptionalPurposes = "consent_to_optional_purposes"
        }
    }

    // MARK: Helpers

    private func findService(_ context: SiteRequestContext, _ language: Language) throws -> Service {
        let id = try context.parameters.require("service")
        guard let service = policy.service(id: id) else { throw ServiceListError() }
        return service
    }

    /// The form of `context`'s service: empty, or shown again with what was sent and `problems` (or the
    /// expired-form notice).
    private func formAgain(
        _ request: Request,
        _ context: SiteRequestContext,
        _ form: [String: String],
        problems: [FieldProblem],
        expired: Bool,
        status: HTTPResponse.Status
    ) throws -> Response {
        let language = try requestedLanguage(request)
        let service = try findService(context, language)
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let model = InquiryFormModel(
            policy: policy,
            service: service,
            language: language,
            t: site.resources.text(language),
            values: form.filter { !$0.key.hasPrefix("_") && $0.key != "consent" },
            problems: problems,
            consent: form["consent"] == "yes",
            csrfToken: issued.token,
            expired: expired
        )
        return try formResponse(model, status: status, nonce: issued.nonce)
    }

    private func page(_ template: String, _ model: Any) throws -> Response {
        try site.resources.page(template, model)
    }

    private func formResponse(_ model: InquiryFormModel, status: HTTPResponse.Status, nonce: String) throws -> Response {
        var response = try page("inquiry-form", model)
        response.status = status
        response.headers[.cacheControl] = "no-store"
        response.headers[.contentLanguage] = model.chrome.lang
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: nonce, secure: secureCookies)
        return response
    }

    private func problemsResponse(_ problems: [FieldProblem], service: Service?) -> Response {
        let fields = service.map { policy.fields(for: $0) } ?? []
        return JSONAnswer.fieldProblems(
            problems,
            label: { id in fields.first { $0.id == id }?.label ?? LocalizedText(id) },
            strings: (site.resources.text(.ja), site.resources.text(.en))
        )
    }

    /// The confirmation e-mail, Japanese first and English second; it names the officer and the contact (R-CON-1)
    /// and carries the link by which the sender confirms the inquiry as theirs (ADR 0004).
    private func confirmationMail(_ inquiry: ValidatedInquiry) -> (String) -> OutgoingMail {
        let resources = site.resources
        let policy = policy
        let base = baseURL
        let vault = vault
        return { number in
            let link = base + SitePath.confirm(number) + "?token=" + vault.confirmationToken(number: number)
            return resources.mail(to: inquiry.email, subject: "mail_subject", body: "mail_body", policy: policy, baseURL: base) { language in
                [
                    "number": number, "service": inquiry.service.name[language],
                    "confirm_block": resources.text(language).format("mail_confirm", ["confirm": link]),
                ]
            }
        }
    }

    /// The page of the confirmation link: a button (a GET changes nothing, so mail scanners that open links confirm
    /// nothing), then the outcome.
    private func confirmPage(
        _ request: Request,
        _ language: Language,
        number: String,
        token: String,
        message: String?,
        showForm: Bool,
        status: HTTPResponse.Status
    ) throws -> Response {
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let t = site.resources.text(language)
        let model = ConfirmModel(
            chrome: PageChrome(
                language: language,
                title: t.format("confirm_title"),
                strings: t,
                operatorName: policy.company.name[language],
                path: SitePath.confirm(number)
            ),
            t: t,
            number: number,
            token: token,
            csrfToken: issued.token,
            message: message,
            showForm: showForm,
            action: PageChrome.href(SitePath.confirm(number), language)
        )
        var response = try site.resources.page("inquiry-confirm", model, cacheControl: "no-store")
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }

    static func isInquiryNumber(_ text: String) -> Bool {
        text.count == 16 && text.hasPrefix("Q") && text.allSatisfy { $0.isASCII && ($0.isNumber || $0.isUppercase || $0 == "-") }
    }
}
