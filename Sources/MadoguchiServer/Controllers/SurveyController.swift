import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// A survey's answer page (R-PUR-5): the link in the person's survey mail opens their own page; the signed token in
/// the path says which survey and whom, so no sign-in is needed and the link works only for that person and survey.
/// The form is CSRF-protected (form cookie) and rate-limited like every public form.
struct SurveyController {
    let policy: Policy
    let site: PolicySite
    let surveys: SurveyDesk
    let key: SymmetricKey
    let csrf: CSRFTokens
    let limiter: RateLimiter
    let secureCookies: Bool

    func addRoutes(to router: Router<SiteRequestContext>) {
        let limited = router.group().add(middleware: RateLimitMiddleware(name: "surveys", limiter: limiter))
        limited.get(RouterPath(SitePath.surveyRoute)) { request, context in
            let language = try requestedLanguage(request)
            let token = try context.parameters.require("token")
            let invitation = try await surveys.invitation(token: token, key: key)
            return try page(
                request,
                language,
                token: token,
                invitation: invitation,
                form: [:],
                message: nil,
                status: invitation == nil ? .notFound : .ok
            )
        }
        let answerForm = CSRFMiddleware<SiteRequestContext>(csrf) { request, context, form in
            let language = try requestedLanguage(request)
            let token = try context.parameters.require("token")
            let invitation = try await surveys.invitation(token: token, key: key)
            let expired = site.resources.text(language).format("inquiry_expired")
            return try page(request, language, token: token, invitation: invitation, form: form, message: expired, status: .forbidden)
        }
        limited.group().add(middleware: answerForm).post(RouterPath(SitePath.surveyRoute)) { request, context in
            let language = try requestedLanguage(request)
            let token = try context.parameters.require("token")
            let form = try context.form
            guard let invitation = try await surveys.invitation(token: token, key: key) else {
                return try page(request, language, token: token, invitation: nil, form: [:], message: nil, status: .notFound)
            }
            guard invitation.answeredAt == nil else {
                return try page(request, language, token: token, invitation: invitation, form: [:], message: nil, status: .conflict)
            }
            let responses = Self.responses(from: form, to: invitation.campaign.questions)
            do {
                switch try await surveys.answer(responses, to: invitation, policy: policy) {
                case .recorded:
                    return try page(request, language, token: token, invitation: invitation, form: [:], message: nil, status: .ok, thanked: true)
                case .alreadyAnswered:
                    let answered = try await surveys.invitation(token: token, key: key)
                    return try page(request, language, token: token, invitation: answered, form: [:], message: nil, status: .conflict)
                }
            } catch let error as SurveyError {
                let status: HTTPResponse.Status = error == .suspended ? .forbidden : .unprocessableContent
                return try page(request, language, token: token, invitation: invitation, form: form, message: error.text[language], status: status)
            } catch let error as CampaignError {
                return try page(request, language, token: token, invitation: invitation, form: form, message: error.text[language], status: .gone)
            }
        }
    }

    /// The answers in a submitted form: `qN` is a single choice's index or a text; `qN_C` is "on" for each choice C of
    /// a multiple-choice question. A value that is not a choice's index is kept as an out-of-range index, so the
    /// check names the question instead of taking the value for "no answer".
    static func responses(from form: [String: String], to questions: [SurveyQuestion]) -> [SurveyResponse] {
        questions.enumerated().map { index, question in
            let name = "q\(index)"
            switch question.kind {
            case .text:
                return SurveyResponse(text: form[name] ?? "")
            case .single:
                guard let value = form[name], !value.isEmpty else { return SurveyResponse() }
                let choice = value.count <= 3 && value.allSatisfy({ $0.isASCII && $0.isNumber }) ? Int(value) ?? -1 : -1
                return SurveyResponse(selected: [choice])
            case .multiple:
                return SurveyResponse(selected: question.choices.indices.filter { form["\(name)_\($0)"] == "on" })
            }
        }
    }

    private func page(
        _ request: Request,
        _ language: Language,
        token: String,
        invitation: SurveyDesk.Invitation?,
        form: [String: String],
        message: String?,
        status: HTTPResponse.Status,
        thanked: Bool = false
    ) throws -> Response {
        let t = site.resources.text(language)
        let issued = csrf.issue(nonce: request.cookies[CSRFTokens.cookieName]?.value)
        let model = SurveyPageModel(
            chrome: PageChrome(
                language: language,
                title: invitation?.campaign.subject ?? t.format("survey_title"),
                strings: t,
                operatorName: policy.company.name[language],
                path: invitation == nil ? SitePath.privacy : SitePath.survey(token)
            ),
            t: t,
            invitation: invitation,
            purpose: policy.purpose(id: Survey.purposeID)?.text[language],
            form: form,
            csrfToken: issued.token,
            action: PageChrome.href(SitePath.survey(token), language),
            message: message,
            thanked: thanked
        )
        var response = try site.resources.page("survey", model, cacheControl: "no-store")
        response.status = status
        response.headers[.setCookie] = CSRFTokens.cookieHeader(nonce: issued.nonce, secure: secureCookies)
        return response
    }
}

/// The survey page: its questions as a form, or that it was answered, or that the link is not valid.
struct SurveyPageModel {
    struct Choice {
        let id, inputType, name, value, label: String
        let checked: Bool
    }
    struct Question {
        let number, index, text: String
        let isText: Bool
        let value: String
        let choices: [Choice]
    }
    let chrome: PageChrome
    let t: [String: String]
    let heading: String
    let invalid, answered, open, thanked: Bool
    let answeredText: String
    let purposeText: String?
    let questions: [Question]
    let csrfToken, action: String
    let message: String?

    init(
        chrome: PageChrome,
        t: [String: String],
        invitation: SurveyDesk.Invitation?,
        purpose: String?,
        form: [String: String],
        csrfToken: String,
        action: String,
        message: String?,
        thanked: Bool
    ) {
        self.chrome = chrome
        self.t = t
        heading = invitation?.campaign.subject ?? t.format("survey_title")
        invalid = invitation == nil
        self.thanked = thanked
        answered = !thanked && invitation?.answeredAt != nil
        open = !invalid && !answered && !thanked
        answeredText = invitation?.answeredAt.map { t.format("survey_answered", ["date": ConsoleFormat.time($0)]) } ?? ""
        purposeText = purpose.map { t.format("survey_purpose", ["purpose": $0]) }
        questions = (invitation?.campaign.questions ?? []).enumerated().map { index, question in
            let name = "q\(index)"
            return Question(
                number: "\(index + 1)",
                index: "\(index)",
                text: question.text,
                isText: question.kind == .text,
                value: question.kind == .text ? form[name] ?? "" : "",
                choices: question.choices.enumerated().map { choice, label in
                    let single = question.kind == .single
                    return Choice(
                        id: "\(name)-\(choice)",
                        inputType: single ? "radio" : "checkbox",
                        name: single ? name : "\(name)_\(choice)",
                        value: single ? "\(choice)" : "on",
                        label: label,
                        checked: single ? form[name] == "\(choice)" : form["\(name)_\(choice)"] == "on"
                    )
                }
            )
        }
        self.csrfToken = csrfToken
        self.action = action
        self.message = message
    }
}
