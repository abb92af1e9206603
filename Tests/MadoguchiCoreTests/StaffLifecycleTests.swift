import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Staff account lifecycle (#21)")
struct StaffLifecycleTests {
    @Test(
        "R-SEC-2: a disabled account's sessions end and it cannot sign in until enabled; a reset stops the old password and gives a new link; removal keeps what the member did; the last administrator stays; each change audited",
        arguments: TestDatabase.available
    )
    func lifecycle(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let staff = StaffDirectory(database: fixture.data, bcryptCost: 4)
            let (admin, adminToken) = try await staff.add(
                email: "admin@mirai-career.example",
                role: .admin,
                departmentID: nil,
                policy: fixture.policy,
                actor: "test"
            )
            _ = try await staff.completeSetup(token: adminToken, password: "correct horse battery")
            let (member, memberToken) = try await staff.add(
                email: "op@mirai-career.example",
                role: .operator,
                departmentID: nil,
                policy: fixture.policy,
                actor: "test"
            )
            _ = try await staff.completeSetup(token: memberToken, password: "staple battery horse")
            guard case let .signedIn(session, _) = try await staff.signIn(email: "op@mirai-career.example", password: "staple battery horse")
            else {
                Issue.record("the operator could not sign in")
                return
            }

            // Disabled: the open session ends, the right password signs in to nothing.
            try await staff.disable(email: "OP@mirai-career.example", actor: admin.actor)
            #expect(try await staff.session(token: session) == nil)
            #expect(try await staff.signIn(email: "op@mirai-career.example", password: "staple battery horse") == .invalid)
            #expect(try await staff.accounts().first { $0.user.id == member.id }?.disabled == true)
            // Enabled again, with the password it had.
            try await staff.enable(email: "op@mirai-career.example", actor: admin.actor)
            guard case .signedIn = try await staff.signIn(email: "op@mirai-career.example", password: "staple battery horse", client: "b")
            else {
                Issue.record("the enabled operator could not sign in")
                return
            }

            // Reset: the old password stops at once, the new link sets a new one, and works once.
            let (_, resetToken) = try await staff.reset(email: "op@mirai-career.example", actor: admin.actor)
            #expect(try await staff.signIn(email: "op@mirai-career.example", password: "staple battery horse", client: "c") == .invalid)
            #expect(try await staff.accounts().first { $0.user.id == member.id }?.setupPending == true)
            _ = try await staff.completeSetup(token: resetToken, password: "a brand new passphrase")
            await #expect(throws: StaffError.invalidToken) { try await staff.completeSetup(token: resetToken, password: "another one again") }
            guard case .signedIn = try await staff.signIn(email: "op@mirai-career.example", password: "a brand new passphrase", client: "d")
            else {
                Issue.record("the new password did not work")
                return
            }

            // The last administrator who can sign in is neither disabled nor removed.
            await #expect(throws: StaffError.lastAdministrator) { try await staff.disable(email: "admin@mirai-career.example", actor: "cli") }
            await #expect(throws: StaffError.lastAdministrator) { try await staff.remove(email: "admin@mirai-career.example", actor: "cli") }
            await #expect(throws: StaffError.unknownAccount("nobody@mirai-career.example")) {
                try await staff.disable(email: "nobody@mirai-career.example", actor: "cli")
            }

            // Removed: the account and its tokens go; the audit log keeps what happened under the member's id.
            try await staff.remove(email: "op@mirai-career.example", actor: admin.actor)
            #expect(try await staff.accounts().map(\.user.email) == ["admin@mirai-career.example"])
            let actions = try await AuditLog.entries(in: fixture.data).filter { $0.event.record == member.actor }.map(\.event.action)
            for action in ["staff.disable", "staff.enable", "staff.reset", "staff.remove", "staff.sign-in"] {
                #expect(actions.contains(action), "\(action) in \(actions)")
            }
            let tokens = try await fixture.data.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM staff_tokens WHERE user_id = \(bind: member.id)").first(decodingColumn: "n", as: Int.self)
            }
            #expect(tokens == 0)
        }
    }
}
