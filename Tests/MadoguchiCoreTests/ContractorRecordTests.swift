import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

/// R-OUT-1: the console's records of assessments, agreements and reviews, and what they change in what is due.
@Suite("Contractor records")
struct ContractorRecordTests {
    @Test(
        "R-OUT-1: a record is checked (contractor, kind, dates, result, findings described), audited, and moves the agreement and review dates; an unsuitable assessment is due",
        arguments: TestDatabase.available
    )
    func records(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let register = ContractorRegister(database: fixture.data)
            let policy = fixture.policy
            let yesterday = LocalDate(japanAt: Date()).adding(days: -1).description
            func record(
                _ contractor: String = "support-desk",
                _ kind: String,
                on: String? = nil,
                until: String = "",
                result: String = "",
                notes: String = ""
            )
                async throws -> ContractorRecord
            {
                try await register.record(
                    contractorID: contractor,
                    kind: kind,
                    on: on ?? yesterday,
                    until: until,
                    result: result,
                    notes: notes,
                    policy: policy,
                    actor: "staff:dpo"
                )
            }
            await #expect(throws: ContractorRecordError.unknownContractor) { try await record("nobody", "review", result: "no-findings") }
            await #expect(throws: ContractorRecordError.kind) { try await record("support-desk", "audit") }
            await #expect(throws: ContractorRecordError.date) { try await record("support-desk", "review", on: "2999-01-01", result: "no-findings") }
            await #expect(throws: ContractorRecordError.date) { try await record("support-desk", "review", on: "yesterday", result: "no-findings") }
            await #expect(throws: ContractorRecordError.until) { try await record("support-desk", "agreement", until: yesterday) }
            await #expect(throws: ContractorRecordError.until) { try await record("support-desk", "agreement", until: "") }
            await #expect(throws: ContractorRecordError.result) { try await record("support-desk", "assessment", result: "no-findings") }
            await #expect(throws: ContractorRecordError.result) { try await record("support-desk", "review", result: "suitable") }
            await #expect(throws: ContractorRecordError.notesRequired) { try await record("support-desk", "review", result: "findings", notes: "  ") }
            await #expect(throws: ContractorRecordError.notesTooLong) {
                try await record("support-desk", "review", result: "no-findings", notes: String(repeating: "x", count: 4_001))
            }
            #expect(try await register.records().isEmpty, "nothing refused was stored")

            let today = LocalDate(iso: "2027-01-15")!
            let before = ContractorCheck.findings(policy, records: try await register.records(), today: today)
            #expect(before.contains { $0.contractor == "support-desk" && $0.kind == .ndaExpired })
            _ = try await record("support-desk", "agreement", until: "2029-06-30")
            _ = try await record("support-desk", "review", result: "findings", notes: "Screens visible from the corridor; moved.")
            _ = try await record("marketing-automation", "assessment", result: "unsuitable", notes: "No export controls.")
            let records = try await register.records()
            #expect(records.count == 3)
            let standing = try #require(ContractorRegister.standings(policy, records: records).first { $0.contractor.id == "support-desk" })
            #expect(standing.ndaExpires.description == "2029-06-30" && standing.lastReview.description == yesterday)
            let after = ContractorCheck.findings(policy, records: records, today: today)
            #expect(!after.contains { $0.contractor == "support-desk" })
            #expect(after.contains { $0.contractor == "marketing-automation" && $0.kind == .assessedUnsuitable && $0.isDue })
            let audit = try await AuditLog.entries(in: fixture.data, limit: 100).filter { $0.event.action == "contractor.record" }
            #expect(audit.count == 3 && audit.allSatisfy { $0.event.subjectID == nil })
        }
    }
}
