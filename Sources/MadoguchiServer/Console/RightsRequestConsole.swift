import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// The request queue for the privacy officer and administrators (R-DSR-1, R-DSR-3): due dates in business days,
/// overdue and due-today flags, and the actions that carry a request out or refuse it with a reason.
extension ConsoleController {

    func addRequestRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        console.get(RouterPath(SitePath.consoleRequests)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let all = request.uri.queryParameters["all"] == "1"
            let entries = try await requests.queue(statuses: all ? RightsRequestStatus.allCases.filter { $0 != .unverified } : [.open])
            let model = RightsRequestListModel(
                frame(session, language),
                entries: entries,
                all: all,
                today: LocalDate(japanAt: Date())
            )
            return try consolePage("console-requests", model)
        }
        console.get(RouterPath(SitePath.consoleRequestRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            return try await requestDetail(try context.parameters.require("id"), session: session, language: language, message: nil, status: .ok)
        }
        console.post(RouterPath(SitePath.completeRoute)) { request, context in
            let (language, session, detail, form) = try await requestAction(request, context)
            var correction: RightsRequestDesk.Correction?
            if detail.entry.type == .correction, detail.entry.subjectKnown {
                correction = RightsRequestDesk.Correction(
                    inquiryNumber: form["inquiry"] ?? "",
                    fieldID: form["field"] ?? "",
                    value: form["value"] ?? ""
                )
            }
            let t = site.resources.text(language)
            do {
                try await requests.complete(
                    detail,
                    correction: correction,
                    policy: policy,
                    actor: session.user.actor,
                    notice: { content in completionMail(detail, content: content) }
                )
            } catch let error as RightsRequestError {
                let message: String =
                    switch error {
                    case .notOpen: t.format("request_not_open")
                    case let .unknownField(field): t.format("request_unknown_field", ["field": field])
                    case let .unknownInquiry(number): t.format("request_unknown_inquiry", ["number": number])
                    case let .invalidValue(problem): InquiryFormModel.message(problem, label: problem.field, t)
                    case .reasonMissing: t.format("request_reason_missing")
                    case .emailInUse: t.format("email_in_use")
                    }
                return try await requestDetail(
                    detail.entry.id,
                    session: session,
                    language: language,
                    message: message,
                    status: error == .notOpen ? .conflict : .unprocessableContent
                )
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleRequest(detail.entry.id), language))
        }
        console.post(RouterPath(SitePath.refuseRoute)) { request, context in
            let (language, session, detail, form) = try await requestAction(request, context)
            let reason = String((form["reason"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).prefix(4_000))
            let t = site.resources.text(language)
            do {
                try await requests.refuse(
                    detail,
                    reason: reason,
                    actor: session.user.actor,
                    notice: { content in refusalMail(detail, content: content, reason: reason) }
                )
            } catch let error as RightsRequestError {
                return try await requestDetail(
                    detail.entry.id,
                    session: session,
                    language: language,
                    message: t.format(error == .notOpen ? "request_not_open" : "request_reason_missing"),
                    status: error == .notOpen ? .conflict : .unprocessableContent
                )
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleRequest(detail.entry.id), language))
        }
    }

    private func requestAction(
        _ request: Request,
        _ context: ConsoleRequestContext
    ) async throws
        -> (Language, StaffSession, RightsRequestDetail, [String: String])
    {
        let language = try requestedLanguage(request)
        let session = try context.session
        let form = try context.form
        guard let detail = try await requests.open(id: try context.parameters.require("id"), actor: session.user.actor) else {
            throw PublicError(.notFound, LocalizedText(ja: "ご請求が見つかりません。", en: "No such request."))
        }
        return (language, session, detail, form)
    }

    private func requestDetail(
        _ id: String,
        session: StaffSession,
        language: Language,
        message: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        guard let detail = try await requests.open(id: id, actor: session.user.actor) else {
            throw PublicError(.notFound, LocalizedText(ja: "ご請求が見つかりません。", en: "No such request."))
        }
        let model = RightsRequestDetailModel(
            frame(session, language),
            detail: detail,
            message: message,
            today: LocalDate(japanAt: Date())
        )
        var response = try consolePage("console-request", model)
        response.status = status
        return response
    }

    // MARK: Mail to the person (Japanese first, English second; officer and contact named, R-CON-1)

    private func requestMail(
        _ detail: RightsRequestDetail,
        content: RightsRequestContent,
        subjectKey: String,
        bodyKey: String,
        extra: @escaping (Language) -> [String: String]
    ) -> OutgoingMail {
        site.resources.mail(to: content.email, subject: subjectKey, body: bodyKey, policy: policy, baseURL: baseURL) { language in
            ["number": detail.entry.number, "type": detail.entry.type.name[language]].merging(extra(language)) { $1 }
        }
    }

    private func completionMail(_ detail: RightsRequestDetail, content: RightsRequestContent) -> OutgoingMail {
        var outcome: (Language) -> String = { language in
            site.resources.text(language).format("request_done_\(detail.entry.type.rawValue)")
        }
        if !detail.entry.subjectKnown {
            outcome = { language in site.resources.text(language).format("request_done_unknown") }
        } else if detail.entry.type == .disclosure || detail.entry.type == .provisionRecords {
            let expires = Date().addingTimeInterval(RightsRequestDesk.downloadLifetime)
            let link =
                baseURL + SitePath.download(detail.entry.number) + "?token=" + requests.disclosureToken(number: detail.entry.number, expires: expires)
            outcome = { language in
                site.resources.text(language).format(
                    "request_done_download",
                    [
                        "link": link, "until": LocalDate(japanAt: expires).description, "format": content.delivery.rawValue.uppercased(),
                    ]
                )
            }
        } else if detail.entry.type == .erasure {
            outcome = { language in
                site.resources.text(language).format("request_done_erasure") + "\n"
                    + ErasureRetention.kept.map { "- \($0.item[language]): \($0.reason[language])" }.joined(separator: "\n")
            }
        }
        return requestMail(detail, content: content, subjectKey: "request_done_subject", bodyKey: "request_done_body") { ["outcome": outcome($0)] }
    }

    private func refusalMail(_ detail: RightsRequestDetail, content: RightsRequestContent, reason: String) -> OutgoingMail {
        requestMail(detail, content: content, subjectKey: "request_refused_subject", bodyKey: "request_refused_body") { _ in ["reason": reason] }
    }
}

