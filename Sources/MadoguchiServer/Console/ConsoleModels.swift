import Foundation
import MadoguchiCore

/// Times and dates on console pages, in Japan time.
enum ConsoleFormat {
    static let tokyo = TimeZone(identifier: "Asia/Tokyo")!

    static func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = tokyo
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!)
    }

    static func startOfDay(_ date: LocalDate) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = tokyo
        return calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day))!
    }

    static func status(_ status: InquiryStatus, _ t: [String: String]) -> String {
        t.format("status_\(status.rawValue)")
    }
}

/// The signed-in member, for the console header.
struct StaffView {
    let signedInAs, inquiriesHref, auditHref, requestsHref, policyHref, campaignsHref, statisticsHref, incidentsHref, csrfToken: String
    let readsAudit: Bool
    let handlesIncidents: Bool
    let supervisesContractors: Bool
    let contractorsHref: String
    let managesStaff: Bool
    let staffHref: String
    let readsStatistics: Bool
    let handlesRequests: Bool
    let sendsCampaigns: Bool

    init(_ session: StaffSession, language: Language, t: [String: String], csrfToken: String) {
        signedInAs = t.format("signed_in_as", ["email": session.user.email, "role": session.user.role.rawValue])
        inquiriesHref = PageChrome.href(SitePath.consoleInquiries, language)
        auditHref = PageChrome.href(SitePath.audit, language)
        requestsHref = PageChrome.href(SitePath.consoleRequests, language)
        policyHref = PageChrome.href(SitePath.consolePolicy, language)
        campaignsHref = PageChrome.href(SitePath.consoleCampaigns, language)
        statisticsHref = PageChrome.href(SitePath.consoleStatistics, language)
        readsStatistics = session.user.role.readsStatistics
        incidentsHref = PageChrome.href(SitePath.consoleIncidents, language)
        handlesIncidents = session.user.role.handlesIncidents
        supervisesContractors = session.user.role.supervisesContractors
        contractorsHref = PageChrome.href(SitePath.consoleContractors, language)
        managesStaff = session.user.role.managesStaff
        staffHref = PageChrome.href(SitePath.consoleStaff, language)
        sendsCampaigns = session.user.role.sendsCampaigns
        readsAudit = session.user.role.readsAudit
        handlesRequests = session.user.role.handlesRequests
        self.csrfToken = csrfToken
    }
}

struct Option {
    let id, label: String
    let selected: Bool
}

struct SignInModel {
    let chrome: PageChrome
    let t: [String: String]
    let heading: String
    let message: String?
    let csrfToken, action: String
    let token: String?
    let askEmail: Bool
    let email, button, passwordAutocomplete: String
    let showForm: Bool
    let staff: StaffView? = nil

    init(
        policy: Policy,
        language: Language,
        t: [String: String],
        path: String,
        heading: String,
        message: String?,
        csrfToken: String,
        action: String,
        token: String?,
        askEmail: Bool,
        email: String,
        button: String,
        passwordAutocomplete: String,
        showForm: Bool
    ) {
        chrome = PageChrome.console(heading, policy: policy, language: language, t: t, path: path)
        self.t = t
        self.heading = heading
        self.message = message
        self.csrfToken = csrfToken
        self.action = action
        self.token = token
        self.askEmail = askEmail
        self.email = email
        self.button = button
        self.passwordAutocomplete = passwordAutocomplete
        self.showForm = showForm
    }
}

struct InquiryListModel {
    struct Row { let href, number, service, received, status, department: String }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let english, hasItems: Bool
    let services, statuses, departments: [Option]
    let from, until, pageText: String
    let items: [Row]
    let prevHref, nextHref: String?

    init(
        _ frame: ConsoleFrame,
        items: [InquirySummary],
        total: Int,
        page: Int,
        filter: InquiryFilter,
        query: [(String, String)]
    ) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("inquiries_title"), policy: policy, language: language, t: t, path: SitePath.consoleInquiries)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        english = language == .en
        services = policy.services.map { Option(id: $0.id, label: $0.name[language], selected: $0.id == filter.serviceID) }
        statuses = InquiryStatus.allCases.map { Option(id: $0.rawValue, label: ConsoleFormat.status($0, t), selected: $0 == filter.status) }
        departments = policy.departments.map { Option(id: $0.id, label: $0.name[language], selected: $0.id == filter.departmentID) }
        let queryValue: (String) -> String = { name in query.first { $0.0 == name }?.1 ?? "" }
        from = LocalDate(iso: queryValue("from"))?.description ?? ""
        until = LocalDate(iso: queryValue("until"))?.description ?? ""
        let names = Dictionary(uniqueKeysWithValues: policy.services.map { ($0.id, $0.name[language]) })
        let departmentNames = Dictionary(uniqueKeysWithValues: policy.departments.map { ($0.id, $0.name[language]) })
        self.items = items.map { item in
            Row(
                href: PageChrome.href(SitePath.consoleInquiry(item.id), language),
                number: item.number,
                service: names[item.serviceID] ?? item.serviceID,
                received: ConsoleFormat.time(item.createdAt),
                status: ConsoleFormat.status(item.status, t),
                department: item.departmentID.flatMap { departmentNames[$0] } ?? "—"
            )
        }
        hasItems = !items.isEmpty
        let pages = max(1, (total + 49) / 50)
        pageText = t.format("page_of", ["page": "\(page)", "pages": "\(pages)", "total": "\(total)"])
        func pageHref(_ number: Int) -> String {
            var components = URLComponents()
            components.path = SitePath.consoleInquiries
            components.queryItems =
                query.filter { $0.0 != "page" }.map { URLQueryItem(name: $0.0, value: $0.1) }
                + [URLQueryItem(name: "page", value: "\(number)")]
            return components.string ?? SitePath.consoleInquiries
        }
        prevHref = page > 1 ? pageHref(page - 1) : nil
        nextHref = page < pages ? pageHref(page + 1) : nil
    }
}

