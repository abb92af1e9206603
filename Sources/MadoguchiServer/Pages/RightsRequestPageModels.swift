import Foundation
import MadoguchiCore

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
    /// Agents (代理人) send their documents instead of using this form, which proves the person's own address; the
    /// operator's statement on agents follows (R-DSR-6, R-LAW-1).
    let agentNote: String
    let agentPolicy: String?
    /// The fee, when the policy states it.
    let fee: String?

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
            path: SitePath.newRequest
        )
        self.t = t
        self.expired = expired
        let labels = [
            "type": "request_type", "email": "field_email", "name": "field_name", "phone": "field_phone",
            "details": "request_details", "purposes": "request_purposes", "delivery": "request_delivery",
        ]
        errors = problems.map { ErrorItem(field: $0.field, message: InquiryFormModel.message($0, label: t.format(labels[$0.field] ?? $0.field), t)) }
        hasErrors = !errors.isEmpty
        let chosen = values["type"] ?? RightsRequestType.disclosure.rawValue
        types = RightsRequestType.allCases.map { TypeOption(id: $0.rawValue, label: $0.name[language], checked: $0.rawValue == chosen) }
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
        action = PageChrome.href(SitePath.newRequest, language)
        intro = t.format(
            "request_form_intro",
            [
                "days": "\(policy.requests.answerBusinessDays)", "officer": policy.officer.title[language],
                "officer_email": policy.officer.email, "requests_email": policy.requests.email,
            ]
        )
        agentNote = t.format("request_agent_note", ["requests_email": policy.requests.email])
        agentPolicy = policy.requests.agents?[language]
        fee = LawSections.fee(policy.requests, t)
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
            path: SitePath.requestVerify(number)
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
            path: SitePath.requestVerify(number)
        )
        self.t = t
        self.number = number
        self.text = text
    }
}
