import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/requests/new` and the code page: the same requests as the API, as forms that work without JavaScript.
extension RequestController {
    func addPageRoutes(to router: Router<SiteRequestContext>) {
        router.get("/requests/new") { request, _ in
            let language = try requestedLanguage(request)
            return try formPage(request, language, values: [:], problems: [], status: .ok)
        }
        router.post("/requests/new") { request, context in
            let language = try requestedLanguage(request)
            if let wait = limiter.acquire(context.clientKey) { throw TooManyRequests(retryAfter: wait) }
            let form = try await FormInput.read(request, context)
            guard csrf.verify(token: form[CSRFTokens.fieldName], cookieNonce: request.cookies[CSRFTokens.cookieName]?.value) else {
                return try formPage(request, language, values: form, problems: [], status: .forbidden, expired: true)
            }
            let purposes = form.keys.filter { $0.hasPrefix("purpose_") }.map { String($0.dropFirst("purpose_".count)) }.sorted()
            let submission = RequestSubmission(
                type: form["type"] ?? "",
                email: form["email"] ?? "",
                name: form["name"] ?? "",
                phone: form["phone"],
                details: form["details"],
                purposes: form["type"] == RequestType.suspension.rawValue ? purposes : nil,
                delivery: form["type"] == RequestType.disclosure.rawValue || form["type"] == RequestType.provisionRecords.rawValue
                    ? form["delivery"] : nil,
                identifier: request.cookies[policy.informativeData.cookieName].map { String($0.value) }
            )
            switch RequestForm.validate(submission, policy: policy) {
            case let .failure(failure):
                return try formPage(request, language, values: form, problems: failure.problems, status: .unprocessableContent)
            case let .success(valid):
                let addressKey = "address:" + BlindIndex.of(email: valid.content.email, key: desk.vault.keys.ring.blindIndexKey)
                if let wait = addressLimiter.acquire(addressKey) { throw TooManyRequests(retryAfter: wait) }
                let receipt = try await desk.submit(valid, mail: { number, code in codeMail(to: valid.content.email, number: number, code: code) })
                return Response(
                    status: .seeOther,
                    headers: [
                        .location: PageChrome.href("/requests/\(receipt.number)/verify", language),
                        .cacheControl: "no-store",
                    ]
                )
            }
        }
        router.get("/requests/:number/verify") { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            guard Self.isRequestNumber(number) else { throw noSuchRequest() }
            // The link in the mail carries the code; the page only fills it in (a GET never changes anything, so
            // mail scanners that follow links cannot use it up).
            let code = request.uri.queryParameters["code"].map(String.init).flatMap { $0.count == 6 && $0.allSatisfy(\.isNumber) ? $0 : nil } ?? ""
            return try codePage(request, language, number: number, code: code, message: nil, status: .ok)
        }
        router.post("/requests/:number/verify") { request, context in
            let language = try requestedLanguage(request)
            if let wait = limiter.acquire(context.clientKey) { throw TooManyRequests(retryAfter: wait) }
            let number = try context.parameters.require("number")
            guard Self.isRequestNumber(number) else { throw noSuchRequest() }
            let form = try await FormInput.read(request, context)
            let t = site.resources.text(language)
            guard csrf.verify(token: form[CSRFTokens.fieldName], cookieNonce: request.cookies[CSRFTokens.cookieName]?.value) else {
                return try codePage(request, language, number: number, code: "", message: t.format("inquiry_expired"), status: .forbidden)
            }
            let code = (form["code"] ?? "").trimmingCharacters(in: .whitespaces)
            guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return try codePage(request, language, number: number, code: "", message: t.format("me_code_format"), status: .unprocessableContent)
            }
            let outcome = try await desk.verify(
                number: number,
                code: code,
                calendar: policy.requests.calendar,
                answerDays: policy.requests.answerBusinessDays,
                confirmation: { address, due, type in receivedMail(to: address, number: number, due: due, type: type) }
            )
            switch outcome {
            case let .verified(_, due, _):
                let model = RequestDoneModel(
                    policy: policy,
                    language: language,
                    t: t,
                    number: number,
                    text: t.format("request_received_text", ["due": language == .ja ? due.japanese : due.english])
                )
                return try site.resources.page("request-done", model, cacheControl: "no-store")
            case let .wrongCode(left):
                return try codePage(
                    request,
                    language,
                    number: number,
                    code: "",
                    message: t.format("me_code_wrong", ["left": "\(left)"]),
                    status: .unprocessableContent
                )
            case .notValid:
                return try codePage(request, language, number: number, code: "", message: t.format("request_code_gone"), status: .gone)
            case .itemMismatch:
                return try codePage(
                    request,
                    language,
                    number: number,
                    code: "",
                    message: t.format("request_item_mismatch", ["email": policy.requests.email]),
                    status: .forbidden
                )
            }
        }
    }

    private func noSuchRequest() -> PublicError {
        PublicError(.notFound, LocalizedText(ja: "その受付番号のご請求はありません。", en: "There is no request with that number."))
    }

    private func formPage(
        _ request: Request,
        _ language: Language,
        values: [String: String],
        problems: [FieldProblem],
        status: HTTPResponse.Status,
        expired: Bool = false
    ) throws -> Response {
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let model = RequestFormModel(
            policy: policy,
            language: language,
            t: site.resources.text(language),
            values: values,
            problems: problems,
            csrfToken: issued.token,
            expired: expired
        )
        var response = try site.resources.page("request-form", model, cacheControl: "no-store")
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }

    private func codePage(
        _ request: Request,
        _ language: Language,
        number: String,
        code: String,
        message: String?,
        status: HTTPResponse.Status
    ) throws -> Response {
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let t = site.resources.text(language)
        let model = RequestCodeModel(
            policy: policy,
            language: language,
            t: t,
            number: number,
            code: code,
            message: message,
            csrfToken: issued.token,
            action: PageChrome.href("/requests/\(number)/verify", language)
        )
        var response = try site.resources.page("request-code", model, cacheControl: "no-store")
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }
}

struct RequestFormModel {
    struct TypeOption {
        let id, label: String
        let checked: Bool
    }
    struct PurposeOption {
        let id, label: String
        let checked: Bool
    }
    struct ErrorItem { let field, message: String }
    let chrome: PageChrome
    let t: [String: String]
    let expired, hasErrors: Bool
    let errors: [ErrorItem]
    let types: [TypeOption]
    let purposes: [PurposeOption]
    let email, name, phone, details: String
    let json, csv: Bool
    let csrfToken, action, intro: String

    init(
        policy: Policy,
        language: Language,
        t: [String: String],
        values: [String: String],
        problems: [FieldProblem],
        csrfToken: String,
        expired: Bool
    ) {
        chrome = PageChrome(
            language: language,
            title: t.format("request_form_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: "/requests/new"
        )
        self.t = t
        self.expired = expired
        let labels = [
            "type": "request_type", "email": "field_email", "name": "field_name", "phone": "field_phone",
            "details": "request_details", "purposes": "request_purposes", "delivery": "request_delivery",
        ]
        errors = problems.map { ErrorItem(field: $0.field, message: InquiryFormModel.message($0, label: t.format(labels[$0.field] ?? $0.field), t)) }
        hasErrors = !errors.isEmpty
        let chosen = values["type"] ?? RequestType.disclosure.rawValue
        types = RequestType.allCases.map { TypeOption(id: $0.rawValue, label: $0.name[language], checked: $0.rawValue == chosen) }
        purposes =
            [PurposeOption(id: SubjectRights.allPurposes, label: t.format("all_purposes"), checked: values["purpose_*"] != nil)]
            + policy.purposes.map { PurposeOption(id: $0.id, label: $0.text[language], checked: values["purpose_\($0.id)"] != nil) }
        email = values["email"] ?? ""
        name = values["name"] ?? ""
        phone = values["phone"] ?? ""
        details = values["details"] ?? ""
        csv = values["delivery"] == DisclosureFormat.csv.rawValue
        json = !csv
        self.csrfToken = csrfToken
        action = PageChrome.href("/requests/new", language)
        intro = t.format(
            "request_form_intro",
            [
                "days": "\(policy.requests.answerBusinessDays)", "officer": policy.officer.title[language],
                "officer_email": policy.officer.email, "requests_email": policy.requests.email,
            ]
        )
    }
}

struct RequestCodeModel {
    let chrome: PageChrome
    let t: [String: String]
    let number, code, csrfToken, action: String
    let message: String?

    init(policy: Policy, language: Language, t: [String: String], number: String, code: String, message: String?, csrfToken: String, action: String) {
        chrome = PageChrome(
            language: language,
            title: t.format("request_code_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: "/requests/\(number)/verify"
        )
        self.t = t
        self.number = number
        self.code = code
        self.message = message
        self.csrfToken = csrfToken
        self.action = action
    }
}

struct RequestDoneModel {
    let chrome: PageChrome
    let t: [String: String]
    let number, text: String

    init(policy: Policy, language: Language, t: [String: String], number: String, text: String) {
        chrome = PageChrome(
            language: language,
            title: t.format("request_received_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: "/requests/\(number)/verify"
        )
        self.t = t
        self.number = number
        self.text = text
    }
}
