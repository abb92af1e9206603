import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/console/campaigns`: mail magazines and notices to the people who agreed to them (R-PUR-5, R-MAIL-1). Staff who
/// may send write a draft, see how many it reaches and a sample as it will arrive, then start it; the outbox sends it.
extension ConsoleController {
    func addCampaignRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        console.get(RouterPath(SitePath.consoleCampaigns)) { request, context in
            try await campaignList(try context.session, try requestedLanguage(request), values: [:], message: nil, status: .ok)
        }
        console.post(RouterPath(SitePath.consoleCampaigns)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            let services = policy.services.map(\.id).filter { form["service_\($0)"] == "on" }
            guard let kind = CampaignKind(rawValue: form["kind"] ?? "") else {
                return try await campaignList(
                    session,
                    language,
                    values: form,
                    message: t(language, "campaign_bad_kind"),
                    status: .unprocessableContent
                )
            }
            do {
                let campaign = try await campaigns.create(
                    kind: kind,
                    purposeID: form["purpose"] ?? "",
                    services: services,
                    subject: form["subject"] ?? "",
                    body: form["body"] ?? "",
                    questions: try Self.questions(from: form),
                    by: session.user.actor,
                    policy: policy
                )
                return Response.seeOther(PageChrome.href(SitePath.consoleCampaign(campaign.id), language))
            } catch let error as CampaignError {
                return try await campaignList(session, language, values: form, message: error.text[language], status: .unprocessableContent)
            }
        }
        console.get(RouterPath(SitePath.consoleCampaignRoute)) { request, context in
            try await campaignDetail(try context.parameters.require("id"), try context.session, try requestedLanguage(request), message: nil)
        }
        console.post(RouterPath(SitePath.campaignStartRoute)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let id = try context.parameters.require("id")
            guard try await campaigns.campaign(id: id) != nil else { throw noCampaign() }
            do {
                _ = try await campaigns.start(id: id, by: session.user.actor)
            } catch let error as CampaignError {
                return try await campaignDetail(id, session, language, message: error.text[language], status: .conflict)
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleCampaign(id), language))
        }
    }

    private func t(_ language: Language, _ key: String) -> String { site.resources.text(language).format(key) }

    /// The survey questions of the draft form: slot N has `qN_kind` (single, multiple, text; empty when unused),
    /// `qN_text` and `qN_choices` (one per line). An unused slot with text typed into it is an error, not dropped.
    static func questions(from form: [String: String]) throws -> [SurveyQuestion] {
        var questions: [SurveyQuestion] = []
        for slot in 1...Survey.maxQuestions {
            let text = form["q\(slot)_text"] ?? ""
            let choices = (form["q\(slot)_choices"] ?? "").split(whereSeparator: \.isNewline).map(String.init)
            guard let kind = SurveyQuestion.Kind(rawValue: form["q\(slot)_kind"] ?? "") else {
                let typed = !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                if typed || !choices.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                    throw CampaignError.questions(.questionKind(slot))
                }
                continue
            }
            questions.append(SurveyQuestion(kind: kind, text: text, choices: choices))
        }
        return questions
    }

    private func noCampaign() -> PublicError {
        PublicError(.notFound, LocalizedText(ja: "キャンペーンが見つかりません。", en: "No such campaign."))
    }

    private func campaignList(
        _ session: StaffSession,
        _ language: Language,
        values: [String: String],
        message: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let all = try await campaigns.list()
        var progress: [String: CampaignProgress] = [:]
        for campaign in all where campaign.status != .draft { progress[campaign.id] = try await campaigns.progress(id: campaign.id) }
        var response = try consolePage(
            "console-campaigns",
            CampaignListModel(
                frame(session, language),
                campaigns: all,
                progress: progress,
                changedPurposes: Set(try await campaigns.changedPurposes(policy: policy)),
                values: values,
                message: message
            )
        )
        response.status = status
        return response
    }

    private func campaignDetail(
        _ id: String,
        _ session: StaffSession,
        _ language: Language,
        message: String?,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        guard let campaign = try await campaigns.campaign(id: id) else { throw noCampaign() }
        var results: SurveyDesk.Results?
        var texts: [SurveyText]?
        if campaign.kind == .survey {
            let surveys = SurveyDesk(guardian: campaigns.guardian)
            results = try await surveys.results(of: campaign)
            if session.user.role.readsSurveyText, campaign.questions.contains(where: { $0.kind == .text }) {
                texts = try await campaigns.guardian.surveyTexts(campaign: campaign, actor: session.user.actor)
            }
        }
        let audience =
            campaign.status == .draft ? try await campaigns.audience(of: campaign).count : nil
        let sample = CampaignMail.compose(
            campaign,
            to: "recipient@example.jp",
            links: CampaignLinks(unsubscribe: "…", survey: campaign.kind == .survey ? "…" : nil),
            policy: policy,
            baseURL: baseURL,
            resources: site.resources
        )
        var response = try consolePage(
            "console-campaign",
            CampaignDetailModel(
                frame(session, language),
                campaign: campaign,
                audience: audience,
                progress: try await campaigns.progress(id: id),
                sample: sample,
                results: results,
                texts: texts,
                message: message
            )
        )
        response.status = status
        return response
    }
}

/// The campaign list with the form for a new draft.
struct CampaignListModel {
    struct Row {
        let href, subject, kind, status, created, progress: String
    }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let action: String
    let message: String?
    let rows: [Row]
    let empty: Bool
    let kinds, purposes, services: [Option]
    let subject, body: String
    let questionSlots: [QuestionSlot]
    let questionsOpen: Bool

    struct QuestionSlot {
        let n, label, text, choices: String
        let kinds: [Option]
    }

    init(
        _ frame: ConsoleFrame,
        campaigns: [Campaign],
        progress: [String: CampaignProgress],
        changedPurposes: Set<String>,
        values: [String: String],
        message: String?
    ) {
        let (policy, language, t) = (frame.policy, frame.language, frame.t)
        chrome = PageChrome.console(t.format("campaigns_title"), policy: policy, language: language, t: t, path: SitePath.consoleCampaigns)
        self.t = t
        staff = StaffView(frame.session, language: language, t: t, csrfToken: frame.csrfToken)
        action = PageChrome.href(SitePath.consoleCampaigns, language)
        self.message = message
        rows = campaigns.map { campaign in
            let counts = progress[campaign.id]
            return Row(
                href: PageChrome.href(SitePath.consoleCampaign(campaign.id), language),
                subject: campaign.subject,
                kind: t.format("campaign_kind_\(campaign.kind.rawValue)"),
                status: t.format("campaign_status_\(campaign.status.rawValue)"),
                created: ConsoleFormat.time(campaign.createdAt),
                progress: counts.map {
                    t.format(
                        "campaign_progress",
                        ["sent": "\($0.sent)", "failed": "\($0.failed)", "skipped": "\($0.skipped)", "queued": "\($0.queued)"]
                    )
                }
                    ?? "—"
            )
        }
        empty = campaigns.isEmpty
        kinds = CampaignKind.allCases.map {
            Option(id: $0.rawValue, label: t.format("campaign_kind_\($0.rawValue)"), selected: values["kind"] == $0.rawValue)
        }
        // Purposes that need consent (mail magazines, notices, surveys), and purposes changed for earlier data (change notices).
        purposes = policy.purposes.filter { $0.requiresConsent || changedPurposes.contains($0.id) }.map { purpose in
            let changed = changedPurposes.contains(purpose.id) ? t.format("campaign_purpose_changed") : ""
            return Option(id: purpose.id, label: purpose.text[language] + changed, selected: values["purpose"] == purpose.id)
        }
        services = policy.services.map { Option(id: $0.id, label: $0.name[language], selected: values["service_\($0.id)"] == "on") }
        subject = values["subject"] ?? ""
        body = values["body"] ?? ""
        questionsOpen = values["kind"] == CampaignKind.survey.rawValue
        questionSlots = (1...Survey.maxQuestions).map { slot in
            let kind = values["q\(slot)_kind"] ?? ""
            return QuestionSlot(
                n: "\(slot)",
                label: t.format("campaign_question", ["n": "\(slot)"]),
                text: values["q\(slot)_text"] ?? "",
                choices: values["q\(slot)_choices"] ?? "",
                kinds: [Option(id: "", label: t.format("campaign_question_none"), selected: kind.isEmpty)]
                    + SurveyQuestion.Kind.allCases.map {
                        Option(id: $0.rawValue, label: t.format("campaign_question_\($0.rawValue)"), selected: kind == $0.rawValue)
                    }
            )
        }
    }
}

/// One campaign: what it says, whom it reaches, how far its sending is.
struct CampaignDetailModel {
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let csrfToken, heading, kind, purpose, services, status, created: String
    let message: String?
    let isDraft: Bool
    let audience: String?
    let progress: String
    let startAction: String
    let sampleTo, sampleSubject, sampleBody, sampleUnsubscribe: String
    let isSurvey: Bool
    let answered: String
    let questions: [QuestionResult]

    struct Count {
        let label, count: String
    }
    struct QuestionResult {
        let heading: String
        let isText: Bool
        let counts: [Count]
        let textCount: String
        let texts: [String]
        let textsShown, textsHidden, noTexts: Bool
    }

    init(
        _ frame: ConsoleFrame,
        campaign: Campaign,
        audience: Int?,
        progress: CampaignProgress,
        sample: OutgoingMail,
        results: SurveyDesk.Results?,
        texts: [SurveyText]?,
        message: String?
    ) {
        let (policy, language, t) = (frame.policy, frame.language, frame.t)
        heading = campaign.subject
        chrome = PageChrome.console(heading, policy: policy, language: language, t: t, path: SitePath.consoleCampaign(campaign.id))
        self.t = t
        staff = StaffView(frame.session, language: language, t: t, csrfToken: frame.csrfToken)
        csrfToken = frame.csrfToken
        kind = t.format("campaign_kind_\(campaign.kind.rawValue)")
        purpose = policy.purpose(id: campaign.purposeID)?.text[language] ?? campaign.purposeID
        services = campaign.services.map { id in policy.service(id: id)?.name[language] ?? id }.joined(separator: language == .ja ? "、" : ", ")
        status = t.format("campaign_status_\(campaign.status.rawValue)")
        created = ConsoleFormat.time(campaign.createdAt)
        self.message = message
        isDraft = campaign.status == .draft
        self.audience = audience.map { t.format("campaign_audience", ["count": "\($0)"]) }
        self.progress = t.format(
            "campaign_progress",
            ["sent": "\(progress.sent)", "failed": "\(progress.failed)", "skipped": "\(progress.skipped)", "queued": "\(progress.queued)"]
        )
        startAction = PageChrome.href(SitePath.campaignStart(campaign.id), language)
        sampleTo = sample.to
        sampleSubject = sample.subject
        sampleBody = sample.body
        sampleUnsubscribe = sample.listUnsubscribe ?? ""
        isSurvey = campaign.kind == .survey
        answered = t.format("campaign_answered", ["count": "\(results?.answered ?? 0)"])
        questions = campaign.questions.enumerated().map { index, question in
            let counts = results?.counts[safe: index] ?? []
            let written = texts?.filter { $0.question == index }.map(\.text) ?? []
            return QuestionResult(
                heading: "\(index + 1). \(question.text)",
                isText: question.kind == .text,
                counts: Self.shownCounts(question, counts, k: policy.statisticsMinimumCount).enumerated().map { choice, count in
                    Count(label: question.choices[choice], count: count.map(String.init) ?? t.format("statistics_hidden"))
                },
                textCount: t.format("campaign_text_count", ["count": "\(counts.first ?? 0)"]),
                texts: written,
                textsShown: texts != nil && !written.isEmpty,
                textsHidden: texts == nil,
                noTexts: texts != nil && written.isEmpty
            )
        }
    }
}

extension CampaignDetailModel {
    /// The counts per choice as they may be shown (R-STA-1): below k hidden; for a pick-one question, whose counts
    /// add up to the number who answered it, also what would let a hidden count be worked out from that sum.
    static func shownCounts(_ question: SurveyQuestion, _ counts: [Int], k: Int) -> [Int?] {
        let values = question.choices.indices.map { counts[safe: $0] ?? 0 }
        guard question.kind == .single else { return values.map { $0 > 0 && $0 < k ? nil : $0 } }
        let rows = values.indices.map { LocalizedText(ja: "\($0)", en: "\($0)") }
        let table = CountTable(
            id: "survey",
            title: LocalizedText(ja: "", en: ""),
            rowHeading: LocalizedText(ja: "", en: ""),
            rows: rows,
            columns: [LocalizedText(ja: "", en: "")],
            cells: values.map { [$0] }
        )
        return table.suppressed(k: k).cells.map { $0[0] }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
