import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Erasure plan")
struct ErasurePlanTests {
    @Test(
        "R-DSR-5: every table of the live schema that can hold a person (subject id, e-mail index, key id, identifier, sealed field) is erased or kept with a reason",
        arguments: TestDatabase.available
    )
    func everyTableCovered(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let columns: [(table: String, column: String)] = try await fixture.data.read { db in
                switch kind {
                case .sqlite:
                    return try await db.raw(
                        """
                        SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p
                        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                        """
                    ).all().map { (try $0.decode(column: "t", as: String.self), try $0.decode(column: "c", as: String.self)) }
                case .postgres:
                    return try await db.raw(
                        """
                        SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = current_schema()
                        """
                    ).all().map { (try $0.decode(column: "t", as: String.self), try $0.decode(column: "c", as: String.self)) }
                }
            }
            #expect(Set(columns.map(\.table)).count >= 15, "the schema was read")
            let personal = Set(columns.filter { ErasurePlan.holdsPerson(column: $0.column) }.map(\.table))
            let covered = Set(ErasurePlan.erased.map(\.table) + ErasurePlan.kept.map(\.table))
            #expect(
                personal.subtracting(covered).isEmpty,
                "tables that hold a person but are in no erasure list: \(personal.subtracting(covered).sorted())"
            )
            #expect(personal.contains("requests") && personal.contains("outbox") && personal.contains("access_codes"))
        }
    }

    @Test("R-DSR-5: docs/erasure.md lists what goes and what stays exactly as the plan does")
    func documentFollowsPlan() throws {
        let document = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/erasure.md"), encoding: .utf8)
        let generated = ErasurePlan.markdown()
        #expect(document.contains(generated), "docs/erasure.md is out of date; its generated part should read:\n\(generated)")
    }
}
