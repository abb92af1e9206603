import MadoguchiCore

/// The view of an inquiry form: fields in declaration order with the person's input and any error beside each.
struct InquiryFormModel {
    struct ChoiceView {
        let id, label: String
        let selected: Bool
    }
    struct FieldView {
        let id, label, value, inputType, autocomplete: String
        let required, isTextarea, isChoice, isInput: Bool
        let maxLength: Int
        let error: String?
        let choices: [ChoiceView]
    }
    struct ErrorItem { let field, message: String }

    let chrome: PageChrome
    let t: [String: String]
    let heading, action, csrfToken, missingItemsConsequence, consentLabel: String
    let expired, hasErrors, hasOptionalPurposes, consentChecked: Bool
    let errors: [ErrorItem]
    let purposes: [String]
    let fields: [FieldView]

    init(
        policy: Policy,
        service: Service,
        language: Language,
        t: [String: String],
        values: [String: String],
        problems: [FieldProblem],
        consent: Bool,
        csrfToken: String,
        expired: Bool
    ) {
        let path = SitePath.inquiry(service.id)
        heading = t.format("inquiry_title", ["service": service.name[language]])
        chrome = PageChrome(
            language: language,
            title: heading + " | " + policy.company.name[language],
            strings: t,
            operatorName: policy.company.name[language],
            path: path
        )
        self.t = t
        action = PageChrome.href(path, language)
        self.csrfToken = csrfToken
        self.expired = expired
        missingItemsConsequence = policy.missingItemsConsequence[language]
        let fields = policy.fields(for: service)
        let byID = Dictionary(uniqueKeysWithValues: fields.map { ($0.id, $0) })
        errors = problems.map { problem in
            ErrorItem(field: problem.field, message: Self.message(problem, label: byID[problem.field]?.label[language] ?? problem.field, t))
        }
        hasErrors = !errors.isEmpty
        let served = Set(fields.flatMap(\.purposes))
        purposes = policy.purposes.filter { served.contains($0.id) && !$0.requiresConsent }.map { $0.text[language] }
        hasOptionalPurposes = policy.optionalPurposes.contains { served.contains($0.id) }
        consentLabel = Self.consentLabel(policy: policy, service: service, language: language, t: t)
        consentChecked = consent
        let messages = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { first, _ in first })
        self.fields = fields.map { field in
            let value = values[field.id] ?? ""
            let (inputType, autocomplete): (String, String) =
                switch field.type {
                case .name: ("text", "name")
                case .email: ("email", "email")
                case .phone: ("tel", "tel")
                default: ("text", "off")
                }
            return FieldView(
                id: field.id,
                label: field.label[language],
                value: value,
                inputType: inputType,
                autocomplete: autocomplete,
                required: field.required,
                isTextarea: field.type == .textarea,
                isChoice: field.type == .choice,
                isInput: field.type != .textarea && field.type != .choice,
                maxLength: field.maxLength,
                error: messages[field.id],
                choices: field.choices.map { ChoiceView(id: $0.id, label: $0.label[language], selected: $0.id == value) }
            )
        }
    }

    /// The message for one refused field, in the language of `t`.
    /// The words of the optional consent box on `service`'s form, which the consent record keeps (R-PUR-5).
    static func consentLabel(policy: Policy, service: Service, language: Language, t: [String: String]) -> String {
        let served = Set(policy.fields(for: service).flatMap(\.purposes))
        let optional = policy.optionalPurposes.filter { served.contains($0.id) }
        return t.format("inquiry_consent_label", ["purposes": optional.map { $0.text[language] }.joined(separator: language == .ja ? "、" : "; ")])
    }

    static func message(_ problem: FieldProblem, label: String, _ t: [String: String]) -> String {
        t.format("err_\(problem.code.rawValue)", ["label": label, "limit": problem.limit.map(String.init) ?? ""])
    }
}
