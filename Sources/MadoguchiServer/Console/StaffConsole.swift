import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/console/staff`: staff accounts over their life, for administrators (#21) — the same as `madoguchi user add`,
/// `disable`, `enable`, `reset` and `remove`: each change audited with the administrator as actor, the last
/// administrator who can sign in kept, a removal confirmed on a second page, the one-time link of a new account or a
/// reset shown once on the page that made it.
extension ConsoleController {
    func addStaffRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        console.get(RouterPath(SitePath.consoleStaff)) { request, context in
            try await staffPage(try context.session, try requestedLanguage(request), notice: nil, status: .ok)
        }
        console.post(RouterPath(SitePath.consoleStaff)) { request, context in
            let language = try requestedLanguage(request)
            let session = try context.session
            let form = try context.form
            let t = site.resources.text(language)
            let email = form["email"] ?? ""
            let actor = session.user.actor
            do {
                switch form["do"] ?? "" {
                case "add":
                    guard let role = StaffRole(rawValue: form["role"] ?? "") else {
                        return try await staffPage(
                            session,
                            language,
                            notice: .error(t.format("staff_role_missing")),
                            values: form,
                            status: .unprocessableContent
                        )
                    }
                    let added = try await staff.add(
                        email: email,
                        role: role,
                        departmentID: (form["department"] ?? "").isEmpty ? nil : form["department"],
                        contractorID: (form["contractor"] ?? "").isEmpty ? nil : form["contractor"],
                        policy: policy,
                        actor: actor
                    )
                    return try await staffPage(
                        session,
                        language,
                        notice: .link(t.format("staff_link_added", ["email": added.user.email]), setupLink(added.setupToken)),
                        status: .ok
                    )
                case "reset":
                    let reset = try await staff.reset(email: email, actor: actor)
                    return try await staffPage(
                        session,
                        language,
                        notice: .link(t.format("staff_link_reset", ["email": reset.user.email]), setupLink(reset.setupToken)),
                        status: .ok
                    )
                case "disable":
                    try await staff.disable(email: email, actor: actor)
                case "enable":
                    try await staff.enable(email: email, actor: actor)
                case "remove" where form["confirm"] == "yes":
                    try await staff.remove(email: email, actor: actor)
                case "remove":
                    return try await staffPage(session, language, notice: .confirmRemoval(email), status: .ok)
                default:
                    throw PublicError(.badRequest, LocalizedText(ja: "操作が正しくありません。", en: "No such action."))
                }
            } catch let error as StaffError {
                return try await staffPage(session, language, notice: .error(error.text[language]), values: form, status: .unprocessableContent)
            }
            return Response.seeOther(PageChrome.href(SitePath.consoleStaff, language))
        }
    }

    private func setupLink(_ token: String) -> String {
        "\(baseURL)\(SitePath.setup)?token=\(token)"
    }

    private func staffPage(
        _ session: StaffSession,
        _ language: Language,
        notice: StaffPageModel.Notice?,
        values: [String: String] = [:],
        status: HTTPResponse.Status
    ) async throws -> Response {
        var response = try consolePage(
            "console-staff",
            StaffPageModel(frame(session, language), accounts: try await staff.accounts(), notice: notice, values: values)
        )
        response.status = status
        return response
    }
}

struct StaffPageModel {
    enum Notice {
        case error(String)
        case link(String, String)
        case confirmRemoval(String)
    }

    struct Row {
        let email, role, scope, state, created: String
        let disabled: Bool
        let isSelf: Bool
    }

    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let action: String
    let error: String?
    let linkMessage: String?
    let link: String?
    let confirmRemoval: String?
    /// The confirmation's sentence, naming the account.
    let staffConfirmText: String?
    let cancelHref: String
    let rows: [Row]
    let roleOptions, departmentOptions, contractorOptions: [Option]
    let email: String

    init(_ frame: ConsoleFrame, accounts: [StaffDirectory.Account], notice: Notice?, values: [String: String]) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("staff_title"), policy: policy, language: language, t: t, path: SitePath.consoleStaff)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        action = PageChrome.href(SitePath.consoleStaff, language)
        cancelHref = action
        switch notice {
        case let .error(text): (error, linkMessage, link, confirmRemoval) = (text, nil, nil, nil)
        case let .link(text, url): (error, linkMessage, link, confirmRemoval) = (nil, text, url, nil)
        case let .confirmRemoval(email): (error, linkMessage, link, confirmRemoval) = (nil, nil, nil, email)
        case nil: (error, linkMessage, link, confirmRemoval) = (nil, nil, nil, nil)
        }
        staffConfirmText = confirmRemoval.map { t.format("staff_confirm_remove", ["email": $0]) }
        rows = accounts.map { account in
            let user = account.user
            let scope =
                user.departmentID.map { id in policy.departments.first { $0.id == id }?.name[language] ?? id }
                ?? user.contractorID.map { id in policy.contractors.first { $0.id == id }?.name[language] ?? id } ?? "—"
            let state = account.disabled ? "staff_state_disabled" : account.setupPending ? "staff_state_setup_pending" : "staff_state_active"
            return Row(
                email: user.email,
                role: t.format("staff_role_\(user.role.rawValue.replacingOccurrences(of: "-", with: "_"))"),
                scope: scope,
                state: t.format(state),
                created: ConsoleFormat.time(account.createdAt),
                disabled: account.disabled,
                isSelf: user.id == session.user.id
            )
        }
        roleOptions = StaffRole.allCases.map { role in
            Option(
                id: role.rawValue,
                label: t.format("staff_role_\(role.rawValue.replacingOccurrences(of: "-", with: "_"))"),
                selected: values["role"] == role.rawValue
            )
        }
        departmentOptions = policy.departments.map { Option(id: $0.id, label: $0.name[language], selected: values["department"] == $0.id) }
        contractorOptions = policy.contractors.map { Option(id: $0.id, label: $0.name[language], selected: values["contractor"] == $0.id) }
        email = values["do"] == "add" ? values["email"] ?? "" : ""
    }
}
