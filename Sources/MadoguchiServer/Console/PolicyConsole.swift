import Foundation
import Hummingbird
import MadoguchiCore

/// `/console/policy`: what changed between two stored versions of the policy, for every staff member (R-VER-3).
/// By default the current version against the one before it.
extension ConsoleController {
    func addPolicyRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        console.get(RouterPath(SitePath.consolePolicy)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let store = desk.guardian.versions
            let versions = try await store.versions()
            let query = request.uri.queryParameters
            func chosen(_ name: String, default fallback: String?) throws -> String? {
                guard let raw = query[Substring(name)].map(String.init), !raw.isEmpty else { return fallback }
                guard versions.contains(where: { $0.id == raw }) else {
                    throw PublicError(
                        .badRequest,
                        LocalizedText(ja: "\(name): その版は保存されていません。", en: "\(name): no such version is stored.")
                    )
                }
                return raw
            }
            let current = policy.version
            let newer = try chosen("to", default: current)
            let olderDefault = versions.firstIndex { $0.id == newer }.flatMap { $0 + 1 < versions.count ? versions[$0 + 1].id : nil }
            let older = try chosen("from", default: olderDefault)
            var diff: PolicyDiffView?
            if let older, let newer, let old = try await store.policy(version: older), let new = try await store.policy(version: newer) {
                let t = site.resources.text(language)
                diff = PolicyDiffView(PolicyDiff.between(old, new), newer: new, language: language, t: t)
            }
            let records = try await ContractorRegister(database: desk.guardian.vault.database).records()
            let model = PolicyChangesModel(
                frame(session, language),
                versions: versions,
                from: older,
                to: newer,
                diff: diff,
                findings: ContractorCheck.findings(policy, records: records, today: LocalDate(japanAt: Date()))
            )
            return try consolePage("console-policy", model)
        }
    }
}

/// The console's policy page: two version pickers and the changes between them.
struct PolicyChangesModel {
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let action: String
    let lang: String?
    let fromOptions, toOptions: [Option]
    let diff: PolicyDiffView?
    let onlyOne: Bool
    /// What is due about the contractors today (R-OUT-1, R-OUT-2): ended agreements, overdue reviews, agreements ending soon.
    let contractorFindings: [String]
    let contractorsDue: Bool

    init(
        _ frame: ConsoleFrame,
        versions: [PolicyVersion],
        from: String?,
        to: String?,
        diff: PolicyDiffView?,
        findings: [ContractorFinding]
    ) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("policy_changes_title"), policy: policy, language: language, t: t, path: SitePath.consolePolicy)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        action = SitePath.consolePolicy
        lang = language == .ja ? nil : language.rawValue
        // What is due about contractors is for those who supervise them, not for a contractor's own staff.
        let shown = session.user.role.supervisesContractors || session.user.role.seesAllInquiries ? findings : []
        contractorFindings = shown.map { $0.text[language] }
        contractorsDue = !shown.isEmpty
        let format: (LocalDate) -> String = { language == .ja ? $0.japanese : $0.english }
        func options(_ selected: String?) -> [Option] {
            versions.map {
                Option(id: $0.id, label: t.format("version_label", ["id": $0.id, "date": format($0.currentSince)]), selected: $0.id == selected)
            }
        }
        fromOptions = options(from)
        toOptions = options(to)
        self.diff = diff
        onlyOne = versions.count < 2
    }
}
