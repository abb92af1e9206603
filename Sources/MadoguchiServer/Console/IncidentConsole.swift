import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/console/incidents`: the register of leak incidents (R-BRE-1) for the privacy officer and administrators — the
/// report items as a form, the deadlines and overdue flags, the report dates, the people concerned and their
/// notification by mail, a printable report and its JSON.
extension ConsoleController {
    func addIncidentRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        let register = IncidentRegister(vault: desk.guardian.vault)
        console.get(RouterPath(SitePath.consoleIncidents)) { request, context in
            try await incidentList(register, try context.session, try requestedLanguage(request), values: [:], problems: [], status: .ok)
        }
        console.post(RouterPath(SitePath.consoleIncidents)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            switch IncidentReport.from(form: form, policy: policy, today: LocalDate(japanAt: Date())) {
            case let .success(report):
                let incident = try await register.register(report, actor: session.user.actor)
                return Response.seeOther(PageChrome.href(SitePath.consoleIncident(incident.id), language))
            case let .failure(error):
                return try await incidentList(register, session, language, values: form, problems: error.problems, status: .unprocessableContent)
            }
        }
        console.get(RouterPath(SitePath.consoleIncidentRoute)) { request, context in
            let language = try requestedLanguage(request)
            let incident = try await found(register, try context.parameters.require("id"))
            return try incidentDetail(incident, try context.session, language, values: incident.report.form, problems: [], message: nil, status: .ok)
        }
        console.post(RouterPath(SitePath.consoleIncidentRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            let incident = try await found(register, try context.parameters.require("id"))
            switch IncidentReport.from(form: form, policy: policy, today: LocalDate(japanAt: Date())) {
            case let .success(report):
                try await register.update(id: incident.id, with: report, actor: session.user.actor)
                return Response.seeOther(PageChrome.href(SitePath.consoleIncident(incident.id), language))
            case let .failure(error):
                return try incidentDetail(
                    incident,
                    session,
                    language,
                    values: form,
                    problems: error.problems,
                    message: nil,
                    status: .unprocessableContent
                )
            }
        }
        console.post(RouterPath(SitePath.incidentReportsRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            let incident = try await found(register, try context.parameters.require("id"))
            do {
                guard let stage = IncidentRegister.Stage(rawValue: form["stage"] ?? "") else { throw IncidentError.reportDate }
                guard let day = LocalDate(iso: (form["reported_on"] ?? "").trimmingCharacters(in: .whitespaces)) else {
                    throw IncidentError.reportDate
                }
                try await register.recordReport(id: incident.id, stage: stage, on: day, actor: session.user.actor)
            } catch let error as IncidentError {
                return try incidentDetail(
                    incident,
                    session,
                    language,
                    values: incident.report.form,
                    problems: [],
                    message: error.text[language],
                    status: .unprocessableContent
                )
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleIncident(incident.id), language))
        }
        console.post(RouterPath(SitePath.incidentPeopleRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            let incident = try await found(register, try context.parameters.require("id"))
            let numbers = (form["numbers"] ?? "").split(whereSeparator: { $0.isNewline || $0 == "," || $0 == " " }).map(String.init)
            do {
                try await register.link(id: incident.id, inquiryNumbers: numbers, actor: session.user.actor)
            } catch let error as IncidentError {
                var values = incident.report.form
                values["numbers"] = form["numbers"] ?? ""
                return try incidentDetail(
                    incident,
                    session,
                    language,
                    values: values,
                    problems: [],
                    message: error.text[language],
                    status: .unprocessableContent
                )
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleIncident(incident.id), language))
        }
        console.post(RouterPath(SitePath.incidentNotifyRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let incident = try await found(register, try context.parameters.require("id"))
            let result = try await register.notify(id: incident.id, policy: policy, actor: session.user.actor) { address, incident in
                incidentMail(to: address, incident)
            }
            let after = try await found(register, incident.id)
            let text = site.resources.text(language)
            return try incidentDetail(
                after,
                session,
                language,
                values: after.report.form,
                problems: [],
                message: text.format("incident_notified", ["queued": "\(result.queued)", "unreachable": "\(result.unreachable)"]),
                status: .ok
            )
        }
        console.get(RouterPath(SitePath.incidentPrintRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let incident = try await found(register, try context.parameters.require("id"))
            return try consolePage("console-incident-report", IncidentPrintModel(frame(session, language), incident: incident))
        }
        console.get(RouterPath(SitePath.incidentJSONRoute)) { _, context in
            let incident = try await found(register, try context.parameters.require("id"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let body = try encoder.encode(IncidentExport(incident, policy: policy))
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/json; charset=utf-8", .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"incident-\(incident.number).json\"",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
    }

    private func found(_ register: IncidentRegister, _ id: String) async throws -> Incident {
        guard let incident = try await register.incident(id: id) else {
            throw PublicError(.notFound, IncidentError.notFound.text)
        }
        return incident
    }

    /// The notice to a person concerned (Rules Art. 10): what happened, which items, the cause, possible secondary
    /// harm and what else they should know, with the contact; Japanese then English, like every mail.
    func incidentMail(to address: String, _ incident: Incident) -> OutgoingMail {
        let report = incident.report
        return site.resources.mail(
            to: address,
            subject: "incident_mail_subject",
            body: "incident_mail_body",
            policy: policy,
            baseURL: baseURL
        ) { language in
            let none = language == .ja ? "(なし)" : "(none)"
            func or(_ text: String) -> String { text.isEmpty ? none : text }
            return [
                "number": incident.number,
                "kind": report.kind.text[language] + (report.suspected ? (language == .ja ? "のおそれ" : " (suspected)") : ""),
                "found_on": language == .ja ? report.foundOn.japanese : report.foundOn.english,
                "summary": report.summary,
                "items": report.items.map { policy.field(id: $0)?.label[language] ?? $0 }.joined(separator: language == .ja ? "、" : ", "),
                "cause": or(report.cause),
                "secondary_harm": or(report.secondaryHarm),
                "other": or(report.other),
            ]
        }
    }

    private func incidentList(
        _ register: IncidentRegister,
        _ session: StaffSession,
        _ language: Language,
        values: [String: String],
        problems: [IncidentProblem],
        status: HTTPResponse.Status
    ) async throws -> Response {
        let incidents = try await register.incidents()
        var response = try consolePage(
            "console-incidents",
            IncidentListModel(
                frame(session, language),
                incidents: incidents,
                form: IncidentFormModel(values, problems, policy: policy, language: language)
            )
        )
        response.status = status
        return response
    }

    private func incidentDetail(
        _ incident: Incident,
        _ session: StaffSession,
        _ language: Language,
        values: [String: String],
        problems: [IncidentProblem],
        message: String?,
        status: HTTPResponse.Status
    ) throws -> Response {
        var response = try consolePage(
            "console-incident",
            IncidentDetailModel(
                frame(session, language),
                incident: incident,
                form: IncidentFormModel(values, problems, policy: policy, language: language),
                numbers: values["numbers"] ?? "",
                message: message
            )
        )
        response.status = status
        return response
    }
}

extension IncidentError {
    var problems: [IncidentProblem] {
        if case let .invalid(problems) = self { return problems }
        return [IncidentProblem(field: "summary", text: text)]
    }
}

/// The report form (new and edit): the values as typed, each problem beside its field and in a summary at the top.
struct IncidentFormModel {
    struct Item {
        let id, label: String
        let checked: Bool
    }
    struct Problem {
        let anchor, text: String
    }
    let values: [String: String]
    let checked: [String: Bool]
    let err: [String: String]
    let problems: [Problem]
    let hasProblems: Bool
    let kinds: [Option]
    let items: [Item]

    init(_ values: [String: String], _ problems: [IncidentProblem], policy: Policy, language: Language) {
        self.values = values
        let on = { (name: String) in IncidentReport.isChecked(values[name]) }
        checked = Dictionary(uniqueKeysWithValues: ["suspected", "special_care", "financial_harm", "unlawful_purpose"].map { ($0, on($0)) })
        var errors: [String: String] = [:]
        for problem in problems { errors[problem.field] = problem.text[language] }
        err = errors
        self.problems = problems.map { Problem(anchor: "i-\($0.field.replacingOccurrences(of: "_", with: "-"))", text: $0.text[language]) }
        hasProblems = !problems.isEmpty
        kinds = IncidentKind.allCases.map { Option(id: $0.rawValue, label: $0.text[language], selected: values["kind"] == $0.rawValue) }
        items = policy.fields.map { Item(id: $0.id, label: $0.label[language], checked: on("item_\($0.id)")) }
    }
}

/// One incident as a line of the register: its deadlines and what is late.
struct IncidentRow {
    let number, href, foundOn, kind, affected, reportable, preliminary, final, people: String
    let flags: [String]
    let flagged: Bool

    init(_ incident: Incident, language: Language, t: [String: String], today: LocalDate) {
        let report = incident.report
        let format: (LocalDate) -> String = { language == .ja ? $0.japanese : $0.english }
        number = incident.number
        href = PageChrome.href(SitePath.consoleIncident(incident.id), language)
        foundOn = format(report.foundOn)
        kind = report.kind.text[language] + (report.suspected ? t.format("incident_suspected_suffix") : "")
        affected = report.affected.formatted()
        reportable = report.reportable ? t.format("incident_reportable_yes") : t.format("incident_reportable_no")
        if let deadlines = report.deadlines {
            preliminary =
                incident.preliminaryReportedOn.map { t.format("incident_reported_on", ["date": format($0)]) }
                ?? (incident.finalReportedOn != nil
                    ? t.format("incident_with_final")
                    : t.format("incident_due_between", ["from": format(deadlines.preliminaryFrom), "by": format(deadlines.preliminaryBy)]))
            final =
                incident.finalReportedOn.map { t.format("incident_reported_on", ["date": format($0)]) }
                ?? t.format("incident_due_by", ["by": format(deadlines.finalBy)])
        } else {
            preliminary = "—"
            final = "—"
        }
        people = t.format("incident_people_count", ["linked": "\(incident.linked)", "notified": "\(incident.notified)"])
        flags = incident.flags(today: today).map { $0.text[language] }
        flagged = !flags.isEmpty
    }
}

struct IncidentListModel {
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let action: String
    let rows: [IncidentRow]
    let empty: Bool
    let form: IncidentFormModel

    init(_ frame: ConsoleFrame, incidents: [Incident], form: IncidentFormModel) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("incidents_title"), policy: policy, language: language, t: t, path: SitePath.consoleIncidents)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        action = PageChrome.href(SitePath.consoleIncidents, language)
        let today = LocalDate(japanAt: Date())
        rows = incidents.map { IncidentRow($0, language: language, t: t, today: today) }
        empty = incidents.isEmpty
        self.form = form
    }
}

struct IncidentDetailModel {
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let row: IncidentRow
    let action, reportsAction, peopleAction, notifyAction, printHref, jsonHref, today: String
    let form: IncidentFormModel
    let numbers: String
    let message: String?
    let canNotify: Bool

    init(_ frame: ConsoleFrame, incident: Incident, form: IncidentFormModel, numbers: String, message: String?) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(
            t.format("incident_title", ["number": incident.number]),
            policy: policy,
            language: language,
            t: t,
            path: SitePath.consoleIncident(incident.id)
        )
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        let today = LocalDate(japanAt: Date())
        row = IncidentRow(incident, language: language, t: t, today: today)
        let base = SitePath.consoleIncident(incident.id)
        action = PageChrome.href(base, language)
        reportsAction = PageChrome.href(base + "/reports", language)
        peopleAction = PageChrome.href(base + "/people", language)
        notifyAction = PageChrome.href(base + "/notify", language)
        printHref = PageChrome.href(base + "/report", language)
        jsonHref = base + "/report.json"
        self.today = today.description
        self.form = form
        self.numbers = numbers
        self.message = message
        canNotify = incident.linked > incident.notified
    }
}

/// The report laid out for printing or for copying into the Commission's form.
struct IncidentPrintModel {
    struct Line {
        let label, value: String
    }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let number: String
    let lines: [Line]

    init(_ frame: ConsoleFrame, incident: Incident) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(
            t.format("incident_title", ["number": incident.number]),
            policy: policy,
            language: language,
            t: t,
            path: SitePath.consoleIncident(incident.id) + "/report"
        )
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        number = incident.number
        let report = incident.report
        let format: (LocalDate) -> String = { language == .ja ? $0.japanese : $0.english }
        let yes = t.format("incident_yes")
        let no = t.format("incident_no")
        let row = IncidentRow(incident, language: language, t: t, today: LocalDate(japanAt: Date()))
        lines = [
            Line(label: t.format("incident_operator"), value: policy.company.name[language]),
            Line(label: t.format("incident_found_on"), value: format(report.foundOn)),
            Line(label: t.format("incident_occurred_on"), value: report.occurredOn.map(format) ?? "—"),
            Line(label: t.format("incident_kind"), value: row.kind),
            Line(label: t.format("incident_summary"), value: report.summary),
            Line(
                label: t.format("incident_items"),
                value: report.items.map { policy.field(id: $0)?.label[language] ?? $0 }.joined(separator: language == .ja ? "、" : ", ")
            ),
            Line(label: t.format("incident_affected"), value: row.affected),
            Line(label: t.format("incident_special_care"), value: report.specialCare ? yes : no),
            Line(label: t.format("incident_financial_harm"), value: report.financialHarm ? yes : no),
            Line(label: t.format("incident_unlawful_purpose"), value: report.unlawfulPurpose ? yes : no),
            Line(label: t.format("incident_over_thousand"), value: report.overThousand ? yes : no),
            Line(label: t.format("incident_cause"), value: report.cause),
            Line(label: t.format("incident_secondary_harm"), value: report.secondaryHarm),
            Line(label: t.format("incident_response"), value: report.responseToPeople),
            Line(label: t.format("incident_publication"), value: report.publication),
            Line(label: t.format("incident_prevention"), value: report.prevention),
            Line(label: t.format("incident_other"), value: report.other),
            Line(label: t.format("incident_preliminary"), value: row.preliminary),
            Line(label: t.format("incident_final"), value: row.final),
            Line(label: t.format("incident_people"), value: row.people),
        ]
    }
}

/// The JSON export of an incident: the report items under their names in the Rules, the deadlines and what was done.
struct IncidentExport: Encodable {
    let number: String
    let operatorName: String
    let report: IncidentReport
    let reportable: Bool
    let overThousand: Bool
    let deadlines: IncidentDeadlines?
    let preliminaryReportedOn: LocalDate?
    let finalReportedOn: LocalDate?
    let peopleLinked: Int
    let peopleNotified: Int
    let flags: [String]

    init(_ incident: Incident, policy: Policy) {
        number = incident.number
        operatorName = policy.company.name.ja
        report = incident.report
        reportable = incident.report.reportable
        overThousand = incident.report.overThousand
        deadlines = incident.report.deadlines
        preliminaryReportedOn = incident.preliminaryReportedOn
        finalReportedOn = incident.finalReportedOn
        peopleLinked = incident.linked
        peopleNotified = incident.notified
        flags = incident.flags(today: LocalDate(japanAt: Date())).map(\.rawValue)
    }

    enum CodingKeys: String, CodingKey {
        case number, report, reportable, deadlines, flags
        case operatorName = "operator"
        case overThousand = "over_thousand"
        case preliminaryReportedOn = "preliminary_reported_on"
        case finalReportedOn = "final_reported_on"
        case peopleLinked = "people_linked"
        case peopleNotified = "people_notified"
    }
}