struct InquiryDetailModel {
    struct FieldRow { let label, value: String }
    struct AnswerRow { let at, staff, text: String }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let heading, service, received, status, department, csrfToken: String
    let answerAction, forwardAction, statusAction: String
    let message: String?
    let fields: [FieldRow]
    let answers: [AnswerRow]
    let forwards: [String]
    let canForward: Bool
    let departmentOptions, statusOptions: [Option]
    /// The person's earlier inquiries, opened for match-history (R-PUR-4); nil when not shown to this member.
    let history: HistoryView?
    /// The person's provision records and the form to record one (R-TPP-2); nil for members who do not handle them.
    let provisions: ProvisionView?

    struct ProvisionView {
        struct Row { let date, recipient, items, basis: String }
        let rows: [Row]
        let none: Bool
        let action, recipient, date: String
        let itemOptions, basisOptions: [Option]

        init(
            _ frame: ConsoleFrame,
            inquiryID: String,
            records: [ProvisionRecord],
            consents: [(id: String, purpose: String, givenAt: Date)],
            values: [String: String]
        ) {
            let (policy, language, t) = (frame.policy, frame.language, frame.t)
            let labels = Dictionary(uniqueKeysWithValues: policy.fields.map { ($0.id, $0.label[language]) })
            func basisLabel(_ basis: ProvisionBasis) -> String {
                switch basis {
                case let .consent(id):
                    let consent = consents.first { $0.id == id }
                    return t.format("provision_basis_consent", ["purpose": consent.flatMap { policy.purpose(id: $0.purpose)?.text[language] } ?? id])
                case let .legal(ground): return ground.text[language]
                }
            }
            rows = records.map { record in
                Row(
                    date: record.providedOn.description,
                    recipient: record.recipient,
                    items: record.items.map { labels[$0] ?? $0 }.joined(separator: language == .ja ? "、" : ", "),
                    basis: basisLabel(record.basis)
                )
            }
            none = records.isEmpty
            action = PageChrome.href(SitePath.consoleInquiry(inquiryID) + "/provisions", language)
            recipient = values["recipient"] ?? ""
            date = values["provided_on"] ?? ""
            itemOptions = policy.fields.map { Option(id: $0.id, label: $0.label[language], selected: values["item_\($0.id)"] == "on") }
            let bases = consents.map { ProvisionBasis.consent($0.id) } + LegalGround.allCases.map { ProvisionBasis.legal($0) }
            basisOptions = bases.map { Option(id: $0.code, label: basisLabel($0), selected: values["basis"] == $0.code) }
        }
    }

    struct HistoryView {
        struct Entry {
            let number, service, received: String
            let fields: [FieldRow]
            let refused: String?
        }
        let entries: [Entry]
        let none: Bool
    }

