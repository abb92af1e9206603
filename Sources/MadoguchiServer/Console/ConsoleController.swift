import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// The staff console: sign-in, the inquiry list and detail (answer, forward, status) and the audit log (R-PUR-3,
/// R-TPP-1, R-SEC-2, R-AUD-1). Server-rendered, no script; every form carries a CSRF token bound to the session.
struct ConsoleController {
    static let sessionCookie = StaffSessionMiddleware.cookieName
    let policy: Policy
    let site: PolicySite
    let staff: StaffDirectory
    let desk: InquiryDesk
    let requests: RightsRequestDesk
    let auditWatch: AuditWatch
    let campaigns: CampaignDesk
    let csrf: CSRFTokens
    let limiter: RateLimiter
    let baseURL: String
    let secureCookies: Bool

    func addRoutes(to router: Router<SiteRequestContext>) {
        addSignInRoutes(to: router)
        // Everything else needs a staff session; every form's token is bound to it.
        let console = router.group(context: ConsoleRequestContext.self)
            .add(middleware: StaffSessionMiddleware(staff: staff))
            .add(middleware: CSRFMiddleware(csrf, nonce: { _, context in try context.session.csrfNonce }))
        addInquiryRoutes(to: console)
        addRequestRoutes(to: console.group().add(middleware: StaffRoleMiddleware { $0.handlesRequests }))
        addAuditRoutes(to: console.group().add(middleware: StaffRoleMiddleware { $0.readsAudit }))
        addPolicyRoutes(to: console)
        addCampaignRoutes(to: console.group().add(middleware: StaffRoleMiddleware { $0.sendsCampaigns }))
        addStatisticsRoutes(to: console.group().add(middleware: StaffRoleMiddleware { $0.readsStatistics }))
        addIncidentRoutes(to: console.group().add(middleware: StaffRoleMiddleware { $0.handlesIncidents }))
        addContractorRoutes(to: console.group().add(middleware: StaffRoleMiddleware { $0.supervisesContractors }))
        addStaffRoutes(to: console.group().add(middleware: StaffRoleMiddleware { $0.managesStaff }))
    }

