import Foundation
import MadoguchiCore

struct PreferencesModel {
    struct VendorSwitch {
        let id, name, purpose, items: String
        let on: Bool
        let optOut: String?
    }
    struct Group {
        let name: String
        let vendors: [VendorSwitch]
    }
    let chrome: PageChrome
    let t: [String: String]
    let groups: [Group]
    let gpc, saved, reset: Bool
    let message: String?
    let csrfToken, action, resetAction: String

    init(
        policy: Policy,
        language: Language,
        t: [String: String],
        state: [String: Bool],
        gpc: Bool,
        saved: Bool,
        reset: Bool,
        message: String?,
        csrfToken: String
    ) {
        chrome = PageChrome(
            language: language,
            title: t.format("prefs_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: SitePath.preferences
        )
        self.t = t
        groups = VendorCategory.allCases.compactMap { category in
            let vendors = policy.vendors.filter { $0.category == category }
            guard !vendors.isEmpty else { return nil }
            return Group(
                name: t.format("cat_\(category.rawValue)"),
                vendors: vendors.map { vendor in
                    VendorSwitch(
                        id: vendor.id,
                        name: "\(vendor.company[language]) \(vendor.service[language])",
                        purpose: vendor.purpose[language],
                        items: vendor.items.map { $0[language] }.joined(separator: language == .ja ? "、" : ", "),
                        on: state[vendor.id] ?? false,
                        optOut: vendor.optOutURL
                    )
                }
            )
        }
        self.gpc = gpc
        self.saved = saved
        self.reset = reset
        self.message = message
        self.csrfToken = csrfToken
        action = PageChrome.href(SitePath.preferences, language)
        resetAction = PageChrome.href(SitePath.preferencesReset, language)
    }
}
