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
            CampaignListModel(frame(session, language), campaigns: all, progress: progress, values: values, message: message)
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
        let audience =
            campaign.status == .draft ? try await campaigns.audience(purposeID: campaign.purposeID, services: campaign.services).count : nil
        let sample = CampaignMail.compose(
            campaign,
            to: "recipient@example.jp",
            token: "…",
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

    init(_ frame: ConsoleFrame, campaigns: [Campaign], progress: [String: CampaignProgress], values: [String: String], message: String?) {
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
                progress: counts.map { t.format("campaign_progress", ["sent": "\($0.sent)", "skipped": "\($0.skipped)", "queued": "\($0.queued)"]) }
                    ?? "—"
            )
        }
        empty = campaigns.isEmpty
        kinds = CampaignKind.allCases.map {
            Option(id: $0.rawValue, label: t.format("campaign_kind_\($0.rawValue)"), selected: values["kind"] == $0.rawValue)
        }
        purposes = policy.purposes.filter(\.requiresConsent).map { Option(id: $0.id, label: $0.text[language], selected: values["purpose"] == $0.id) }
        services = policy.services.map { Option(id: $0.id, label: $0.name[language], selected: values["service_\($0.id)"] == "on") }
        subject = values["subject"] ?? ""
        body = values["body"] ?? ""
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

    init(_ frame: ConsoleFrame, campaign: Campaign, audience: Int?, progress: CampaignProgress, sample: OutgoingMail, message: String?) {
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
        self.progress = t.format("campaign_progress", ["sent": "\(progress.sent)", "skipped": "\(progress.skipped)", "queued": "\(progress.queued)"])
        startAction = PageChrome.href(SitePath.campaignStart(campaign.id), language)
        sampleTo = sample.to
        sampleSubject = sample.subject
        sampleBody = sample.body
        sampleUnsubscribe = sample.listUnsubscribe ?? ""
    }
}
