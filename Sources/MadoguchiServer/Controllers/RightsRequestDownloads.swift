import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// The person's download of a completed disclosure (R-DSR-4). The link in the completion mail works for 14 days,
/// but it is not enough on its own: it leads to a page that mails a fresh one-time code to the request's address,
/// and only that code opens the download. A link copied from a proxy log, a browser history or a forwarded mail
/// gives nobody the document (issue #21). The link's token travels in the forms' bodies after the first page.
extension RightsRequestController {
    func addDownloadRoutes(to router: Router<SiteRequestContext>, submissions: RouterGroup<SiteRequestContext>) {
        router.get(RouterPath(SitePath.downloadRoute)) { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            let token = request.uri.queryParameters["token"].map(String.init) ?? ""
            let link = try await downloadLink(number: number, token: token)
            return try downloadPage(request, language, link: link, token: token, ticket: nil, message: nil, status: .ok)
        }
        // A refused form token shows the first step again: nothing was sent or spent.
        let downloadForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, context, form in
            try await expiredForm(request, context, form)
        }
        submissions.group().add(middleware: downloadForm).post(RouterPath(SitePath.downloadCodeRoute)) { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            let form = try context.form
            let token = String((form["token"] ?? "").prefix(128))
            let link = try await downloadLink(number: number, token: token)
            if let wait = try await addressLimit.acquire(emailIndex: link.emailIndex) { throw TooManyRequests(retryAfter: wait) }
            let t = site.resources.text(language)
            switch try await desk.issueDownloadCode(link, mail: { address, code in downloadCodeMail(to: address, number: number, code: code) }) {
            case let .sent(ticket):
                return try downloadPage(request, language, link: link, token: token, ticket: ticket, message: nil, status: .ok)
            case .limitReached:
                let message = t.format("download_limit", ["limit": "\(RightsRequestDesk.downloadCodeLimit)", "email": policy.requests.email])
                return try downloadPage(request, language, link: link, token: token, ticket: nil, message: message, status: .tooManyRequests)
            case .notValid:
                throw Self.linkNotValid
            }
        }
        submissions.group().add(middleware: downloadForm).post(RouterPath(SitePath.downloadRoute)) { request, context in
            let language = try requestedLanguage(request)
            let number = try context.parameters.require("number")
            let form = try context.form
            let t = site.resources.text(language)
            let token = String((form["token"] ?? "").prefix(128))
            let ticket = String((form["ticket"] ?? "").prefix(64))
            let link = try await downloadLink(number: number, token: token)
            // The code field again, with what was wrong.
            let retry = { (message: String) in
                try downloadPage(request, language, link: link, token: token, ticket: ticket, message: message, status: .unprocessableContent)
            }
            let code = (form["code"] ?? "").trimmingCharacters(in: .whitespaces)
            guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else { return try retry(t.format("me_code_format")) }
            switch try await desk.enterDownloadCode(link, ticket: ticket, code: code) {
            case .granted:
                return try await disclosureFile(link)
            case let .wrongCode(left):
                return try retry(t.format("me_code_wrong", ["left": "\(left)"]))
            case .notValid:
                return try downloadPage(request, language, link: link, token: token, ticket: nil, message: t.format("me_code_gone"), status: .gone)
            }
        }
    }

    static let linkNotValid = PublicError(
        .notFound,
        LocalizedText(ja: "このリンクは無効か、有効期限が切れています。窓口までご連絡ください。", en: "This link is not valid or has expired. Please contact us.")
    )

    private func downloadLink(number: String, token: String) async throws -> RightsRequestDesk.DownloadLink {
        guard Self.isRequestNumber(number), let link = try await desk.downloadLink(number: number, token: token) else { throw Self.linkNotValid }
        return link
    }

    /// A form whose CSRF token expired: the first step again, when the link itself is still good.
    private func expiredForm(_ request: Request, _ context: SiteRequestContext, _ form: [String: String]) async throws -> Response {
        let language = try requestedLanguage(request)
        let number = try context.parameters.require("number")
        let token = String((form["token"] ?? "").prefix(128))
        // A refused form is a 403 whatever else is wrong with it (the link is checked only to show the page again).
        guard Self.isRequestNumber(number), let link = try await desk.downloadLink(number: number, token: token) else {
            throw PublicError.formExpired
        }
        let message = site.resources.text(language).format("inquiry_expired")
        return try downloadPage(request, language, link: link, token: token, ticket: nil, message: message, status: .forbidden)
    }

    /// The document itself, audited as the person's access for this request.
    private func disclosureFile(_ link: RightsRequestDesk.DownloadLink) async throws -> Response {
        let rights = SubjectRights(vault: desk.vault)
        let document =
            try await rights.disclosure(subjectID: link.subjectID, actor: "person", source: "request:\(link.number)") ?? DisclosureDocument.empty()
        let (body, type, ext): (Data, String, String) =
            switch link.format {
            case .json: (try document.json(), "application/json", "json")
            case .csv: (Data(document.csv().utf8), "text/csv; charset=utf-8", "csv")
            }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"disclosure-\(link.number).\(ext)\"",
            ],
            body: .init(byteBuffer: .init(bytes: body))
        )
    }

    /// The first step (`ticket` nil: a button that mails a code) or the second (the code field).
    private func downloadPage(
        _ request: Request,
        _ language: Language,
        link: RightsRequestDesk.DownloadLink,
        token: String,
        ticket: String?,
        message: String?,
        status: HTTPResponse.Status
    ) throws -> Response {
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let model = RequestDownloadModel(
            policy: policy,
            language: language,
            t: site.resources.text(language),
            number: link.number,
            format: link.format,
            token: token,
            ticket: ticket,
            message: message,
            csrfToken: issued.token
        )
        var response = try site.resources.page("request-download", model, cacheControl: "no-store")
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }

    func downloadCodeMail(to address: String, number: String, code: String) -> OutgoingMail {
        site.resources.mail(to: address, subject: "download_code_subject", body: "download_code_body", policy: policy, baseURL: baseURL) { _ in
            ["number": number, "code": code]
        }
    }
}

struct RequestDownloadModel {
    let chrome: PageChrome
    let t: [String: String]
    let number, intro, token, csrfToken, sendAction, codeAction: String
    /// Set on the second step.
    let ticket: String?
    let message: String?

    init(
        policy: Policy,
        language: Language,
        t: [String: String],
        number: String,
        format: DisclosureFormat,
        token: String,
        ticket: String?,
        message: String?,
        csrfToken: String
    ) {
        var chrome = PageChrome(
            language: language,
            title: t.format("download_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: SitePath.download(number)
        )
        // The other language's page needs the link's token, which only this page's own URL carries.
        let other: Language = language == .ja ? .en : .ja
        chrome.langSwitchHref = PageChrome.href(SitePath.download(number), other) + (other == .ja ? "?" : "&") + "token=" + token
        self.chrome = chrome
        self.t = t
        self.number = number
        intro = t.format("download_intro", ["format": format.rawValue.uppercased()])
        self.token = token
        self.ticket = ticket
        self.message = message
        self.csrfToken = csrfToken
        sendAction = PageChrome.href(SitePath.downloadCode(number), language)
        codeAction = PageChrome.href(SitePath.download(number), language)
    }
}