    init(
        _ frame: ConsoleFrame,
        record: InquiryRecord,
        answers: [Answer],
        forwards: [Forwarding],
        staff users: [StaffUser],
        history: [InquiryDesk.Earlier]? = nil,
        provisions: ProvisionView? = nil,
        message: String?
    ) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        heading = t.format("inquiry_detail_title", ["number": record.number])
        let path = SitePath.consoleInquiry(record.id)
        chrome = PageChrome.console(heading, policy: policy, language: language, t: t, path: path)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        self.csrfToken = csrfToken
        self.message = message
        service = policy.service(id: record.serviceID)?.name[language] ?? record.serviceID
        received = ConsoleFormat.time(record.createdAt)
        status = ConsoleFormat.status(record.status, t)
        let departmentNames = Dictionary(uniqueKeysWithValues: policy.departments.map { ($0.id, $0.name[language]) })
        let emails = Dictionary(uniqueKeysWithValues: users.map { ($0.id, $0.email) })
        let labels = Dictionary(uniqueKeysWithValues: policy.fields.map { ($0.id, $0.label[language]) })
        department = forwards.last.flatMap { departmentNames[$0.departmentID] } ?? "—"
        answerAction = PageChrome.href(path + "/answer", language)
        forwardAction = PageChrome.href(path + "/forward", language)
        statusAction = PageChrome.href(path + "/status", language)
        let choiceLabels = Dictionary(
            policy.fields.flatMap { field in field.choices.map { ("\(field.id)/\($0.id)", $0.label[language]) } },
            uniquingKeysWith: { first, _ in first }
        )
        fields = policy.fields.compactMap { field in
            record.values[field.id].map { FieldRow(label: field.label[language], value: choiceLabels["\(field.id)/\($0)"] ?? $0) }
        }
        self.answers = answers.map { AnswerRow(at: ConsoleFormat.time($0.at), staff: emails[$0.staffID] ?? $0.staffID, text: $0.text) }
        self.forwards = forwards.map { forward in
            t.format(
                "forward_record",
                [
                    "at": ConsoleFormat.time(forward.at), "staff": emails[forward.staffID] ?? forward.staffID,
                    "department": departmentNames[forward.departmentID] ?? forward.departmentID,
                    "items": forward.items.map { labels[$0] ?? $0 }.joined(separator: language == .ja ? "、" : ", "),
                ]
            ) + (forward.note.isEmpty ? "" : " — \(forward.note)")
        }
        canForward = session.user.role.seesAllInquiries
        departmentOptions = policy.departments.map { Option(id: $0.id, label: $0.name[language], selected: false) }
        statusOptions = InquiryStatus.allCases.map { Option(id: $0.rawValue, label: ConsoleFormat.status($0, t), selected: $0 == record.status) }
        self.provisions = provisions
        self.history = history.map { earlier in
            HistoryView(
                entries: earlier.map { entry in
                    HistoryView.Entry(
                        number: entry.number,
                        service: policy.service(id: entry.serviceID)?.name[language] ?? entry.serviceID,
                        received: ConsoleFormat.time(entry.createdAt),
                        fields: policy.fields.compactMap { field in entry.values[field.id].map { FieldRow(label: field.label[language], value: $0) }
                        },
                        refused: entry.refused.map { t.format("history_refused_\($0.rawValue)") }
                    )
                },
                none: earlier.isEmpty
            )
        }
    }
}

struct AuditPageModel {
    struct Row {
        let sequence: Int
        let at, actor, action, record, purpose, detail: String
    }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let chain: String
    /// When the whole chain was last recomputed (the page itself checks only the entries added since).
    let wholeChain: String
    let entries: [Row]
    let prevHref, nextHref: String?

    init(
        _ frame: ConsoleFrame,
        entries: [AuditEntry],
        after: Int,
        chain status: AuditWatch.Status
    ) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("audit_title"), policy: policy, language: language, t: t, path: SitePath.audit)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        switch status.verification {
        case let .intact(count): chain = t.format("chain_intact", ["count": "\(count)"])
        case let .broken(sequence, reason):
            chain = t.format("chain_broken", ["seq": "\(sequence)", "reason": reason.worded(t)])
        }
        wholeChain = status.wholeChainCheckedAt.map { t.format("chain_whole_checked", ["at": ConsoleFormat.time($0)]) } ?? ""
        self.entries = entries.map {
            Row(
                sequence: $0.sequence,
                at: $0.at,
                actor: $0.event.actor,
                action: $0.event.action,
                record: $0.event.record ?? "",
                purpose: $0.event.purpose ?? "",
                detail: $0.event.detail
            )
        }
        let suffix = language == .en ? "&lang=en" : ""
        prevHref = after > 0 ? SitePath.audit + "?after=\(max(0, after - 100))\(suffix)" : nil
        nextHref = entries.count == 100 ? SitePath.audit + "?after=\(entries.last!.sequence)\(suffix)" : nil
    }
}

extension AuditBreak {
    /// Why the entry breaks the chain, in the language of `strings` (`SiteResources.text`); the console page and
    /// `madoguchi audit verify` say it in the same words.
    public func worded(_ strings: [String: String]) -> String {
        switch self {
        case let .missing(next?): strings.format("chain_reason_missing_before", ["next": "\(next)"])
        case .missing(nil): strings.format("chain_reason_missing")
        case .link: strings.format("chain_reason_link")
        case .content: strings.format("chain_reason_content")
        case .changedSinceChecked: strings.format("chain_reason_changed")
        case .unkeyed: strings.format("chain_reason_unkeyed")
        case .keyNeeded: strings.format("chain_reason_key_needed")
        }
    }
}

/// What every signed-in console page is drawn with: the policy, the member, the language, its strings and a form
/// token bound to the session.
struct ConsoleFrame {
    let policy: Policy
    let session: StaffSession
    let language: Language
    let t: [String: String]
    let csrfToken: String
}

extension ConsoleController {
    /// The frame of a signed-in page for `session` in `language`.
    func frame(_ session: StaffSession, _ language: Language) -> ConsoleFrame {
        ConsoleFrame(
            policy: policy,
            session: session,
            language: language,
            t: site.resources.text(language),
            csrfToken: csrf.issue(nonce: session.csrfNonce).token
        )
    }
}