struct RightsRequestListModel {
    struct Row {
        let number, type, status, due, urgency, href: String
        let overdue, dueToday: Bool
    }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let rows: [Row]
    let empty: Bool
    let toggleHref, toggleLabel: String

    init(
        _ frame: ConsoleFrame,
        entries: [RightsRequestDesk.QueueEntry],
        all: Bool,
        today: LocalDate
    ) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("requests_title"), policy: policy, language: language, t: t, path: SitePath.consoleRequests)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        rows = entries.map { entry in
            let urgency = entry.urgency(on: today)
            return Row(
                number: entry.number,
                type: entry.type.name[language],
                status: t.format("request_status_\(entry.status.rawValue)"),
                due: entry.due.map { language == .ja ? $0.japanese : $0.english } ?? "",
                urgency: urgency == .none || urgency == .onTime ? "" : t.format("urgency_\(urgency.rawValue)"),
                href: PageChrome.href(SitePath.consoleRequest(entry.id), language),
                overdue: urgency == .overdue,
                dueToday: urgency == .dueToday
            )
        }
        empty = rows.isEmpty
        toggleHref = PageChrome.href(SitePath.consoleRequests, language) + (all ? "" : (language == .ja ? "?all=1" : "&all=1"))
        toggleLabel = t.format(all ? "requests_show_open" : "requests_show_all")
    }
}

struct RightsRequestDetailModel {
    struct Item { let label, value: String }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let heading, urgency: String
    let items: [Item]
    let message: String?
    let isOpen, isCorrection, known: Bool
    let inquiries: [String]
    let fields: [Option]
    let completeAction, refuseAction, csrfToken, completeLabel: String

    init(
        _ frame: ConsoleFrame,
        detail: RightsRequestDetail,
        message: String?,
        today: LocalDate
    ) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        let entry = detail.entry
        chrome = PageChrome.console(entry.number, policy: policy, language: language, t: t, path: SitePath.consoleRequest(entry.id))
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        heading = "\(entry.type.name[language]) \(entry.number)"
        let level = entry.urgency(on: today)
        urgency = level == .overdue || level == .dueToday ? t.format("urgency_\(level.rawValue)") : ""
        let content = detail.content
        let purposes = content.purposes.map { id in
            id == SubjectRights.allPurposes ? t.format("all_purposes") : (policy.purpose(id: id)?.text[language] ?? id)
        }
        var items = [
            Item(label: t.format("request_status"), value: t.format("request_status_\(entry.status.rawValue)")),
            Item(label: t.format("request_due"), value: entry.due.map { language == .ja ? $0.japanese : $0.english } ?? "—"),
            Item(label: t.format("request_person"), value: t.format(detail.subjectID.isEmpty ? "request_person_unknown" : "request_person_known")),
            Item(label: t.format("field_email"), value: content.email), Item(label: t.format("field_name"), value: content.name),
        ]
        if let phone = content.phone { items.append(Item(label: t.format("field_phone"), value: phone)) }
        if let details = content.details { items.append(Item(label: t.format("request_details"), value: details)) }
        if !purposes.isEmpty { items.append(Item(label: t.format("request_purposes"), value: purposes.joined(separator: ", "))) }
        if entry.type == .disclosure || entry.type == .provisionRecords {
            items.append(Item(label: t.format("request_delivery"), value: content.delivery.rawValue.uppercased()))
        }
        self.items = items
        self.message = message
        isOpen = entry.status == .open
        isCorrection = entry.type == .correction && !detail.subjectID.isEmpty
        known = !detail.subjectID.isEmpty
        inquiries = detail.inquiryNumbers
        fields = policy.fields.map { Option(id: $0.id, label: $0.label[language], selected: false) }
        completeAction = PageChrome.href(SitePath.complete(entry.id), language)
        refuseAction = PageChrome.href(SitePath.refuse(entry.id), language)
        self.csrfToken = csrfToken
        completeLabel = t.format("request_complete_\(entry.type.rawValue)")
    }
}