    /// The console's door, open to visitors: signing in and setting a password from a set-up link.
    private func addSignInRoutes(to router: Router<SiteRequestContext>) {
        router.get(RouterPath(SitePath.console)) { request, _ in
            Response.seeOther(PageChrome.href(SitePath.consoleInquiries, try requestedLanguage(request)))
        }
        router.get(RouterPath(SitePath.signIn)) { request, _ in
            let language = try requestedLanguage(request)
            return try signInPage(request, language, message: nil, email: "", status: .ok)
        }
        let signingIn = router.group().add(middleware: RateLimitMiddleware(name: "sign-in", limiter: limiter))
        let signInForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, _, form in
            let language = try requestedLanguage(request)
            let expired = site.resources.text(language).format("inquiry_expired")
            return try signInPage(request, language, message: expired, email: form["email"] ?? "", status: .forbidden)
        }
        signingIn.group().add(middleware: signInForm).post(RouterPath(SitePath.signIn)) { request, context in
            let language = try requestedLanguage(request)
            let form = try context.form
            let t = site.resources.text(language)
            switch try await staff.signIn(email: form["email"] ?? "", password: form["password"] ?? "", client: context.clientKey) {
            case .invalid:
                return try signInPage(request, language, message: t.format("sign_in_failed"), email: form["email"] ?? "", status: .unauthorized)
            case let .locked(until):
                let minutes = max(1, Int((until.timeIntervalSinceNow / 60).rounded(.up)))
                return try signInPage(
                    request,
                    language,
                    message: t.format("sign_in_locked", ["minutes": "\(minutes)"]),
                    email: form["email"] ?? "",
                    status: .tooManyRequests
                )
            case let .signedIn(token, _):
                var response = Response.seeOther(PageChrome.href(SitePath.consoleInquiries, language))
                response.headers[.setCookie] = cookie(Self.sessionCookie, token, path: SitePath.console, maxAge: Int(staff.sessionLifetime))
                return response
            }
        }
        router.get(RouterPath(SitePath.setup)) { request, _ in
            let language = try requestedLanguage(request)
            let token = request.uri.queryParameters["token"].map(String.init) ?? ""
            return try setupPage(request, language, token: token, message: nil, status: .ok)
        }
        let setupForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, _, form in
            let language = try requestedLanguage(request)
            let expired = site.resources.text(language).format("inquiry_expired")
            return try setupPage(request, language, token: form["token"] ?? "", message: expired, status: .forbidden)
        }
        signingIn.group().add(middleware: setupForm).post(RouterPath(SitePath.setup)) { request, context in
            let language = try requestedLanguage(request)
            let form = try context.form
            let t = site.resources.text(language)
            let token = form["token"] ?? ""
            do {
                _ = try await staff.completeSetup(token: token, password: form["password"] ?? "")
            } catch StaffError.weakPassword, StaffError.passwordTooLong {
                return try setupPage(request, language, token: token, message: t.format("setup_weak"), status: .unprocessableContent)
            } catch StaffError.invalidToken {
                return try setupPage(request, language, token: "", message: t.format("setup_invalid"), status: .gone)
            }
            return try signInPage(request, language, message: t.format("setup_done"), email: "", status: .ok)
        }
    }

    /// The inquiry list and detail, and the actions on one inquiry.
    private func addInquiryRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        console.post(RouterPath(SitePath.signOut)) { request, _ in
            let language = try requestedLanguage(request)
            if let token = request.cookies[Self.sessionCookie]?.value { try await staff.signOut(token: token) }
            var response = Response.seeOther(PageChrome.href(SitePath.signIn, language))
            response.headers[.setCookie] = cookie(Self.sessionCookie, "", path: SitePath.console, maxAge: 0)
            return response
        }
        console.get(RouterPath(SitePath.consoleInquiries)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let query = request.uri.queryParameters
            func value(_ name: String) -> String? { query[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
            var filter = InquiryFilter()
            let badFilter = PublicError(.badRequest, LocalizedText(ja: "絞り込み条件が正しくありません。", en: "The filter is not valid."))
            if let service = value("service") {
                guard policy.service(id: service) != nil else { throw badFilter }
                filter.serviceID = service
            }
            if let status = value("status") {
                guard let parsed = InquiryStatus(rawValue: status) else { throw badFilter }
                filter.status = parsed
            }
            if let department = value("department") {
                guard policy.departments.contains(where: { $0.id == department }) else { throw badFilter }
                filter.departmentID = department
            }
            if let from = value("from") {
                guard let date = LocalDate(iso: from) else { throw badFilter }
                filter.from = ConsoleFormat.startOfDay(date)
            }
            if let until = value("until") {
                guard let date = LocalDate(iso: until) else { throw badFilter }
                filter.until = ConsoleFormat.startOfDay(date).addingTimeInterval(86_400)
            }
            let page = value("page").flatMap(Int.init) ?? 1
            guard page >= 1, page <= 100_000 else { throw badFilter }
            let (items, total) = try await desk.list(filter, for: session.user, page: page)
            let model = InquiryListModel(
                frame(session, language),
                items: items,
                total: total,
                page: page,
                filter: filter,
                query: query.map { (String($0.key), String($0.value)) }
            )
            return try consolePage("console-inquiries", model)
        }
        console.get(RouterPath(SitePath.consoleInquiryRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            return try await detail(try context.parameters.require("id"), session: session, language: language, message: nil, status: .ok)
        }
        console.post(RouterPath(SitePath.answerRoute)) { request, context in
            let (language, session, id, form) = try inquiryAction(request, context)
            let text = (form["answer"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty, text.count <= 5_000 else {
                return try await detail(
                    id,
                    session: session,
                    language: language,
                    message: site.resources.text(language).format("answer_empty"),
                    status: .unprocessableContent
                )
            }
            // A contractor answers only when an address is among the items entrusted to it: the answer goes by mail.
            if session.user.role == .contractor,
                !(desk.contractor(of: session.user)?.entrustedData.contains { id in policy.field(id: id)?.type == .email } ?? false)
            {
                throw PublicError.notAllowed
            }
            try await visible { try await desk.answer(id, text: text, by: session.user, mail: answerMail(text)) }
            return Response.seeOther(PageChrome.href(SitePath.consoleInquiry(id), language))
        }
        console.post(RouterPath(SitePath.forwardRoute)) { request, context in
            let (language, session, id, form) = try inquiryAction(request, context)
            guard session.user.role.seesAllInquiries else { throw PublicError.notAllowed }
            let note = String((form["note"] ?? "").prefix(2_000))
            do {
                try await visible { try await desk.forward(id, to: form["department"] ?? "", note: note, by: session.user, policy: policy) }
            } catch StaffError.unknownDepartment {
                throw PublicError(.badRequest, LocalizedText(ja: "その部署はありません。", en: "There is no such department."))
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleInquiry(id), language))
        }
        // A provision of the person's data to a third party, recorded by the privacy officer or an administrator (R-TPP-2).
        console.post(RouterPath(SitePath.provisionRoute)) { request, context in
            let (language, session, id, form) = try inquiryAction(request, context)
            guard session.user.role.handlesRequests else { throw PublicError.notAllowed }
            let register = ProvisionRegister(database: desk.guardian.vault.database)
            guard try await visible({ try await desk.open(id, by: session.user) }) != nil, let subjectID = try await register.subjectID(ofInquiry: id)
            else { throw PublicError(.notFound, LocalizedText(ja: "お問い合わせが見つかりません。", en: "No such inquiry.")) }
            let t = site.resources.text(language)
            func refused(_ text: String, _ status: HTTPResponse.Status) async throws -> Response {
                try await detail(id, session: session, language: language, message: text, status: status, provisionForm: form)
            }
            let date = (form["provided_on"] ?? "").trimmingCharacters(in: .whitespaces)
            guard date.count == 10, let providedOn = LocalDate(iso: date) else {
                return try await refused(ProvisionError.date.text[language], .unprocessableContent)
            }
            guard let basis = ProvisionBasis(code: form["basis"] ?? "") else {
                return try await refused(t.format("provision_bad_basis"), .unprocessableContent)
            }
            do {
                _ = try await register.record(
                    subjectID: subjectID,
                    recipient: form["recipient"] ?? "",
                    providedOn: providedOn,
                    items: policy.fields.map(\.id).filter { form["item_\($0)"] == "on" },
                    basis: basis,
                    by: session.user.actor,
                    policy: policy,
                    today: LocalDate(japanAt: Date())
                )
            } catch let error as ProvisionError {
                return try await refused(error.text[language], error == .stopped ? .conflict : .unprocessableContent)
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleInquiry(id), language) + "#provisions")
        }
        console.post(RouterPath(SitePath.statusRoute)) { request, context in
            let (language, session, id, form) = try inquiryAction(request, context)
            guard let status = InquiryStatus(rawValue: form["status"] ?? "") else {
                throw PublicError(.badRequest, LocalizedText(ja: "その状態はありません。", en: "There is no such status."))
            }
            try await visible { try await desk.setStatus(id, to: status, by: session.user) }
            return Response.seeOther(PageChrome.href(SitePath.consoleInquiry(id), language))
        }
    }

    /// The audit log with the chain's state (administrators and the privacy officer).
    private func addAuditRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        console.get(RouterPath(SitePath.audit)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let after = request.uri.queryParameters["after"].flatMap { Int($0) } ?? 0
            guard after >= 0 else { throw PublicError(.badRequest, LocalizedText(ja: "番号が正しくありません。", en: "Invalid position.")) }
            let entries = try await AuditLog.entries(in: desk.guardian.vault.database, after: after, limit: 100)
            let chain = try await auditWatch.check()
            let model = AuditPageModel(
                frame(session, language),
                entries: entries,
                after: after,
                chain: chain
            )
            return try consolePage("console-audit", model)
        }
    }

    // MARK: Pages

    private func detail(
        _ id: String,
        session: StaffSession,
        language: Language,
        message: String?,
        status: HTTPResponse.Status,
        provisionForm: [String: String] = [:]
    ) async throws -> Response {
        let opened = try await visible { try await desk.open(id, by: session.user) }
        guard let opened else { throw PublicError(.notFound, LocalizedText(ja: "お問い合わせが見つかりません。", en: "No such inquiry.")) }
        let users = try await staff.users()
        let history = try await desk.history(of: opened.record, by: session.user)
        var provisions: InquiryDetailModel.ProvisionView?
        if session.user.role.handlesRequests {
            let register = ProvisionRegister(database: desk.guardian.vault.database)
            provisions = InquiryDetailModel.ProvisionView(
                frame(session, language),
                inquiryID: id,
                records: try await register.records(subjectID: opened.record.subjectID),
                consents: try await register.standingConsents(subjectID: opened.record.subjectID),
                values: provisionForm
            )
        }
        let model = InquiryDetailModel(
            frame(session, language),
            record: opened.record,
            answers: opened.answers,
            forwards: opened.forwards,
            staff: users,
            history: history,
            provisions: provisions,
            message: message
        )
        var response = try consolePage("console-inquiry", model)
        response.status = status
        return response
    }

    private func signInPage(_ request: Request, _ language: Language, message: String?, email: String, status: HTTPResponse.Status) throws -> Response
    {
        let t = site.resources.text(language)
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let model = SignInModel(
            policy: policy,
            language: language,
            t: t,
            path: SitePath.signIn,
            heading: t.format("sign_in_title"),
            message: message,
            csrfToken: issued.token,
            action: PageChrome.href(SitePath.signIn, language),
            token: nil,
            askEmail: true,
            email: email,
            button: t.format("sign_in_button"),
            passwordAutocomplete: "current-password",
            showForm: true
        )
        var response = try consolePage("console-sign-in", model)
        response.status = status
        response.headers[.setCookie] = cookie(CSRFTokens.cookieName, issued.nonce, path: "/", maxAge: nil)
        return response
    }

    private func setupPage(_ request: Request, _ language: Language, token: String, message: String?, status: HTTPResponse.Status) throws -> Response
    {
        let t = site.resources.text(language)
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let model = SignInModel(
            policy: policy,
            language: language,
            t: t,
            path: SitePath.setup,
            heading: t.format("setup_title"),
            message: message ?? t.format("setup_text"),
            csrfToken: issued.token,
            action: PageChrome.href(SitePath.setup, language),
            token: token,
            askEmail: false,
            email: "",
            button: t.format("setup_button"),
            passwordAutocomplete: "new-password",
            showForm: !token.isEmpty
        )
        var response = try consolePage("console-sign-in", model)
        response.status = status
        response.headers[.setCookie] = cookie(CSRFTokens.cookieName, issued.nonce, path: "/", maxAge: nil)
        return response
    }

    func consolePage(_ template: String, _ model: Any) throws -> Response {
        try site.resources.page(template, model, cacheControl: "no-store")
    }

    // MARK: Helpers

    /// What every action on one inquiry starts with: the language, the session, the inquiry id and the checked form.
    private func inquiryAction(_ request: Request, _ context: ConsoleRequestContext) throws -> (Language, StaffSession, String, [String: String]) {
        (try requestedLanguage(request), try context.session, try context.parameters.require("id"), try context.form)
    }

    /// Runs a desk operation; an inquiry the staff member may not see answers like one that does not exist.
    private func visible<R>(_ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch is NotVisible {
            throw PublicError(.notFound, LocalizedText(ja: "お問い合わせが見つかりません。", en: "No such inquiry."))
        }
    }

    func cookie(_ name: String, _ value: String, path: String, maxAge: Int?) -> String {
        SiteCookie(name: name, value: value, path: path, maxAge: maxAge).header(secure: secureCookies)
    }

    private func answerMail(_ answer: String) -> (InquiryRecord) -> OutgoingMail? {
        let policy = policy
        let resources = site.resources
        let base = baseURL
        return { record in
            guard let email = record.values.first(where: { key, _ in policy.fields.first { $0.id == key }?.type == .email })?.value
            else { return nil }
            return resources.mail(to: email, subject: "mail_answer_subject", body: "mail_answer_body", policy: policy, baseURL: base) { _ in
                ["number": record.number, "answer": answer]
            }
        }
    }
}
