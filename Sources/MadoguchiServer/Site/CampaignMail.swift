import MadoguchiCore

/// Campaign mail as the Act on Specified Electronic Mail wants it: the operator's text, then who sends it, their
/// address and a contact, and how to stop it — a link that works in one click (also as `List-Unsubscribe`).
enum CampaignMail {
    static func compose(
        _ campaign: Campaign,
        to address: String,
        links: CampaignLinks,
        policy: Policy,
        baseURL: String,
        resources: SiteResources
    )
        -> OutgoingMail
    {
        let link = baseURL + SitePath.unsubscribe(links.unsubscribe)
        // A survey's own page, or for a change of purpose the person's page where they answer, in both languages.
        var invitation: (key: String, link: String)?
        if let token = links.survey { invitation = ("survey_mail_link", baseURL + SitePath.survey(token)) }
        if campaign.kind == .changeNotice { invitation = ("change_notice_mail_link", baseURL + SitePath.me) }
        let survey =
            invitation.map { invitation in
                "\n\n" + Language.allCases.map { resources.text($0).format(invitation.key, ["link": invitation.link]) }.joined(separator: "\n")
            } ?? ""
        // The sender the policy names for advertising mail (SEMA Art. 4); versions stored before it existed fall back to
        // the operator and the request contact.
        let sender = policy.marketingMail
        let footers = Language.allCases.map { language in
            let t = resources.text(language)
            return t.format(
                "campaign_footer",
                [
                    "company": sender?.sender[language] ?? policy.company.name[language],
                    "address": sender?.address[language] ?? policy.company.address[language],
                    "contact": sender?.contact ?? policy.requests.email, "unsubscribe": link,
                    "refusal": sender.map { t.format("campaign_footer_refusal", ["address": $0.unsubscribe]) } ?? "",
                ]
            )
        }
        return OutgoingMail(
            to: address,
            subject: campaign.subject,
            body: campaign.body + survey + "\n\n----------------------------------------\n" + footers.joined(separator: "\n\n"),
            listUnsubscribe: link
        )
    }
}
