import Foundation
import MadoguchiCore

struct ServiceListModel {
    struct Link { let href, name: String }
    let chrome: PageChrome
    let t: [String: String]
    let heading, message: String
    let services: [Link]

    init(policy: Policy, language: Language, t: [String: String], path: String, heading: String, message: String) {
        chrome = PageChrome(language: language, title: heading, strings: t, operatorName: policy.company.name[language], path: path)
        self.t = t
        self.heading = heading
        self.message = message
        services = policy.services.map { Link(href: PageChrome.href(SitePath.inquiry($0.id), language), name: $0.name[language]) }
    }
}

struct ConfirmModel {
    let chrome: PageChrome
    let t: [String: String]
    let number, token, csrfToken: String
    let message: String?
    let showForm: Bool
    let action: String
}

struct ReceiptModel {
    let chrome: PageChrome
    let t: [String: String]
    let number: String
}
