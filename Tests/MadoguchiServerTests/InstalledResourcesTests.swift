import Foundation
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Resources of an installed binary (#21)")
struct InstalledResourcesTests {
    static func same(_ a: URL, _ b: URL) -> Bool {
        a.resolvingSymlinksInPath().standardizedFileURL.path == b.resolvingSymlinksInPath().standardizedFileURL.path
    }

    @Test("madoguchi finds its resources beside the binary, in ../share/madoguchi or where MADOGUCHI_RESOURCES says; a wrong setting is named")
    func lookup() throws {
        let built = try SiteResources.root(environment: [:], executable: nil)
        let install = try Fixtures.temporaryDirectory()
        let bin = install.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let binary = bin.appendingPathComponent("madoguchi")
        #expect(FileManager.default.createFile(atPath: binary.path, contents: Data()))

        // Nothing installed beside it: the build's own folder (development).
        #expect(Self.same(try SiteResources.root(environment: [:], executable: binary), built))
        // ../share/madoguchi, then the folder beside the binary, which wins.
        let share = install.appendingPathComponent("share/madoguchi")
        try FileManager.default.createDirectory(at: share.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: built, to: share)
        #expect(Self.same(try SiteResources.root(environment: [:], executable: binary), share))
        let beside = bin.appendingPathComponent(SiteResources.folderName)
        try FileManager.default.copyItem(at: built, to: beside)
        #expect(Self.same(try SiteResources.root(environment: [:], executable: binary), beside))
        // A symlinked binary (/usr/local/bin/madoguchi → /opt/madoguchi/bin/madoguchi) finds them through the link.
        let link = install.appendingPathComponent("madoguchi-link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: binary)
        #expect(Self.same(try SiteResources.root(environment: [:], executable: link), beside))
        // MADOGUCHI_RESOURCES wins, and a wrong one is named, never silently replaced.
        #expect(Self.same(try SiteResources.root(environment: ["MADOGUCHI_RESOURCES": share.path], executable: binary), share))
        #expect(throws: SiteResourceError.self) {
            try SiteResources.root(environment: ["MADOGUCHI_RESOURCES": "/nonexistent/resources"], executable: binary)
        }
        try? FileManager.default.removeItem(at: install)
    }

    @Test("an installed copy of the binary renders the policy from another folder, with its resources beside it")
    func installedCopy() async throws {
        let install = try Fixtures.temporaryDirectory()
        let binary = install.appendingPathComponent("madoguchi")
        try FileManager.default.copyItem(at: Command.executable, to: binary)
        try FileManager.default.copyItem(
            at: try SiteResources.root(environment: [:], executable: nil),
            to: install.appendingPathComponent(SiteResources.folderName)
        )
        let rendered = try await Child.run(
            binary.path,
            ["policy", "render", "--lang", "en", "--policy", Fixtures.examplePolicyPath],
            environment: Command.environment([:]),
            workingDirectory: install.path
        )
        #expect(rendered.exitCode == 0 && rendered.stdout.contains("How We Handle Your Personal Data"), "\(rendered.stderr)")
        let wrong = try await Child.run(
            binary.path,
            ["policy", "render", "--lang", "en", "--policy", Fixtures.examplePolicyPath],
            environment: Command.environment(["MADOGUCHI_RESOURCES": "/nonexistent/resources"]),
            workingDirectory: install.path
        )
        #expect(wrong.exitCode == 4 && wrong.stderr.contains("MADOGUCHI_RESOURCES: /nonexistent/resources"), "\(wrong.stderr)")
        try? FileManager.default.removeItem(at: install)
    }
}
