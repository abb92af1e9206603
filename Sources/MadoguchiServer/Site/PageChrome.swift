import MadoguchiCore

/// What every public page shows around its content: language, navigation and the footer links to the
/// policy and the external-transmission page (one click from every page, R-EXT-1).
struct PageChrome {
    let lang: String
    let otherLang: String
    let title: String
    let t: [String: String]
    let operatorName: String
    let privacyHref: String
    let externalHref: String
    let langSwitchHref: String

    init(language: Language, title: String, strings: [String: String], operatorName: String, path: String) {
        let other: Language = language == .ja ? .en : .ja
        self.lang = language.rawValue
        self.otherLang = other.rawValue
        self.title = title
        self.t = strings
        self.operatorName = operatorName
        self.privacyHref = Self.href("/privacy", language)
        self.externalHref = Self.href("/privacy/external-transmission", language)
        self.langSwitchHref = Self.href(path, other)
    }

    /// Japanese is the default, so only English pages carry `?lang=en`.
    static func href(_ path: String, _ language: Language) -> String {
        language == .ja ? path : "\(path)?lang=\(language.rawValue)"
    }
}
