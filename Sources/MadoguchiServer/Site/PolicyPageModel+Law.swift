import MadoguchiCore

/// The sections of the policy page the law asks for (R-LAW-1, R-LAW-2): security control measures, recipients
/// abroad, how to make a request, where to complain, joint use, and who sends advertising mail. A version stored
/// before an item existed shows no section for it.
struct LawSections {
    struct Labelled { let heading, text: String }
    struct ForeignRow {
        let name, role, country, basis, measures: String
        let countrySystem: String?
    }
    struct Submission {
        let text: String
        let href: String?
    }
    struct Complaints {
        let desk, email: String
        let phone: String?
    }
    struct Certified { let name, contact: String }
    struct Joint {
        let items: [String]
        let users, purpose, responsibleName, responsibleAddress, responsibleRepresentative: String
    }
    struct Mail { let sender, address, unsubscribe, contact: String }

    let security: [Labelled]
    let securityAbroad: [Labelled]
    let hasSecurity: Bool
    let foreign: [ForeignRow]
    let hasForeign: Bool
    let fee: String?
    let feePayment: String?
    let submission: [Submission]
    let hasSubmission: Bool
    let agents: String?
    let delivery: String?
    let complaints: Complaints?
    let certified: Certified?
    let joint: Joint?
    let mail: Mail?

    init(policy: Policy, language: Language, strings t: [String: String]) {
        let measures = policy.securityMeasures
        security = measures?.categories.map { Labelled(heading: $0.heading[language], text: $0.text[language]) } ?? []
        securityAbroad =
            measures?.foreignEnvironment.map { Labelled(heading: $0.country.name[language], text: $0.text[language]) } ?? []
        hasSecurity = measures != nil

        func row(_ name: LocalizedText, _ role: String, _ country: Country?, _ transfer: ForeignTransfer?) -> ForeignRow? {
            guard let country, country != .japan else { return nil }
            return ForeignRow(
                name: name[language],
                role: role,
                country: country.name[language],
                basis: transfer?.basis.text[language] ?? t.format("foreign_recognised"),
                measures: transfer?.recipientMeasures[language] ?? t.format("foreign_recognised_measures"),
                countrySystem: transfer?.countrySystem?[language]
            )
        }
        foreign =
            policy.contractors.compactMap { row($0.name, t.format("foreign_role_contractor"), $0.country, $0.foreignTransfer) }
            + policy.vendors.compactMap { vendor in
                let name = LocalizedText(
                    ja: "\(vendor.company.ja)(\(vendor.service.ja))",
                    en: "\(vendor.company.en) (\(vendor.service.en))"
                )
                return row(name, t.format("foreign_role_vendor"), vendor.country, vendor.foreignTransfer)
            }
        hasForeign = !foreign.isEmpty

        let requests = policy.requests
        fee = Self.fee(requests, t)
        feePayment = requests.feePayment?[language]
        submission = (requests.submission ?? []).map { way in
            let href: String? =
                switch way {
                case .form: PageChrome.href(SitePath.newRequest, language)
                case .me: PageChrome.href(SitePath.me, language)
                case .email: "mailto:\(requests.email)"
                case .post, .phone, .counter: nil
                }
            var text = way.text[language]
            if way == .post { text += language == .ja ? "(\(policy.company.address.ja))" : " (\(policy.company.address.en))" }
            return Submission(text: text, href: href)
        }
        hasSubmission = !submission.isEmpty
        agents = requests.agents?[language]
        delivery = requests.delivery?[language]

        complaints = policy.complaints.map { Complaints(desk: $0.desk[language], email: $0.email, phone: $0.phone) }
        certified = policy.certifiedOrganisation.map { Certified(name: $0.name[language], contact: $0.contact[language]) }
        joint = policy.jointUse.map {
            Joint(
                items: $0.items.map { $0[language] },
                users: $0.users[language],
                purpose: $0.purpose[language],
                responsibleName: $0.responsible.name[language],
                responsibleAddress: $0.responsible.address[language],
                responsibleRepresentative: $0.responsible.representative[language]
            )
        }
        mail = policy.marketingMail.map {
            Mail(sender: $0.sender[language], address: $0.address[language], unsubscribe: $0.unsubscribe, contact: $0.contact)
        }
    }

    /// The request fee as a sentence (the policy page and the request form), nil when the version states none.
    static func fee(_ requests: RequestContact, _ t: [String: String]) -> String? {
        requests.fee.map { $0 == 0 ? t.format("requests_fee_free") : t.format("requests_fee", ["yen": "\($0)"]) }
    }
}
