import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Contractor accounts")
struct ContractorAccessTests {
    /// The example policy with `marketing-automation` entrusted only the agent service's inquiries.
    static func scopedPolicy() throws -> String {
        let text = try Fixtures.examplePolicyText()
        let marker = "    entrusted_data: [email, name]\n"
        let parts = text.components(separatedBy: marker)
        try #require(parts.count == 2)
        let directory = try Fixtures.temporaryDirectory()
        let path = directory.appendingPathComponent("policy.yaml").path
        try parts.joined(separator: marker + "    services: [agent]\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        "R-OUT-2: a contractor's staff see only the inquiries of the services entrusted and only the items entrusted; nothing else is unsealed, every read is audited; forwarding, provision and the registers are refused",
        arguments: TestDatabase.available
    )
    func scoped(_ kind: TestDatabase) async throws {
        try await withServer(kind, policyPath: try Self.scopedPolicy()) { installation, client in
            let agent = try await submitInquiry(client, email: "agent@example.jp")
            let executive = try await submitInquiry(client, service: "executive", email: "exec@example.jp")
            let agentID = try await inquiryID(number: agent, installation)
            let executiveID = try await inquiryID(number: executive, installation)
            let staff = try await StaffBrowser.signIn(
                client,
                installation,
                email: "staff@marketo.example",
                role: .contractor,
                contractor: "marketing-automation"
            )
            let list = try await staff.get(client, "/console/inquiries?lang=en").text
            #expect(list.contains(agent) && !list.contains(executive))
            #expect(try await staff.get(client, "/console/inquiries/\(executiveID)").status == .notFound)
            #expect(try await staff.post(client, "/console/inquiries/\(executiveID)/status", ["status": "closed"]).status == .notFound)

            let page = try await staff.get(client, "/console/inquiries/\(agentID)?lang=en")
            #expect(page.status == .ok && page.text.contains("agent@example.jp"))
            #expect(!page.text.contains(goodFields["message"] ?? "-"), "the message is not entrusted")
            let reads = try await AuditLog.entries(in: installation.database, limit: 10_000).filter {
                $0.event.action == "inquiry.read" && $0.event.record == "inquiry:\(agentID)"
            }
            #expect(reads.last.map { $0.event.detail.hasPrefix("fields=email,name") && !$0.event.detail.contains("message") } == true)

            // Answering needs the address, which is entrusted; the answer is stored and mailed.
            let answered = try await staff.post(
                client,
                "/console/inquiries/\(agentID)/answer",
                ["answer": "Thank you."],
                page: "/console/inquiries/\(agentID)"
            )
            #expect(answered.status == .seeOther)
            let forward = try await staff.post(
                client,
                "/console/inquiries/\(agentID)/forward",
                ["department": "professional"],
                page: "/console/inquiries/\(agentID)"
            )
            #expect(forward.status == .forbidden)
            for path in [
                "/console/audit", "/console/requests", "/console/campaigns", "/console/statistics", "/console/incidents", "/console/contractors",
            ] {
                #expect(try await staff.get(client, path).status == .forbidden, "\(path)")
            }
            // The console's policy page shows no contractor's supervision findings to a contractor.
            #expect(!(try await staff.get(client, "/console/policy?lang=en").text.contains("Contractors need attention")))
        }
    }

    @Test("R-OUT-2: a contractor account names a declared contractor", arguments: [TestDatabase.sqlite])
    func accountNeedsContractor(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, _ in
            await #expect(throws: StaffError.contractorRequired) {
                try await installation.staff.add(email: "a@x.example", role: .contractor, departmentID: nil, policy: installation.policy, actor: "t")
            }
            await #expect(throws: StaffError.unknownContractor("nobody")) {
                try await installation.staff.add(
                    email: "a@x.example",
                    role: .contractor,
                    departmentID: nil,
                    contractorID: "nobody",
                    policy: installation.policy,
                    actor: "t"
                )
            }
        }
    }
}
