import MadoguchiCore

/// Campaign mail as the Act on Specified Electronic Mail wants it: the operator's text, then who sends it, their
/// address and a contact, and how to stop it — a link that works in one click (also as `List-Unsubscribe`).
enum CampaignMail {
    static func compose(
        _ campaign: Campaign,
        to address: String,
        token: String,
        policy: Policy,
        baseURL: String,
        resources: SiteResources
    )
        -> OutgoingMail
    {
        let link = baseURL + SitePath.unsubscribe(token)
        let footers = Language.allCases.map { language in
            resources.text(language).format(
                "campaign_footer",
                [
                    "company": policy.company.name[language], "address": policy.company.address[language],
                    "contact": policy.requests.email, "unsubscribe": link,
                ]
            )
        }
        return OutgoingMail(
            to: address,
            subject: campaign.subject,
            body: campaign.body + "\n\n----------------------------------------\n" + footers.joined(separator: "\n\n"),
            listUnsubscribe: link
        )
    }
}
