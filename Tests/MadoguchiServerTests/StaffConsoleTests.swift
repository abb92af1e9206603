import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Staff accounts on the console (#21)")
struct StaffConsoleTests {
    @Test(
        "R-SEC-2: an administrator adds an account (the link shown once), disables it (its session ends), enables it, resets it and removes it after confirming; the last administrator stays; others are refused; each change audited",
        arguments: TestDatabase.available
    )
    func lifecycle(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let admin = try await StaffBrowser.signIn(client, installation, email: "admin@mirai-career.example", role: .admin)
            let page = try await admin.get(client, "/console/staff?lang=en")
            #expect(page.status == .ok && page.text.contains("Staff accounts") && page.text.contains("admin@mirai-career.example (you)"))
            let japanese = try await admin.get(client, "/console/staff").text
            #expect(japanese.contains("職員アカウント") && japanese.contains("管理者"))

            // Add: the one-time link is on the page that made it, and works.
            let added = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "add", "email": "new@mirai-career.example", "role": "operator", "department": "", "contractor": ""],
                page: "/console/staff"
            )
            #expect(added.status == .ok && added.text.contains("Added new@mirai-career.example"), "\(added.text)")
            let link = try #require(added.text.firstMatch(of: /\/console\/setup\?token=([A-Za-z0-9_-]+)/)?.1)
            _ = try await installation.staff.completeSetup(token: String(link), password: "a long enough passphrase")
            let member = try await StaffBrowser.signIn(client, email: "new@mirai-career.example", password: "a long enough passphrase")
            #expect(try await member.get(client, "/console/inquiries").status == .ok)
            #expect(try await member.get(client, "/console/staff").status == .forbidden, "only administrators manage accounts")

            let badAdd = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "add", "email": "dept@mirai-career.example", "role": "department", "department": "", "contractor": ""],
                page: "/console/staff"
            )
            #expect(badAdd.status == .unprocessableContent && badAdd.text.contains("department members need"), "\(badAdd.text)")
            #expect(badAdd.text.contains("value=\"dept@mirai-career.example\""), "the input is kept")
            for role in ["", "superuser", String(repeating: "x", count: 10_000)] {
                let noRole = try await admin.post(
                    client,
                    "/console/staff?lang=en",
                    ["do": "add", "email": "norole@mirai-career.example", "role": role, "department": "", "contractor": ""],
                    page: "/console/staff"
                )
                #expect(noRole.status == .unprocessableContent && noRole.text.contains("Choose a role."), "role \(role.prefix(20)): \(noRole.status)")
                #expect(noRole.text.contains("value=\"norole@mirai-career.example\""), "the input is kept")
            }
            let withoutRoleField = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "add", "email": "norole@mirai-career.example"],
                page: "/console/staff"
            )
            #expect(withoutRoleField.status == .unprocessableContent)
            #expect(!(try await installation.staff.accounts().map(\.user.email).contains("norole@mirai-career.example")), "nothing was added")

            // Disable: the member's open session ends at once.
            let disabled = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "disable", "email": "new@mirai-career.example"],
                page: "/console/staff"
            )
            #expect(disabled.status == .seeOther)
            #expect(try await member.get(client, "/console/inquiries").status == .seeOther, "sent to sign in")
            #expect(try await admin.get(client, "/console/staff?lang=en").text.contains("Disabled"))
            #expect(
                try await admin.post(client, "/console/staff?lang=en", ["do": "enable", "email": "new@mirai-career.example"], page: "/console/staff")
                    .status
                    == .seeOther
            )
            let reset = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "reset", "email": "new@mirai-career.example"],
                page: "/console/staff"
            )
            #expect(reset.status == .ok && reset.text.contains("no longer works") && reset.text.contains("/console/setup?token="))

            // The last administrator stays.
            let last = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "disable", "email": "admin@mirai-career.example"],
                page: "/console/staff"
            )
            #expect(last.status == .unprocessableContent && last.text.contains("no administrator (admin) who can sign in would be left"))

            // Remove asks first, then removes.
            let asked = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "remove", "email": "new@mirai-career.example"],
                page: "/console/staff"
            )
            #expect(asked.status == .ok && asked.text.contains("Remove the account of new@mirai-career.example?"))
            #expect(try await installation.staff.accounts().count == 2, "nothing removed before the confirmation")
            let removed = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "remove", "email": "new@mirai-career.example", "confirm": "yes"],
                page: "/console/staff"
            )
            #expect(removed.status == .seeOther)
            #expect(try await installation.staff.accounts().map(\.user.email) == ["admin@mirai-career.example"])
            let unknown = try await admin.post(
                client,
                "/console/staff?lang=en",
                ["do": "enable", "email": "new@mirai-career.example"],
                page: "/console/staff"
            )
            #expect(unknown.status == .unprocessableContent && unknown.text.contains("there is no staff account"))
            let nonsense = try await admin.post(client, "/console/staff?lang=en", ["do": "explode", "email": "x"], page: "/console/staff")
            #expect(nonsense.status == .badRequest)

            let adminActor = try #require(try await installation.staff.accounts().first?.user.actor)
            let actions = try await AuditLog.entries(in: installation.database).filter { $0.event.actor == adminActor }.map(\.event.action)
            for action in ["staff.add", "staff.disable", "staff.enable", "staff.reset", "staff.remove"] {
                #expect(actions.contains(action), "\(action) in \(actions)")
            }
        }
    }
}
