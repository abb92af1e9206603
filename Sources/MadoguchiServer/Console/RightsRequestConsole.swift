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
            return try await requestList(try context.session, language, all: request.uri.queryParameters["all"] == "1", values: [:], messages: [])
        }
        // A request that arrived by e-mail, post, phone or in person, entered by staff into the same queue (R-DSR-6).
        console.post(RouterPath(SitePath.consoleRequests)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            let t = site.resources.text(language)
            var messages: [String] = []
            let receivedOn = LocalDate(iso: (form["received_on"] ?? "").trimmingCharacters(in: .whitespaces)).flatMap {
                RightsRequestDesk.acceptsReceipt(on: $0, today: LocalDate(japanAt: Date())) ? $0 : nil
            }
            if receivedOn == nil { messages.append(RequestEntryError.receivedOn.text[language]) }
            let channel = RequestChannel(rawValue: form["channel"] ?? "")
            if channel == nil { messages.append(RequestEntryError.channel.text[language]) }
            let check = IdentityCheck(rawValue: form["identity_check"] ?? "")
            if check == nil { messages.append(RequestEntryError.identityCheck.text[language]) }
            let purposes = (policy.purposes.map(\.id) + [SubjectRights.allPurposes]).filter { form["purpose_\($0)"] == "on" }
            let submission = RightsRequestSubmission(
                type: form["type"] ?? "",
                email: form["email"] ?? "",
                name: form["name"] ?? "",
                phone: form["phone"],
                details: form["details"],
                purposes: purposes.isEmpty ? nil : purposes
            )
            var validated: ValidatedRightsRequest?
            switch RightsRequestForm.validate(submission, policy: policy) {
            case let .success(value): validated = value
            case let .failure(problems):
                messages += problems.problems.map { InquiryFormModel.message($0, label: t.format("request_entry_\($0.field)"), t) }
            }
            guard messages.isEmpty, let receivedOn, let channel, let check, let validated else {
                return try await requestList(session, language, all: false, values: form, messages: messages)
            }
            do {
                let entered = try await requests.enter(
                    validated,
                    receivedOn: receivedOn,
                    channel: channel,
                    identityCheck: check,
                    calendar: policy.requests.calendar,
                    answerDays: policy.requests.answerBusinessDays,
                    actor: session.user.actor,
                    confirmation: { address, number, due, type in
                        site.resources.requestReceivedMail(to: address, number: number, due: due, type: type, policy: policy, baseURL: baseURL)
                    }
                )
                return Response.seeOther(PageChrome.href(SitePath.consoleRequest(entered.id), language))
            } catch let error as RequestEntryError {
                return try await requestList(session, language, all: false, values: form, messages: [error.text[language]])
            }
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

    private func requestList(
        _ session: StaffSession,
        _ language: Language,
        all: Bool,
        values: [String: String],
        messages: [String]
    ) async throws -> Response {
        let entries = try await requests.queue(statuses: all ? RightsRequestStatus.allCases.filter { $0 != .unverified } : [.open])
        let model = RightsRequestListModel(
            frame(session, language),
            entries: entries,
            all: all,
            today: LocalDate(japanAt: Date()),
            values: values,
            messages: messages
        )
        var response = try consolePage("console-requests", model)
        if !messages.isEmpty { response.status = .unprocessableContent }
        return response
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
        let number, type, status, received, due, urgency, href: String
        let overdue, dueToday, pastLegal: Bool
        let legalNote: String
    }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let rows: [Row]
    let empty: Bool
    let toggleHref, toggleLabel: String
    // The entry form for requests received outside the site.
    let action: String
    let messages: [String]
    let hasMessages: Bool
    let types, channels, checks: [Option]
    let purposes: [Option]
    let receivedOn, email, name, phone, details: String

    init(
        _ frame: ConsoleFrame,
        entries: [RightsRequestDesk.QueueEntry],
        all: Bool,
        today: LocalDate,
        values: [String: String] = [:],
        messages: [String] = []
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
                received: entry.receivedAt.map { LocalDate(japanAt: $0) }.map { language == .ja ? $0.japanese : $0.english } ?? "",
                due: entry.due.map { language == .ja ? $0.japanese : $0.english } ?? "",
                urgency: urgency == .none || urgency == .onTime ? "" : t.format("urgency_\(urgency.rawValue)"),
                href: PageChrome.href(SitePath.consoleRequest(entry.id), language),
                overdue: urgency == .overdue,
                dueToday: urgency == .dueToday,
                pastLegal: entry.pastLegalMarker(on: today),
                legalNote: t.format("request_past_legal")
            )
        }
        empty = rows.isEmpty
        toggleHref = PageChrome.href(SitePath.consoleRequests, language) + (all ? "" : (language == .ja ? "?all=1" : "&all=1"))
        toggleLabel = t.format(all ? "requests_show_open" : "requests_show_all")
        action = PageChrome.href(SitePath.consoleRequests, language)
        self.messages = messages
        hasMessages = !messages.isEmpty
        types = RightsRequestType.allCases.map { Option(id: $0.rawValue, label: $0.name[language], selected: values["type"] == $0.rawValue) }
        channels = RequestChannel.allCases.map { Option(id: $0.rawValue, label: $0.text[language], selected: values["channel"] == $0.rawValue) }
        checks = IdentityCheck.allCases.map {
            Option(id: $0.rawValue, label: $0.text[language], selected: values["identity_check"] == $0.rawValue)
        }
        purposes =
            policy.purposes.map { Option(id: $0.id, label: $0.text[language], selected: values["purpose_\($0.id)"] == "on") }
            + [Option(id: SubjectRights.allPurposes, label: t.format("all_purposes"), selected: values["purpose_*"] == "on")]
        receivedOn = values["received_on"] ?? today.description
        email = values["email"] ?? ""
        name = values["name"] ?? ""
        phone = values["phone"] ?? ""
        details = values["details"] ?? ""
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
            Item(
                label: t.format("request_received_on"),
                value: entry.receivedAt.map { LocalDate(japanAt: $0) }.map { language == .ja ? $0.japanese : $0.english } ?? "—"
            ),
            Item(
                label: t.format("request_verified"),
                value: entry.verifiedAt.map { ConsoleFormat.time($0) } ?? t.format("request_verification_pending")
            ),
            Item(label: t.format("request_due"), value: entry.due.map { language == .ja ? $0.japanese : $0.english } ?? "—"),
            Item(
                label: t.format("request_legal_marker"),
                value: (entry.legalMarker.map { language == .ja ? $0.japanese : $0.english } ?? "—")
                    + (entry.pastLegalMarker(on: today) ? " — " + t.format("request_past_legal") : "")
            ),
            Item(
                label: t.format("request_channel"),
                value: entry.channel.flatMap(RequestChannel.init(rawValue:))?.text[language] ?? t.format("request_channel_web")
            ),
            Item(
                label: t.format("request_identity_check"),
                value: detail.identityCheck.flatMap(IdentityCheck.init(rawValue:))?.text[language] ?? t.format("request_identity_code")
            ),
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
