import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

@Suite("Disclosure")
struct DisclosureTests {
    // R-DSR-4: everything held about the person, as JSON and CSV.
    @Test(
        "R-DSR-4: the export holds every inquiry with its fields, answers and forwarding, consents, suspensions and requests; it is audited",
        arguments: TestDatabase.available
    )
    func everything(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let rights = SubjectRights(vault: fixture.vault)
            let first = try await fixture.submitConfirmed(
                fixture.submission(email: "taro@example.jp", message: "=HYPERLINK(\"x\"),\n2行目", consent: true)
            )
            _ = try await fixture.submit(fixture.submission(service: "executive", email: "taro@example.jp"))
            _ = try await fixture.submit(fixture.submission(email: "hanako@example.jp", name: "佐藤 花子"))
            let staff = try await StaffDirectory(database: fixture.data, bcryptCost: 4)
                .add(email: "staff@mirai-career.example", role: .operator, departmentID: nil, policy: fixture.policy, actor: "test").user
            let desk = InquiryDesk(guardian: fixture.guardian)
            try await desk.forward(first.id, to: "agent-support", note: "ご対応ください", by: staff, policy: fixture.policy)
            try await desk.answer(first.id, text: "ご連絡ありがとうございます。", by: staff, mail: { _ in nil })
            try await rights.suspend(subjectID: first.subjectID, purpose: "match-history", actor: "person", source: "request:R1")

            let document = try #require(try await rights.disclosure(subjectID: first.subjectID, actor: "staff:x", source: "request:R2"))
            #expect(document.schema == "madoguchi.disclosure.v1")
            #expect(document.inquiries.count == 2, "Hanako's inquiry is not Taro's")
            let inquiry = try #require(document.inquiries.first { $0.number == first.number })
            #expect(inquiry.fields["name"] == "山田 太郎" && inquiry.fields["email"] == "taro@example.jp")
            #expect(inquiry.answers.map(\.text) == ["ご連絡ありがとうございます。"])
            #expect(inquiry.forwards.map(\.department) == ["agent-support"])
            #expect(document.consents.map(\.purpose) == ["marketing"])
            #expect(document.suspensions.map(\.purpose) == ["match-history"])
            #expect(document.provisionRecords.isEmpty && document.informativeData.isEmpty)

            let json = try #require(try JSONSerialization.jsonObject(with: try document.json()) as? [String: Any])
            #expect(
                Set(json.keys) == [
                    "schema", "generated_at", "subject_id", "inquiries", "consents", "suspensions", "requests", "surveys",
                    "provision_records", "incidents", "informative_data",
                ]
            )
            let csv = document.csv()
            #expect(csv.hasPrefix("section,record,field,value\r\n"))
            #expect(csv.contains("inquiry,\(first.number),field.name,山田 太郎\r\n"))
            #expect(csv.contains("\"'=HYPERLINK(\"\"x\"\"),\n2行目\""), "quoted, and never a formula")
            #expect(csv.contains("answer,\(first.number)#1,text,ご連絡ありがとうございます。\r\n"))
            // A leading tab or carriage return (and full-width signs) starts a formula in some spreadsheet programs too.
            var hostile = document
            hostile.inquiries[0].fields = ["message": "\t=1+1", "name": "\r@SUM(A1)", "email": "＝1+1", "phone": "+81 3"]
            let guarded = hostile.csv()
            #expect(guarded.contains(",field.message,'\t=1+1\r\n") && guarded.contains(",field.name,\"'\r@SUM(A1)\"\r\n"))
            #expect(guarded.contains(",field.email,'＝1+1\r\n") && guarded.contains(",field.phone,'+81 3\r\n"))

            #expect(
                try await AuditLog.entries(in: fixture.data).contains {
                    $0.event.action == "subject.disclose" && $0.event.subjectID == first.subjectID
                }
            )
            #expect(try await rights.disclosure(subjectID: "nobody", actor: "staff:x", source: "-") == nil)
            try await rights.erase(subjectID: first.subjectID, actor: "staff:x", source: "request:R3")
            #expect(try await rights.disclosure(subjectID: first.subjectID, actor: "staff:x", source: "-") == nil, "nothing left to disclose")
        }
    }
}
