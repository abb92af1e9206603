import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/console/contractors`: the register of contractors (R-OUT-1) — each contractor of the policy file with the
/// data entrusted to it, its agreement and supervision as the console's records leave them, what is due, and a form
/// to record an assessment, an agreement or a review. For the privacy officer and administrators; audited.
extension ConsoleController {
    func addContractorRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        let register = ContractorRegister(database: desk.guardian.vault.database)
        console.get(RouterPath(SitePath.consoleContractors)) { request, context in
            try await contractorPage(register, try context.session, try requestedLanguage(request), values: [:], message: nil, status: .ok)
        }
        console.post(RouterPath(SitePath.consoleContractors)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            do {
                _ = try await register.record(
                    contractorID: form["contractor"] ?? "",
                    kind: form["kind"] ?? "",
                    on: form["on"] ?? "",
                    until: form["until"] ?? "",
                    result: form["result"] ?? "",
                    notes: form["notes"] ?? "",
                    policy: policy,
                    actor: session.user.actor
                )
            } catch let error as ContractorRecordError {
                return try await contractorPage(
                    register,
                    session,
                    language,
                    values: form,
                    message: error.text[language],
                    status: .unprocessableContent
                )
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleContractors, language))
        }
    }

    private func contractorPage(
        _ register: ContractorRegister,
        _ session: StaffSession,
        _ language: Language,
        values: [String: String],
        message: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let records = try await register.records()
        var response = try consolePage(
            "console-contractors",
            ContractorPageModel(frame(session, language), records: records, values: values, message: message)
        )
        response.status = status
        return response
    }
}

struct ContractorPageModel {
    struct Record {
        let on, kind, until, result, notes, by: String
    }
    struct Entry {
        let id, name, task, entrusted, agreement, lastReview, assessment: String
        let findings: [String]
        let due: Bool
        let records: [Record]
        let hasRecords: Bool
    }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let action: String
    let message: String?
    let contractors: [Entry]
    let none: Bool
    let contractorOptions, kindOptions, resultOptions: [Option]
    let on, until, notes: String

    init(_ frame: ConsoleFrame, records: [ContractorRecord], values: [String: String], message: String?) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("contractors_title"), policy: policy, language: language, t: t, path: SitePath.consoleContractors)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        action = PageChrome.href(SitePath.consoleContractors, language)
        self.message = message
        let today = LocalDate(japanAt: Date())
        let findings = ContractorCheck.findings(policy, records: records, today: today)
        let format: (LocalDate) -> String = { language == .ja ? $0.japanese : $0.english }
        let separator = language == .ja ? "、" : ", "
        contractors = ContractorRegister.standings(policy, records: records).map { standing in
            let contractor = standing.contractor
            let own = findings.filter { $0.contractor == contractor.id }
            return Entry(
                id: contractor.id,
                name: contractor.name[language],
                task: contractor.task[language],
                entrusted: contractor.entrustedData.map { policy.field(id: $0)?.label[language] ?? $0 }.joined(separator: separator),
                agreement: t.format("contractor_agreement_span", ["from": format(standing.ndaSigned), "until": format(standing.ndaExpires)]),
                lastReview: format(standing.lastReview),
                assessment: standing.assessment.map { "\(format($0.on)): \($0.result?.text[language] ?? "")" }
                    ?? t.format("contractor_no_assessment"),
                findings: own.map { $0.text[language] },
                due: !own.isEmpty,
                records: standing.records.map { record in
                    Record(
                        on: format(record.on),
                        kind: record.kind.text[language],
                        until: record.until.map(format) ?? "",
                        result: record.result?.text[language] ?? "",
                        notes: record.notes,
                        by: record.recordedBy
                    )
                },
                hasRecords: !standing.records.isEmpty
            )
        }
        none = policy.contractors.isEmpty
        contractorOptions = policy.contractors.map { Option(id: $0.id, label: $0.name[language], selected: values["contractor"] == $0.id) }
        kindOptions = ContractorRecord.Kind.allCases.map {
            Option(id: $0.rawValue, label: $0.text[language], selected: values["kind"] == $0.rawValue)
        }
        resultOptions = ContractorRecord.Result.allCases.map {
            Option(id: $0.rawValue, label: $0.text[language], selected: values["result"] == $0.rawValue)
        }
        on = values["on"] ?? today.description
        until = values["until"] ?? ""
        notes = values["notes"] ?? ""
    }
}
