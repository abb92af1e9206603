import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

/// A new policy version reaches running servers without a restart (R-OPS-1): SIGHUP reloads a server's own file,
/// `madoguchi policy load` stores a version every server adopts, and all serve the version whose text took effect last.
@Suite("Policy reload")
struct PolicyReloadTests {
    static func newer(_ version: String = "2027-04-01", days: Int = 2) throws -> String {
        try Fixtures.examplePolicyText()
            .replacingOccurrences(of: "version: \"2026-12-06\"", with: "version: \"\(version)\"")
            .replacingOccurrences(of: "  - 2026-12-06\n", with: "  - 2026-12-06\n  - \(version)\n")
            .replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: \(days)")
    }

    @Test(
        "R-OPS-1: SIGHUP's reload serves a valid new file at once; an invalid one or a reused id changes nothing",
        arguments: TestDatabase.available
    )
    func reloadFile(_ kind: TestDatabase) async throws {
        let path = try temporaryPolicy(try Fixtures.examplePolicyText())
        try await withServer(kind, policyPath: path) { installation, _ in
            let live = LiveInstallation(installation)
            let app = Application(router: live, logger: quietLogger)
            try await app.test(.router) { client in
                func answerDays() async throws -> String? {
                    let page = try await client.execute(uri: "/privacy?lang=en", method: .get).text
                    return ["3", "2", "1"].first { page.contains("within \($0) business days") }
                }
                #expect(try await answerDays() == "3")
                #expect(try await live.adoptLatest(logger: quietLogger) == false, "nothing newer is stored")

                // An invalid file: logged, nothing stored, the same version served.
                try "version: [".write(toFile: path, atomically: true, encoding: .utf8)
                await live.reloadFile(logger: quietLogger)
                #expect(live.installation.policy.version == "2026-12-06")
                // The same id with other content: refused, the same version served.
                try (try Fixtures.examplePolicyText()).replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: 5")
                    .write(toFile: path, atomically: true, encoding: .utf8)
                await live.reloadFile(logger: quietLogger)
                let unchanged = try await answerDays()
                #expect(live.installation.policy.version == "2026-12-06" && unchanged == "3")

                // A valid new version: stored, and every route, page and the purpose guard use it at once.
                try (try Self.newer()).write(toFile: path, atomically: true, encoding: .utf8)
                await live.reloadFile(logger: quietLogger)
                #expect(live.installation.policy.version == "2027-04-01")
                #expect(live.installation.guardian.current.version == "2027-04-01")
                #expect(try await answerDays() == "2")
                let versions = try await PolicyVersionStore(database: installation.database).versions().map(\.id)
                #expect(versions == ["2027-04-01", "2026-12-06"])
                // The older version stays readable at its own address.
                #expect(try await client.execute(uri: "/privacy/versions/2026-12-06", method: .get).status == .ok)
            }
        }
    }

    @Test("R-OPS-1: a version stored elsewhere is adopted; a server started on an older file serves the latest", arguments: TestDatabase.available)
    func agreeThroughTheDatabase(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, _ in
            let live = LiveInstallation(installation)
            // Another server, or `madoguchi policy load`, stores a newer version.
            let newer = try PolicyLoader.parse(yaml: try Self.newer(), file: "newer")
            try await PolicyVersionStore(database: installation.database).store(newer, source: try Self.newer())
            #expect(try await live.adoptLatest(logger: quietLogger))
            #expect(live.installation.policy.version == "2027-04-01")
            // A version whose text took effect earlier does not take over.
            let older = try PolicyLoader.parse(yaml: try Self.newer("2026-12-20", days: 4), file: "older")
            try await PolicyVersionStore(database: installation.database).store(older, source: "")
            #expect(try await live.adoptLatest(logger: quietLogger) == false)
            // A server started now on the example file serves the latest stored version.
            var configuration = installation.configuration
            configuration.policyPath = Fixtures.examplePolicyPath
            let second = try await Installation.prepare(configuration, logger: quietLogger)
            #expect(second.policy.version == "2027-04-01" && second.guardian.current.version == "2027-04-01")
            await second.close()
        }
    }
}
