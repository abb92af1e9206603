import MadoguchiCore

/// A `PolicyDiff` in one language, for the revision history (`/privacy/versions`) and the console's policy page
/// (R-VER-3): the groups with their changes, then the changes of purpose (R-VER-2).
struct PolicyDiffView {
    struct Group {
        let heading: String
        let changes: [Line]
    }

    struct Line {
        /// 追加 / 削除 / 変更 as a word, not a sign, so that it reads out.
        let kind: String
        let kindClass: String
        let id: String
        let text: String
    }

    struct PurposeLine {
        let purpose: String
        let items: String
        let newPurpose: Bool
    }

    let from, to: String
    let groups: [Group]
    let purposeChanges: [PurposeLine]
    let hasPurposeChanges: Bool
    let empty: Bool

    /// `newer` names the purposes and items of the changes of purpose.
    init(_ diff: PolicyDiff, newer: Policy, language: Language, t: [String: String]) {
        from = diff.from
        to = diff.to
        groups = PolicyDiff.Section.allCases.compactMap { section in
            let changes = diff.changes(in: section)
            if changes.isEmpty { return nil }
            return Group(
                heading: section.name[language],
                changes: changes.map { change in
                    Line(
                        kind: t.format("diff_\(change.kind.rawValue)"),
                        kindClass: change.kind.rawValue,
                        id: change.id,
                        text: change.summary[language]
                    )
                }
            )
        }
        purposeChanges = diff.purposeChanges.map { change in
            let labels = change.fields.map { id in newer.fields.first { $0.id == id }?.label[language] ?? id }
            return PurposeLine(
                purpose: newer.purpose(id: change.purpose)?.text[language] ?? change.purpose,
                items: labels.joined(separator: language == .ja ? "、" : ", "),
                newPurpose: change.newPurpose
            )
        }
        hasPurposeChanges = !purposeChanges.isEmpty
        empty = diff.isEmpty
    }
}
