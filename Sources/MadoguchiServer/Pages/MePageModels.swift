import Foundation
import MadoguchiCore

struct MeFormModel {
    let chrome: PageChrome
    let t: [String: String]
    let message: String?
    let csrfToken, ticket, codeAction, startAction: String

    init(policy: Policy, language: Language, t: [String: String], path: String, message: String?, csrfToken: String, ticket: String) {
        chrome = PageChrome(language: language, title: t.format("me_title"), strings: t, operatorName: policy.company.name[language], path: path)
        self.t = t
        self.message = message
        self.csrfToken = csrfToken
        self.ticket = ticket
        codeAction = PageChrome.href(SitePath.meVerify, language)
        startAction = PageChrome.href(SitePath.meCode, language)
    }
}

struct MeErasedModel {
    struct Kept { let item, reason: String }
    let chrome: PageChrome
    let t: [String: String]
    let kept: [Kept]

    init(policy: Policy, language: Language, t: [String: String]) {
        chrome = PageChrome(
            language: language,
            title: t.format("me_erased_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: SitePath.me
        )
        self.t = t
        kept = ErasureRetention.kept.map { Kept(item: $0.item[language], reason: $0.reason[language]) }
    }
}

struct MeModel {
    struct FieldRow {
        let id, label, value: String
        let isTextarea: Bool
        let maxLength: Int
    }
    struct InquiryView {
        let number, service, created, action, deleteAction: String
        let fields: [FieldRow]
        let answers, forwards: [String]
    }
    struct Line { let text: String }
    struct Kept { let item, reason: String }

    /// A purpose the person answers on this page: consent it needs anyway, or a change of purpose.
    struct PurposeQuestion {
        let id, purpose, state, button, granted: String
        let isChange: Bool
        let items: String
        /// The words the person sees for this purpose, kept with their answer.
        let shownText: String

        init(_ question: PurposeConsents.Question, policy: Policy, language: Language, t: [String: String]) {
            id = question.purpose.id
            purpose = question.purpose.text[language]
            isChange = question.isChange
            items = question.changedFields.map { id in policy.fields.first { $0.id == id }?.label[language] ?? id }
                .joined(separator: language == .ja ? "、" : ", ")
            switch question.granted {
            case true?: state = t.format("me_purpose_state_granted")
            case false?: state = t.format("me_purpose_state_withdrawn")
            case nil: state = t.format("me_purpose_state_none")
            }
            let giving = question.granted != true
            granted = giving ? "yes" : "no"
            button = t.format(giving ? "me_purpose_grant" : "me_purpose_withdraw")
            shownText = purpose + (isChange ? " — " + t.format("me_purpose_change") + " " + items : "")
        }
    }
    let chrome: PageChrome
    let t: [String: String]
    let message: String?
    let known: Bool
    let inquiries: [InquiryView]
    let consents, suspensions, requests: [Line]
    let questions: [PurposeQuestion]
    let consentAction: String
    let kept: [Kept]
    let csrfToken, eraseAction, signOutAction, jsonHref, csvHref: String

    init(
        policy: Policy,
        language: Language,
        t: [String: String],
        document: DisclosureDocument?,
        questions: [PurposeConsents.Question] = [],
        message: String?,
        csrfToken: String
    ) {
        chrome = PageChrome(
            language: language,
            title: t.format("me_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: SitePath.me
        )
        self.t = t
        self.message = message
        known = document != nil
        inquiries = (document?.inquiries ?? []).map { inquiry in
            let service = policy.service(id: inquiry.service)
            let fields = service.map { policy.fields(for: $0) } ?? policy.fields
            return InquiryView(
                number: inquiry.number,
                service: service?.name[language] ?? inquiry.service,
                created: String(inquiry.createdAt.prefix(10)),
                action: PageChrome.href(SitePath.meInquiry(inquiry.number), language),
                deleteAction: PageChrome.href(SitePath.meInquiryDelete(inquiry.number), language),
                fields: fields.map {
                    FieldRow(
                        id: $0.id,
                        label: $0.label[language],
                        value: inquiry.fields[$0.id] ?? "",
                        isTextarea: $0.type == .textarea,
                        maxLength: $0.maxLength
                    )
                },
                answers: inquiry.answers.map(\.text),
                forwards: inquiry.forwards.map { forward in
                    let department = policy.departments.first { $0.id == forward.department }?.name[language] ?? forward.department
                    let items = forward.items.map { id in policy.fields.first { $0.id == id }?.label[language] ?? id }
                    return t.format(
                        "me_forward",
                        [
                            "department": department, "date": String(forward.createdAt.prefix(10)),
                            "items": items.joined(separator: language == .ja ? "、" : ", "),
                        ]
                    )
                }
            )
        }
        func purposeName(_ id: String) -> String {
            id == SubjectRights.allPurposes ? t.format("all_purposes") : (policy.purpose(id: id)?.text[language] ?? id)
        }
        consents = (document?.consents ?? []).map {
            Line(text: "\(purposeName($0.purpose)): \(t.format($0.granted ? "me_granted" : "me_withdrawn")) (\($0.createdAt.prefix(10)))")
        }
        suspensions = (document?.suspensions ?? []).map { Line(text: "\(purposeName($0.purpose)) (\($0.createdAt.prefix(10)))") }
        requests = (document?.requests ?? []).map { request in
            Line(
                text:
                    "\(request.number) \(RightsRequestType(rawValue: request.type)?.name[language] ?? request.type): \(t.format("request_status_\(request.status)"))"
            )
        }
        self.questions = questions.map { PurposeQuestion($0, policy: policy, language: language, t: t) }
        consentAction = PageChrome.href(SitePath.meConsents, language)
        kept = ErasureRetention.kept.map { Kept(item: $0.item[language], reason: $0.reason[language]) }
        self.csrfToken = csrfToken
        eraseAction = PageChrome.href(SitePath.meErase, language)
        signOutAction = PageChrome.href(SitePath.meSignOut, language)
        let suffix = language == .en ? "&lang=en" : ""
        jsonHref = SitePath.meExport + "?format=json" + suffix
        csvHref = SitePath.meExport + "?format=csv" + suffix
    }
}
