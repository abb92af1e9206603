import MadoguchiCore

/// `/privacy/versions`: every published version, newest first, each with a plain summary of what changed from the
/// version before it (R-VER-3) beside the link to its stable full text (R-VER-1).
struct PolicyHistoryModel {
    struct Entry {
        let anchor, label, href: String
        let current: Bool
        let first: Bool
        let diff: PolicyDiffView?
    }

    let chrome: PageChrome
    let t: [String: String]
    let entries: [Entry]

    /// `policies` holds each stored version's text, newest first (as `PolicyVersionStore.versions` orders them).
    init(current: Policy, versions: [(PolicyVersion, Policy)], language: Language, t: [String: String]) {
        chrome = PageChrome(
            language: language,
            title: t.format("history_title") + " | " + current.company.name[language],
            strings: t,
            operatorName: current.company.name[language],
            path: SitePath.versions
        )
        self.t = t
        let format: (LocalDate) -> String = { language == .ja ? $0.japanese : $0.english }
        entries = versions.enumerated().map { index, element in
            let (version, policy) = element
            let older = index + 1 < versions.count ? versions[index + 1].1 : nil
            let isCurrent = version.id == current.version
            return Entry(
                anchor: "v\(index)",
                label: t.format("version_label", ["id": version.id, "date": format(version.currentSince)]),
                href: PageChrome.href(isCurrent ? SitePath.privacy : SitePath.version(version.id), language),
                current: isCurrent,
                first: older == nil,
                diff: older.map { PolicyDiffView(PolicyDiff.between($0, policy), newer: policy, language: language, t: t) }
            )
        }
    }
}
