import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/requests/new` and the code page: the same requests as the API, as forms that work without JavaScript.
extension RightsRequestController {
    func addPageRoutes(to router: Router<SiteRequestContext>, submissions: RouterGroup<SiteRequestContext>) {
        router.get(RouterPath(SitePath.newRequest)) { request, _ in
            let language = try requestedLanguage(request)
            return try formPage(request, language, values: [:], problems: [], status: .ok)
        }
        // A refused token shows the form again with what was typed, so nothing has to be written twice.
        let requestForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, _, form in
            try formPage(request, try requestedLanguage(request), values: form, problems: [], status: .forbidden, expired: true)
        }
        submissions.group().add(middleware: requestForm).post(RouterPath(SitePath.newRequest)) { request, context in
            let language = try requestedLanguage(request)
            let form = try context.form
            let purposes = form.keys.filter { $0.hasPrefix("purpose_") }.map { String($0.dropFirst("purpose_".count)) }.sorted()
            let submission = RightsRequestSubmission(
                type: form["type"] ?? "",
                email: form["email"] ?? "",
                name: form["name"] ?? "",
                phone: form["phone"],
                details: form["details"],
                purposes: form["type"] == RightsRequestType.suspension.rawValue ? purposes : nil,
                delivery: form["type"] == RightsRequestType.disclosure.rawValue || form["type"] == RightsRequestType.provisionRecords.rawValue
                    ? form["delivery"] : nil,
                identifier: request.cookies[policy.informativeData.cookieName].map { String($0.value) }
            )
            switch RightsRequestForm.validate(submission, policy: policy) {
            case let .failure(failure):
                return try formPage(request, language, values: form, problems: failure.problems, status: .unprocessableContent)
            case let .success(valid):
                let emailIndex = BlindIndex.of(email: valid.content.email, key: desk.vault.keys.ring.blindIndexKey)
                if let wait = try await addressLimit.acquire(emailIndex: emailIndex) { throw TooManyRequests(retryAfter: wait) }
                let receipt = try await desk.submit(valid, mail: { number, code in codeMail(to: valid.content.email, number: number, code: code) })
                return Response.seeOther(PageChrome.href(SitePath.requestVerify(receipt.number), language))
            }
        }
        router.get(RouterPath(SitePath.requestVerifyRoute)) { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            guard Self.isRequestNumber(number) else { throw noSuchRequest() }
            // The link in the mail carries the code; the page only fills it in (a GET never changes anything, so
            // mail scanners that follow links cannot use it up).
            let code = request.uri.queryParameters["code"].map(String.init).flatMap { $0.count == 6 && $0.allSatisfy(\.isNumber) ? $0 : nil } ?? ""
            return try codePage(request, language, number: number, code: code, message: nil, status: .ok)
        }
        let codeForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, context, _ in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            guard Self.isRequestNumber(number) else { throw noSuchRequest() }
            let expired = site.resources.text(language).format("inquiry_expired")
            return try codePage(request, language, number: number, code: "", message: expired, status: .forbidden)
        }
        submissions.group().add(middleware: codeForm).post(RouterPath(SitePath.requestVerifyRoute)) { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            guard Self.isRequestNumber(number) else { throw noSuchRequest() }
            let form = try context.form
            let t = site.resources.text(language)
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
        addDownloadRoutes(to: router, submissions: submissions)
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
            action: PageChrome.href(SitePath.requestVerify(number), language)
        )
        var response = try site.resources.page("request-code", model, cacheControl: "no-store")
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }
}
