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
    /// Where the language switch leads: this page in the other language (a page whose URL carries more than its path
    /// sets it itself).
    var langSwitchHref: String

    init(language: Language, title: String, strings: [String: String], operatorName: String, path: String) {
        let other: Language = language == .ja ? .en : .ja
        self.lang = language.rawValue
        self.otherLang = other.rawValue
        self.title = title
        self.t = strings
        self.operatorName = operatorName
        self.privacyHref = Self.href(SitePath.privacy, language)
        self.externalHref = Self.href(SitePath.externalTransmission, language)
        self.langSwitchHref = Self.href(path, other)
    }

    /// The chrome of a console page: its title, then the console's name.
    static func console(_ title: String, policy: Policy, language: Language, t: [String: String], path: String) -> PageChrome {
        PageChrome(
            language: language,
            title: title + " | " + t.format("console_title"),
            strings: t,
            operatorName: policy.company.name[language],
            path: path
        )
    }

    /// Japanese is the default, so only English pages carry `?lang=en`. The link is always a path on this site:
    /// `path` may come from the request (an error page's language link), and `//host/x` or `/\\host/x` would be read
    /// by browsers as another site's address.
    static func href(_ path: String, _ language: Language) -> String {
        let local = localPath(path)
        return language == .ja ? local : "\(local)?lang=\(language.rawValue)"
    }

    /// `path` as a path on this site: one leading slash, no backslashes, no control characters, no query or fragment.
    static func localPath(_ path: String) -> String {
        let cleaned = String(
            path.unicodeScalars.prefix { $0 != "?" && $0 != "#" }
                .map { $0 == "\\" ? "/" : Character($0) }
                .filter { !($0.unicodeScalars.first.map { $0.properties.generalCategory == .control } ?? false) }
        )
        let trimmed = cleaned.drop { $0 == "/" }
        return "/" + trimmed
    }
}
