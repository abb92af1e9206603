import Crypto
import Foundation
import FoundationNetworking
import Logging
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// Runs the built `madoguchi` executable as an operator would.
struct Command {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("madoguchi")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return Fixtures.repositoryRoot.appendingPathComponent(".build/debug/madoguchi")
    }

    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MADOGUCHI_") }
        environment.merge(extra) { $1 }
        return environment
    }

    /// Runs the executable (without blocking a concurrency thread: a blocked cooperative pool would starve the
    /// test's own database connections while the child waits on them). A signal shows as 128 + its number.
    static func run(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> Result {
        let finished = try await Child.run(
            executable.path,
            arguments,
            environment: environment(extra),
            workingDirectory: Fixtures.repositoryRoot.path
        )
        return Result(status: finished.exitCode ?? 128 + (finished.signal ?? 0), stdout: finished.stdout, stderr: finished.stderr)
    }
}

@Suite("Command line", .serialized)
struct CommandLineTests {
    // R-PUR-1: the operator sees every problem with its line before anything is published.
    @Test("policy check: ok and exit 0 for a valid file; every problem as FILE:LINE:COLUMN and exit 1 otherwise")
    func check() async throws {
        let ok = try await Command.run(["policy", "check", "examples/policy.yaml"])
        #expect(ok.status == 0)
        #expect(
            ok.stdout == "examples/policy.yaml: 正常(版 2026-12-06、サービス 4、利用目的 4、項目 5、外部送信先 8)\n"
                + "examples/policy.yaml: ok (version 2026-12-06, 4 services, 4 purposes, 5 fields, 8 vendors)\n"
        )

        let broken = try temporaryPolicy(
            try Fixtures.examplePolicyText()
                .replacingOccurrences(of: "purposes: [answer-inquiries, match-history]\n", with: "purposes: [answer-inquiries, history]\n")
                .replacingOccurrences(of: "basic_policy_url: https://www.mirai-career.example/privacy/basic-policy", with: "basic_policy_url: nope")
        )
        let bad = try await Command.run(["policy", "check", "examples/policy.yaml", broken])
        #expect(bad.status == 1)
        // Each problem: `FILE:LINE:COLUMN: 日本語`, then its English wording indented on the next line.
        let all = bad.stderr.split(separator: "\n")
        let lines = all.filter { !$0.hasPrefix("    ") }
        #expect(lines.count == 2 && all.count == 4, "\(bad.stderr)")
        for line in lines {
            #expect(line.hasPrefix("\(broken):"), "\(line)")
            let parts = line.split(separator: ":", maxSplits: 3)
            #expect(Int(parts[1]) != nil && Int(parts[2]) != nil, "\(line)")
        }
        #expect(
            bad.stderr.contains(
                "operator.basic_policy_url: 'nope' は http(s) の URL として正しくありません\n"
                    + "    operator.basic_policy_url: 'nope' is not a valid http(s) URL"
            )
        )
        #expect(bad.stderr.contains("unknown purpose 'history'"))

        let none = try await Command.run(["policy", "check"])
        #expect(none.status != 0)
        let missing = try await Command.run(["policy", "check", "/nonexistent/policy.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("/nonexistent/policy.yaml:1:1: ポリシーファイルを読めません"))
        #expect(missing.stderr.contains("\n    cannot read the policy file"))

        // R-LAW-1: what depends on the operator's situation is a warning — said with its article, and the file is ok.
        let warned = try temporaryPolicy(
            try Fixtures.examplePolicyText().replacingOccurrences(of: "{ ja: セッション, en: Session }", with: "{ ja: セッションなど, en: Session }")
        )
        let warning = try await Command.run(["policy", "check", warned])
        #expect(warning.status == 0)
        #expect(warning.stderr.contains(": 警告: vendors[7].items[1]: 「など」で終わる書き方では"), "\(warning.stderr)")
        #expect(
            warning.stderr.contains("\n    warning: vendors[7].items[1]: 'など' leaves the items sent open; list each item on its own (TBA Art. 27-12)")
        )
        #expect(warning.stdout.contains("、警告 1 件)\n") && warning.stdout.contains(", 1 warning)\n"))
        // A requirement of the law is an error naming its article.
        let lawless = try temporaryPolicy(try Fixtures.examplePolicyText().replacingOccurrences(of: "complaints:  ", with: "complaint_desk:  "))
        let refused = try await Command.run(["policy", "check", lawless])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("missing required key 'complaints' (Order Art. 10(ii))"), "\(refused.stderr)")
    }

    @Test("policy render prints the page or its JSON")
    func render() async throws {
        let html = try await Command.run(["policy", "render", "--lang", "en", "--format", "html"])
        #expect(html.status == 0)
        #expect(html.stdout.hasPrefix("<!DOCTYPE html>"))
        #expect(html.stdout.contains("<html lang=\"en\">"))
        #expect(html.stdout.contains("Mirai Career Inc."))
        let external = try await Command.run(["policy", "render", "--page", "external"])
        #expect(external.stdout.contains("<h1>インフォマティブデータの外部送信</h1>"))
        let json = try await Command.run(["policy", "render", "--format", "json", "--policy", Fixtures.examplePolicyPath])
        #expect(json.status == 0)
        let policy: Policy = try PolicyLoader.load(path: Fixtures.examplePolicyPath)
        let printed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? NSDictionary
        let expected = try JSONSerialization.jsonObject(with: policy.publishedJSON()) as? NSDictionary
        #expect(printed == expected)
        let badLang = try await Command.run(["policy", "render", "--lang", "fr"])
        #expect(badLang.status != 0)
        #expect(badLang.stderr.contains("fr"))
    }

    @Test("serve refuses to start on an invalid policy file, with the same messages as check")
    func serveRefusesInvalidPolicy() async throws {
        let broken = try temporaryPolicy(
            try Fixtures.examplePolicyText().replacingOccurrences(of: "cookie_lifetime_days: 395", with: "cookie_lifetime_days: 500")
        )
        let directory = try Fixtures.temporaryDirectory()
        let result = try await Command.run(["serve", "--policy", broken, "--database", "sqlite:\(directory.path)/db.sqlite", "--port", "0"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(broken):"))
        #expect(result.stderr.contains("informative_data.cookie_lifetime_days: 500 is out of range; expected 1 to 400"))
        #expect(result.stderr.contains("ポリシーファイルに誤りがあるため起動しません\nmadoguchi: not starting"))
        // Nothing was created for an installation that never started.
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/db.sqlite"))

        let badURL = try await Command.run(["serve", "--database", "mysql://x"])
        #expect(badURL.status != 0)
        #expect(badURL.stderr.contains("--database: 使えないデータベース URL です。"))
        #expect(badURL.stderr.contains("\n--database: unsupported database URL"))
        let badPort = try await Command.run(["serve", "--port", "70000"])
        #expect(badPort.status != 0)
        #expect(badPort.stderr.contains("--port: 70000 は 0〜65535 の範囲にありません\n--port: 70000 is not between 0 and 65535"))
        for (arguments, environment, message) in [
            (["serve", "--campaign-rate", "0"], [String: String](), "--campaign-rate: 0 is not between 1 and 100000"),
            (["serve", "--log-format", "xml"], [:], "--log-format: 'xml' is neither text nor json"),
            (["serve"], ["MADOGUCHI_LOG_FORMAT": "yaml"], "--log-format: 'yaml' is neither text nor json"),
            (["serve", "--campaign-rate", "100001"], [:], "--campaign-rate: 100001 is not between 1 and 100000"),
            (["serve"], ["MADOGUCHI_CAMPAIGN_RATE": "fast"], "MADOGUCHI_CAMPAIGN_RATE: 'fast' is not a number"),
            (["serve"], ["MADOGUCHI_CAMPAIGN_RATE": "99999999999999999999999"], "is not a number"),
            (["serve", "--metrics-port", "8080"], [:], "--metrics-port: 8080 is the public port"),
            (["serve", "--metrics-port", "0"], [:], "--metrics-port: 0 is not between 1 and 65535"),
            (["serve"], ["MADOGUCHI_METRICS_PORT": "metrics"], "MADOGUCHI_METRICS_PORT: 'metrics' is not a port number"),
        ] {
            let refused = try await Command.run(arguments, environment: environment)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(arguments) \(environment): \(refused.stderr)")
        }
        let badSMTP = try await Command.run(["serve", "--smtp", "smtp://user:pw@mail.example.jp?security=none"])
        #expect(badSMTP.status != 0)
        #expect(badSMTP.stderr.contains("--smtp: TLS なしで SMTP のパスワードは送りません。"))
        // #21: the EHLO name and the envelope sender are checked, and only go with --smtp.
        let badHelo = try await Command.run(["serve", "--smtp", "smtp://mail.example.jp", "--smtp-helo", "a b"])
        #expect(badHelo.status == 2 && badHelo.stderr.contains("--smtp-helo: 'a b' is not a host name"), "\(badHelo.stderr)")
        let badBounce = try await Command.run(["serve", "--smtp", "smtp://mail.example.jp"], environment: ["MADOGUCHI_BOUNCE_ADDRESS": "nowhere"])
        #expect(badBounce.status == 2 && badBounce.stderr.contains("--bounce-address: 'nowhere' is not an e-mail address"))
        let alone = try await Command.run(["serve", "--bounce-address", "bounces@example.jp"])
        #expect(alone.status == 2 && alone.stderr.contains("go with --smtp"), "\(alone.stderr)")
        #expect(badSMTP.stderr.contains("\n--smtp: refusing to send an SMTP password without TLS"))
        let badProxy = try await Command.run(["serve", "--trusted-proxy", "10.0.0.0/8,10.0.0.0/33"])
        #expect(badProxy.status != 0)
        #expect(badProxy.stderr.contains("--trusted-proxy: '10.0.0.0/33' は IP アドレスでも CIDR"))
        #expect(badProxy.stderr.contains("\n--trusted-proxy: '10.0.0.0/33' is not an IP address or CIDR"))
        let badEnvProxy = try await Command.run(["serve"], environment: ["MADOGUCHI_TRUSTED_PROXIES": "proxy.example"])
        #expect(badEnvProxy.status != 0 && badEnvProxy.stderr.contains("'proxy.example'"))
        let badEnvPort = try await Command.run(["serve"], environment: ["MADOGUCHI_PORT": "eighty"])
        #expect(badEnvPort.status != 0)
        // #21: the pool size is bounded, and refused by name with exit 2 (usage).
        let badPool = try await Command.run(["serve", "--pool-size", "0"])
        #expect(badPool.status == 2 && badPool.stderr.contains("--pool-size"), "\(badPool.stderr)")
        let badEnvPool = try await Command.run(["serve"], environment: ["MADOGUCHI_POOL_SIZE": "lots"])
        #expect(badEnvPool.status == 2 && badEnvPool.stderr.contains("MADOGUCHI_POOL_SIZE"), "\(badEnvPool.stderr)")
        #expect(badEnvPort.stderr.contains("MADOGUCHI_PORT"))
    }

    @Test("R-OPS-1: policy load stores a valid file as a version for every server; refuses what it must", arguments: TestDatabase.available)
    func policyLoad(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        let missing = try await Command.run(["policy", "load", "examples/policy.yaml", "--database", "sqlite:/nonexistent/db.sqlite"])
        #expect(missing.status != 0 && missing.stderr.contains("does not exist"))
        // An empty database: refused until migrated (nothing is created).
        if kind == .postgres {
            let empty = try await Command.run(["policy", "load", "examples/policy.yaml", "--database", fresh.url])
            #expect(empty.status == 3 && empty.stderr.contains("run madoguchi migrate first"), "\(empty.stderr)")
        }
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        let stored = try await Command.run(["policy", "load", "examples/policy.yaml", "--database", fresh.url])
        #expect(stored.status == 0, "\(stored.stderr)")
        #expect(stored.stdout.contains("stored version 2026-12-06") && stored.stdout.contains("running servers switch to it within 5 seconds"))
        let again = try await Command.run(["policy", "load", "examples/policy.yaml", "--database", fresh.url])
        #expect(again.status == 0 && again.stdout.contains("already stored with this content"))
        // The same id with other content, and an invalid file: refused, exit 1.
        let reused = try temporaryPolicy(
            try Fixtures.examplePolicyText().replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: 4")
        )
        // #21: policy check --database finds the reused id before serve would refuse to start on it.
        let checked = try await Command.run(["policy", "check", reused, "--database", fresh.url])
        #expect(checked.status == 1 && checked.stderr.contains("already stored with different content"), "\(checked.stderr)")
        let checkedSame = try await Command.run(["policy", "check", "examples/policy.yaml", "--database", fresh.url])
        #expect(checkedSame.status == 0 && checkedSame.stdout.contains("version 2026-12-06 is stored with this content"), "\(checkedSame.stdout)")
        let conflict = try await Command.run(["policy", "load", reused, "--database", fresh.url])
        #expect(conflict.status == 1 && conflict.stderr.contains("already stored with different content"), "\(conflict.stderr)")
        let broken = try temporaryPolicy("version: [")
        #expect(try await Command.run(["policy", "load", broken, "--database", fresh.url]).status == 1)
        // A version whose text took effect earlier is stored, with a note that servers keep the later one.
        let older = try temporaryPolicy(
            try Fixtures.examplePolicyText().replacingOccurrences(of: "version: \"2026-12-06\"", with: "version: \"2026-12-05b\"")
                .replacingOccurrences(of: "  - 2026-12-06\n", with: "")
        )
        let note = try await Command.run(["policy", "load", older, "--database", fresh.url])
        #expect(note.status == 0 && note.stderr.contains("version 2026-12-06 took effect later"), "\(note.stdout) \(note.stderr)")
        try await fresh.cleanUp()
    }

    @Test("migrate creates the schema, a second run is a no-op; flags win over the environment", arguments: TestDatabase.available)
    func migrate(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        let first = try await Command.run(["migrate", "--database", fresh.url])
        #expect(first.status == 0, "\(first.stderr)")
        let all = Migrations.all.map(\.version)
        #expect(first.stdout.contains("applied \(all.map(String.init).joined(separator: ", ")); schema is at version \(all.last!)"))
        // The environment variable is used when no flag is given.
        let second = try await Command.run(["migrate"], environment: ["MADOGUCHI_DATABASE_URL": fresh.url])
        #expect(second.status == 0)
        #expect(second.stdout.contains("スキーマは最新です(版 \(all.last!))\n\(fresh.location): schema is up to date (version \(all.last!))"))
        // A flag wins over the environment.
        let flagWins = try await Command.run(["migrate", "--database", fresh.url], environment: ["MADOGUCHI_DATABASE_URL": "mysql://nowhere"])
        #expect(flagWins.status == 0)
        #expect(!flagWins.stdout.contains("password"))
        // A new SQLite file (and its log) is its owner's alone.
        if case let .sqlite(path) = fresh.location {
            #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        }
        // #21: migrate makes the key store it is given (and none it is not: no file appears in the working folder).
        #expect(first.stdout.contains("no key store given, none made"), "\(first.stdout)")
        let keys = try Fixtures.temporaryDirectory().appendingPathComponent("keys/keystore.sqlite").path
        let withKeys = try await Command.run(["migrate", "--database", fresh.url, "--keystore", "sqlite:" + keys])
        #expect(withKeys.status == 0 && withKeys.stdout.contains("(key store): schema is at version 1"), "\(withKeys.stdout)")
        #expect(FileManager.default.fileExists(atPath: keys))
        try await fresh.cleanUp()
    }

    @Test(
        "R-VER-3: policy diff names what changed between two files or stored versions; --format json; unknown versions are refused",
        arguments: TestDatabase.available
    )
    func policyDiff(_ kind: TestDatabase) async throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: Fixtures.examplePolicyPath, encoding: .utf8)
        let old: Policy = try PolicyLoader.load(path: Fixtures.examplePolicyPath)
        var text = original.replacingOccurrences(of: "version: \"\(old.version)\"", with: "version: \"2027-01-01\"")
            .replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: 5")
            .replacingOccurrences(
                of: "    purposes: [answer-inquiries, match-history]\n",
                with: "    purposes: [answer-inquiries, match-history, marketing]\n"
            )
        #expect(text != original)
        text = text.replacingOccurrences(of: "retention_days: 730", with: "retention_days: 900")
        let newer = directory.appendingPathComponent("newer.yaml")
        try text.write(to: newer, atomically: true, encoding: .utf8)

        let same = try await Command.run(["policy", "diff", Fixtures.examplePolicyPath, Fixtures.examplePolicyPath])
        #expect(same.status == 0 && same.stdout.contains("違いはありません。\nNo differences."), "\(same.stderr)")

        let files = try await Command.run(["policy", "diff", Fixtures.examplePolicyPath, newer.path])
        #expect(files.status == 0, "\(files.stderr)")
        #expect(files.stdout.hasPrefix("ポリシーの変更: \(old.version) → 2027-01-01\nPolicy changes: \(old.version) → 2027-01-01\n"))
        #expect(files.stdout.contains("  ~ phone: 利用目的の追加: marketing\n      now also used for: marketing\n"))
        #expect(files.stdout.contains("  ~ answer_business_days: 回答までの営業日: 3 → 5\n"))
        #expect(files.stdout.contains("保存期間 730日 → 900日"))
        #expect(files.stdout.contains("  ! marketing ← phone (項目への追加 / added to items)"))

        let json = try await Command.run(["policy", "diff", Fixtures.examplePolicyPath, newer.path, "--format", "json"])
        let diff = try JSONDecoder().decode(PolicyDiff.self, from: Data(json.stdout.utf8))
        #expect(diff.purposeChanges == [PolicyDiff.PurposeChange(purpose: "marketing", fields: ["phone"], newPurpose: false)])
        #expect(diff.changes(in: .requests).map(\.id) == ["answer_business_days"])

        // A stored version by its id, against a file.
        let fresh = try await kind.makeLocation()
        let database = try await Database.open(fresh.location, logger: quietLogger)
        try await Migrations.apply(to: database)
        _ = try await PolicyVersionStore(database: database).store(old, source: original)
        await database.close()
        let stored = try await Command.run(["policy", "diff", old.version, newer.path, "--database", fresh.url])
        #expect(stored.status == 0 && stored.stdout == files.stdout, "\(stored.stderr)")
        let unknown = try await Command.run(["policy", "diff", "1999-01-01", newer.path, "--database", fresh.url])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("'1999-01-01'") && unknown.stderr.contains("stored versions: \(old.version)"))
        try await fresh.cleanUp()

        // No database where one is named but none exists: refused, and none is made.
        let missing = directory.appendingPathComponent("nowhere.sqlite").path
        let refused = try await Command.run(["policy", "diff", old.version, newer.path, "--database", "sqlite:" + missing])
        #expect(refused.status != 0 && refused.stderr.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test(
        "R-MAIL-1: campaigns status prints each campaign with its sent, skipped, waiting and failed counts; an unknown id is refused",
        arguments: TestDatabase.available
    )
    func campaignsStatus(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        let none = try await Command.run(["campaigns", "status", "--database", fresh.url])
        #expect(none.status == 0 && none.stdout == "配信はまだありません\nno campaigns yet\n", "\(none.stderr)")
        let database = try await Database.open(fresh.location, logger: quietLogger)
        let now = database.kind == .sqlite ? SQLBind(Date().formatted(.iso8601)) : SQLBind(Date())
        try await database.transaction { db in
            try await db.insert(into: "campaigns")
                .columns("id", "kind", "purpose_id", "services", "subject", "body", "status", "created_by", "created_at")
                .values(
                    SQLBind("c1"),
                    SQLBind("magazine"),
                    SQLBind("marketing"),
                    SQLBind("agent"),
                    SQLBind("秋のお知らせ"),
                    SQLBind("本文"),
                    SQLBind("sending"),
                    SQLBind("staff:1"),
                    now
                ).run()
            for (subject, status) in [("s1", "sent"), ("s2", "sent"), ("s3", "skipped"), ("s4", "queued")] {
                try await db.insert(into: "campaign_recipients").columns("campaign_id", "subject_id", "status", "outbox_id", "updated_at")
                    .values(SQLBind("c1"), SQLBind(subject), SQLBind(status), SQLBind(subject == "s2" ? "o2" : nil), now).run()
            }
            // s2's message was refused for good by the relay.
            try await db.insert(into: "outbox")
                .columns("id", "subject_id", "kind", "sealed", "status", "attempts", "next_attempt_at", "created_at")
                .values(SQLBind("o2"), SQLBind("s2"), SQLBind("campaign"), SQLBind(Data([0])), SQLBind("failed"), SQLBind(1), now, now).run()
        }
        await database.close()
        let all = try await Command.run(["campaigns", "status", "--database", fresh.url])
        #expect(all.status == 0 && all.stdout == "c1 sending 2 1 1 1 秋のお知らせ\n", "\(all.stderr)")
        #expect(try await Command.run(["campaigns", "status", "c1", "--database", fresh.url]).stdout == all.stdout)
        let unknown = try await Command.run(["campaigns", "status", "nope", "--database", fresh.url])
        #expect(unknown.status != 0 && unknown.stderr.contains("there is no campaign 'nope'"))
        try await fresh.cleanUp()
    }

    @Test("R-RET-1: purge --dry-run lists who is past retention and erases nothing; a missing database is refused, not made")
    func purgeDryRun() async throws {
        let fresh = try await TestDatabase.sqlite.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        let none = try await Command.run(["purge", "--dry-run", "--database", fresh.url, "--key-file", "/nonexistent/master.key"])
        #expect(none.status == 0 && none.stdout == "保存期間の過ぎた方はいません\nnobody is past retention\n", "\(none.stderr)")
        let missing = try await Command.run(["purge", "--dry-run", "--database", "sqlite:/nonexistent/madoguchi.sqlite"])
        #expect(missing.status != 0 && missing.stderr.contains("does not exist"))
        // Erasing needs the master key; without it the command stops before touching anything (exit 3).
        let noKey = try await Command.run(["purge", "--database", fresh.url, "--key-file", "/nonexistent/master.key"])
        #expect(noKey.status == 3 && noKey.stderr.contains("the key file /nonexistent/master.key does not exist"))
        try await fresh.cleanUp()
    }

    @Test("R-OUT-1, R-OUT-2: contractors check names each ended agreement, agreement ending soon and overdue review; exit 1 only for what is due")
    func contractorsCheck() async throws {
        // The example: mail-delivery's agreement runs to 2027-03-31 (review 2025-04-15); support-desk's ended 2026-06-30.
        let early = try await Command.run(["contractors", "check", "--today", "2025-05-01"])
        #expect(
            early.status == 0 && early.stdout == "2025-05-01: 委託先に対応の必要なことはありません\n2025-05-01: nothing is due for the contractors\n",
            "\(early.stderr)"
        )
        let soon = try await Command.run(["contractors", "check", "--today", "2026-06-10"])
        #expect(soon.status == 1 && soon.stdout.contains("support-desk: the confidentiality agreement ends on 2026-06-30"))
        #expect(soon.stdout.contains("mail-delivery: the supervision review is overdue since 2026-04-15"))
        let late = try await Command.run(["contractors", "check", "--today", "2026-12-04"])
        #expect(late.status == 1 && late.stdout.contains("support-desk: the confidentiality agreement ended on 2026-06-30"))
        let bad = try await Command.run(["contractors", "check", "--today", "2026-02-30"])
        #expect(bad.status != 0 && bad.stderr.contains("--today: '2026-02-30' is not a date"))
    }

    @Test(
        "R-OUT-1: with --database, contractors check counts the console's records: a renewed agreement is no longer due, an unsuitable assessment is; a missing database is refused, not made",
        arguments: TestDatabase.available
    )
    func contractorsCheckWithRecords(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
        let database = try await Database.open(fresh.location, logger: quietLogger)
        let register = ContractorRegister(database: database)
        let renewedOn = LocalDate(japanAt: Date()).adding(days: -1).description
        _ = try await register.record(
            contractorID: "support-desk",
            kind: "agreement",
            on: renewedOn,
            until: "2030-06-30",
            result: "",
            notes: "",
            policy: policy,
            actor: "staff:dpo"
        )
        for contractor in ["mail-delivery", "marketing-automation", "support-desk"] {
            _ = try await register.record(
                contractorID: contractor,
                kind: "review",
                on: renewedOn,
                until: "",
                result: "no-findings",
                notes: "",
                policy: policy,
                actor: "staff:dpo"
            )
        }
        // A day when, by the policy file alone, support-desk's agreement has ended and every review is overdue.
        let today = "2027-01-15"
        let withoutRecords = try await Command.run(["contractors", "check", "--today", today])
        #expect(withoutRecords.status == 1 && withoutRecords.stdout.contains("support-desk: the confidentiality agreement ended on 2026-06-30"))
        let renewed = try await Command.run(["contractors", "check", "--today", today, "--database", fresh.url])
        #expect(renewed.status == 0, "\(renewed.stdout)\(renewed.stderr)")
        _ = try await register.record(
            contractorID: "marketing-automation",
            kind: "assessment",
            on: renewedOn,
            until: "",
            result: "unsuitable",
            notes: "No access control on exports.",
            policy: policy,
            actor: "staff:dpo"
        )
        let unsuitable = try await Command.run(["contractors", "check", "--today", today, "--database", fresh.url])
        #expect(
            unsuitable.status == 1
                && unsuitable.stdout.contains("marketing-automation: the assessment of \(renewedOn) found its protection not suitable")
        )
        await database.close()
        try await fresh.cleanUp()
        let missing = try await Command.run(["contractors", "check", "--database", "sqlite:/nonexistent/madoguchi.sqlite"])
        #expect(missing.status != 0 && missing.stderr.contains("the database /nonexistent/madoguchi.sqlite does not exist"))
    }

    @Test("help explains every option and its environment variable")
    func help() async throws {
        let top = try await Command.run(["--help"])
        for subcommand in ["serve", "migrate", "policy"] { #expect(top.stdout.contains(subcommand)) }
        // Japanese first: each command's summary, then the English; each option's help, a Japanese line above the English.
        #expect(top.stdout.contains("サーバーを動かします。 / Run the server."))
        let helpJapaneseFirst = try await Command.run(["serve", "--help"]).stdout
        if let japanese = helpJapaneseFirst.range(of: "待ち受けるポート。"), let english = helpJapaneseFirst.range(of: "Port to listen on.") {
            #expect(japanese.lowerBound < english.lowerBound)
        } else {
            Issue.record("serve --help lacks the port option's help in both languages: \(helpJapaneseFirst)")
        }
        let serve = try await Command.run(["serve", "--help"])
        for option in [
            "--host", "--port", "--database", "--policy", "--log-level", "MADOGUCHI_HOST", "MADOGUCHI_PORT",
            "MADOGUCHI_DATABASE_URL", "MADOGUCHI_POLICY",
        ] {
            #expect(serve.stdout.contains(option), "\(option)")
        }
        let render = try await Command.run(["policy", "render", "--help"])
        for option in ["--lang", "--format", "--page", "--policy"] { #expect(render.stdout.contains(option)) }
    }

    @Test("serve runs on a real port until it is stopped (environment configuration)", arguments: TestDatabase.available)
    func serveLive(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        let keys = try Fixtures.temporaryDirectory()
        let port = Int.random(in: 20_000...29_999)
        let metricsPort = port + 10_000
        let server = try await Child.Running.start(
            Command.executable.path,
            ["serve"],
            environment: Command.environment([
                "MADOGUCHI_PORT": "\(port)", "MADOGUCHI_DATABASE_URL": fresh.url, "MADOGUCHI_LOG_LEVEL": "warning",
                "MADOGUCHI_METRICS_PORT": "\(metricsPort)",
                "MADOGUCHI_KEY_FILE": keys.appendingPathComponent("master.key").path,
                "MADOGUCHI_KEYSTORE_URL": "sqlite:" + keys.appendingPathComponent("keystore.sqlite").path,
            ]),
            workingDirectory: Fixtures.repositoryRoot.path,
            awaitingFirstLine: false
        )

        var page: String?
        for _ in 0..<100 {
            if let (data, response) = try? await fetch("http://127.0.0.1:\(port)/privacy?lang=en"),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                page = String(decoding: data, as: UTF8.self)
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        if kind == .sqlite {
            // #21: one server per SQLite file; a second one is refused with exit 3, naming the holder.
            let second = try await Command.run(
                ["serve", "--port", "\(port + 1)"],
                environment: [
                    "MADOGUCHI_DATABASE_URL": fresh.url, "MADOGUCHI_KEY_FILE": keys.appendingPathComponent("master.key").path,
                    "MADOGUCHI_KEYSTORE_URL": "sqlite:" + keys.appendingPathComponent("keystore.sqlite").path,
                ]
            )
            #expect(second.status == 3, "\(second.stderr)")
            #expect(second.stderr.contains("another madoguchi serve (process "), "\(second.stderr)")
        }
        // R-OPS-1: /metrics on its own listener, not on the public one.
        let metrics = try? await fetch("http://127.0.0.1:\(metricsPort)/metrics")
        let publicMetrics = try? await fetch("http://127.0.0.1:\(port)/metrics")
        let ended = try await server.stop(terminate: true)
        #expect(page?.contains("How We Handle Your Personal Data") == true)
        let text = metrics.map { String(decoding: $0.0, as: UTF8.self) } ?? ""
        #expect(text.contains(#"hb_requests{http_route="/privacy",http_request_method="GET",http_response_status_code="200"}"#), "\(text)")
        #expect(text.contains("madoguchi_database_up 1"))
        #expect((publicMetrics?.1 as? HTTPURLResponse)?.statusCode == 404)
        // SIGTERM is a graceful shutdown: the server ends with 0.
        #expect(ended.exitCode == 0)
        try await fresh.cleanUp()
    }

    @Test(
        "#21: exit statuses mean one thing each — 2 for the command line (said in Japanese first, with the subcommand's usage), 3 when a store cannot be used (a missing file, a wrong password, a missing database, a schema newer than the binary), and --version",
        arguments: TestDatabase.available
    )
    func exitStatuses(_ kind: TestDatabase) async throws {
        let unknown = try await Command.run(["audit", "verify", "--bogus"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("エラー: 知らないオプションです: '--bogus'"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("Error: Unknown option '--bogus'") && unknown.stderr.contains("Usage: madoguchi audit verify"))
        let badValue = try await Command.run(["calendar", "due", "2026-12-01", "--days", "many"])
        #expect(badValue.status == 2 && badValue.stderr.hasPrefix("エラー: '--days <days>' の値 'many' は使えません"), "\(badValue.stderr)")
        // Our own refusals stay as they are (already Japanese first), with exit 2.
        let ownRefusal = try await Command.run(["audit", "verify", "--expect", "nonsense"])
        #expect(ownRefusal.status == 2 && ownRefusal.stderr.hasPrefix("Error: --expect: 'nonsense' は SEQ:HASH"), "\(ownRefusal.stderr)")

        let version = try await Command.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "madoguchi \(MadoguchiRelease.version) (schema \(Migrations.all.map(\.version).max()!), key store schema 1)\n")

        let folder = try Fixtures.temporaryDirectory()
        let nowhere = folder.appendingPathComponent("none.sqlite").path
        let missing = try await Command.run(["requests", "due", "--check", "--database", "sqlite:" + nowhere])
        #expect(missing.status == 3 && missing.stderr.contains("does not exist"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: nowhere), "no database is made")

        let fresh = try await kind.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        if case .postgres = fresh.location, var url = URLComponents(string: fresh.url) {
            url.password = "not-the-password"
            let started = ContinuousClock.now
            let refused = try await Command.run(["audit", "head", "--database", url.string ?? ""])
            #expect(refused.status == 3 && refused.stderr.contains("refused to authenticate user"), "\(refused.stderr)")
            #expect(ContinuousClock.now - started < .seconds(30), "said at once, not after the pool's retries")
            url.password = URLComponents(string: fresh.url)?.password
            url.path = "/no_such_database"
            let noDatabase = try await Command.run(["audit", "head", "--database", url.string ?? ""])
            #expect(noDatabase.status == 3 && noDatabase.stderr.contains("SQLSTATE 3D000"), "\(noDatabase.stderr)")
        }
        // A newer release migrated this database: this binary refuses it, for reading and for migrating.
        let database = try await Database.open(fresh.location, logger: .init(label: "test"))
        try await database.transaction { db in
            try await db.raw("INSERT INTO madoguchi_schema (version, name, applied_at) VALUES (999, 'from the future', '2030-01-01T00:00:00Z')").run()
        }
        await database.close()
        for arguments in [["audit", "head"], ["migrate"], ["requests", "due"]] {
            let newer = try await Command.run(arguments + ["--database", fresh.url])
            #expect(newer.status == 3, "\(arguments)")
            #expect(newer.stderr.contains("is at step 999, newer than this madoguchi knows"), "\(arguments): \(newer.stderr)")
        }
        try await fresh.cleanUp()
    }

    private func fetch(_ url: String) async throws -> (Data, URLResponse) {
        try await URLSession.shared.data(from: URL(string: url)!)
    }
}

@Suite("Command line: staff and audit", .serialized)
struct StaffAuditCommandTests {
    /// A master key given the way a deployment may give it; no key file is looked for.
    static let key = ["MADOGUCHI_MASTER_KEY": KeyRing.generateKeyLine()]

    @Test("#21: user list, disable, enable, reset and remove, as an operator runs them; the last administrator stays")
    func userLifecycle() async throws {
        let fresh = try await TestDatabase.sqlite.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        for (email, role) in [("admin@mirai-career.example", "admin"), ("op@mirai-career.example", "operator")] {
            let added = try await Command.run(["user", "add", "--email", email, "--role", role, "--database", fresh.url], environment: Self.key)
            #expect(added.status == 0, "\(added.stderr)")
        }
        let listed = try await Command.run(["user", "list", "--database", fresh.url])
        let lines = listed.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(
            lines.map { Array($0.prefix(4)) } == [
                ["admin@mirai-career.example", "admin", "-", "setup-pending"], ["op@mirai-career.example", "operator", "-", "setup-pending"],
            ]
        )
        let disabled = try await Command.run(["user", "disable", "op@mirai-career.example", "--database", fresh.url], environment: Self.key)
        #expect(disabled.status == 0 && disabled.stdout.contains("disabled op@mirai-career.example"), "\(disabled.stderr)")
        #expect(try await Command.run(["user", "list", "--database", fresh.url]).stdout.contains("op@mirai-career.example\toperator\t-\tdisabled"))
        let last = try await Command.run(["user", "remove", "admin@mirai-career.example", "--database", fresh.url], environment: Self.key)
        #expect(last.status == 1 && last.stderr.contains("no administrator (admin) who can sign in would be left"), "\(last.stderr)")
        let unknown = try await Command.run(["user", "enable", "nobody@mirai-career.example", "--database", fresh.url], environment: Self.key)
        #expect(unknown.status == 1 && unknown.stderr.contains("there is no staff account for nobody@mirai-career.example"))
        #expect(try await Command.run(["user", "enable", "op@mirai-career.example", "--database", fresh.url], environment: Self.key).status == 0)
        // reset: a new link, on serve's own default address when nothing else is given.
        let reset = try await Command.run(
            ["user", "reset", "op@mirai-career.example", "--database", fresh.url],
            environment: Self.key.merging(["MADOGUCHI_PORT": "9090"]) { $1 }
        )
        #expect(reset.status == 0 && reset.stdout.contains("http://127.0.0.1:9090/console/setup?token="), "\(reset.stdout) \(reset.stderr)")
        let removed = try await Command.run(["user", "remove", "op@mirai-career.example", "--database", fresh.url], environment: Self.key)
        #expect(removed.status == 0 && removed.stdout.contains("removed op@mirai-career.example"))
        #expect(try await Command.run(["user", "list", "--database", fresh.url]).stdout.hasPrefix("admin@mirai-career.example\tadmin"))
        let noKey = try await Command.run([
            "user", "disable", "admin@mirai-career.example", "--database", fresh.url, "--key-file", "/nonexistent/key",
        ])
        #expect(noKey.status == 3)
        try await fresh.cleanUp()
    }

    @Test(
        "#21: mail failed lists failed mail without content (exit 1 while any); mail retry puts it back once, audited",
        arguments: TestDatabase.available
    )
    func mailFailedAndRetry(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        let none = try await Command.run(["mail", "failed", "--database", fresh.url])
        #expect(none.status == 0 && none.stdout.isEmpty && none.stderr.contains("no failed mail"), "\(none.stderr)")
        // A message the worker gave up on (its content stays sealed; the command never opens it).
        let database = try await Database.open(fresh.location, logger: .init(label: "test"))
        let id = RecordID.make()
        try await database.transaction { db in
            try await db.raw("INSERT INTO subjects (id, email_index, created_at) VALUES ('s1', 'index-1', '2026-12-01T00:00:00Z')").run()
            try await db.raw(
                """
                INSERT INTO outbox (id, subject_id, kind, sealed, status, attempts, next_attempt_at, created_at)
                VALUES (\(bind: id), 's1', 'inquiry-confirmation', \(bind: Data([1, 2, 3])), 'failed', 10, '2026-12-01T01:00:00Z', '2026-12-01T00:00:00Z')
                """
            ).run()
        }
        await database.close()
        let listed = try await Command.run(["mail", "failed", "--database", fresh.url])
        #expect(listed.status == 1, "\(listed.stderr)")
        #expect(listed.stdout == "\(id)\tinquiry-confirmation\t10\t2026-12-01T00:00:00Z\n", "\(listed.stdout)")
        let bad = try await Command.run(["mail", "retry", "x;DROP TABLE outbox", "--database", fresh.url], environment: Self.key)
        #expect(bad.status == 2 && bad.stderr.contains("is not a message id"), "\(bad.stderr)")
        let retried = try await Command.run(["mail", "retry", id, "--database", fresh.url], environment: Self.key)
        #expect(retried.status == 0 && retried.stdout.contains("\(id): queued again"), "\(retried.stderr)")
        let again = try await Command.run(["mail", "retry", id, "--database", fresh.url], environment: Self.key)
        #expect(again.status == 1 && again.stderr.contains("not a failed message"), "\(again.stderr)")
        #expect(try await Command.run(["mail", "failed", "--database", fresh.url]).status == 0)
        let noKey = try await Command.run(["mail", "retry", id, "--database", fresh.url, "--key-file", "/nonexistent/master.key"])
        #expect(noKey.status == 3, "\(noKey.stderr)")
        let check = try await Database.open(fresh.location, logger: .init(label: "test"))
        let row = try await check.read { db in
            try await db.raw("SELECT status, attempts FROM outbox WHERE id = \(bind: id)").first()
        }
        #expect(try row?.decode(column: "status", as: String.self) == "pending" && row?.decode(column: "attempts", as: Int.self) == 0)
        #expect(try await AuditLog.entries(in: check).filter { $0.event.action == "mail.requeue" }.count == 1)
        await check.close()
        try await fresh.cleanUp()
    }

    @Test("user add prints a one-time set-up link; bad roles and departments are refused")
    func userAdd() async throws {
        let fresh = try await TestDatabase.sqlite.makeLocation()
        // Only migrate (or serve) makes a database; every other command refuses a missing one.
        let missing = try await Command.run(
            ["user", "add", "--email", "op@mirai-career.example", "--role", "operator", "--database", fresh.url],
            environment: Self.key
        )
        #expect(missing.status != 0 && missing.stderr.contains("does not exist"), "\(missing.stderr)")
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        let added = try await Command.run(
            [
                "user", "add", "--email", "op@mirai-career.example", "--role", "operator", "--database", fresh.url,
                "--base-url", "https://inquiry.mirai-career.example",
            ],
            environment: Self.key
        )
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.hasPrefix("op@mirai-career.example を operator として追加しました\nadded op@mirai-career.example as operator\n"))
        #expect(added.stdout.contains("https://inquiry.mirai-career.example/console/setup?token="))
        let again = try await Command.run(
            ["user", "add", "--email", "op@mirai-career.example", "--role", "operator", "--database", fresh.url],
            environment: Self.key
        )
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        let badRole = try await Command.run(
            ["user", "add", "--email", "x@mirai-career.example", "--role", "root", "--database", fresh.url],
            environment: Self.key
        )
        #expect(badRole.status != 0 && badRole.stderr.contains("root"))
        let badDepartment = try await Command.run(
            [
                "user", "add", "--email", "x@mirai-career.example", "--role", "department",
                "--department", "nowhere", "--database", fresh.url,
            ],
            environment: Self.key
        )
        #expect(
            badDepartment.status == 1
                && badDepartment.stderr == "madoguchi: 部署 'nowhere' はポリシーファイルで宣言されていません\n"
                    + "madoguchi: no department 'nowhere' is declared in the policy file\n"
        )
        let badEmail = try await Command.run(
            ["user", "add", "--email", "not an address", "--role", "admin", "--database", fresh.url],
            environment: Self.key
        )
        #expect(badEmail.status == 1)
        // No key file: refused (exit 3), and none is made where the command happened to run.
        let noKey = try await Command.run([
            "user", "add", "--email", "k@mirai-career.example", "--role", "admin", "--database", fresh.url,
            "--key-file", "/nonexistent/master.key",
        ])
        #expect(noKey.status == 3 && noKey.stderr.contains("鍵ファイル /nonexistent/master.key がありません"))
        try await fresh.cleanUp()
    }

    @Test("R-AUD-1: audit verify passes on an intact chain and names the first changed entry", arguments: TestDatabase.available)
    func auditVerify(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        for index in 0..<3 {
            #expect(
                try await Command.run(
                    ["user", "add", "--email", "u\(index)@mirai-career.example", "--role", "admin", "--database", fresh.url],
                    environment: Self.key
                ).status == 0
            )
        }
        let intact = try await Command.run(["audit", "verify", "--database", fresh.url], environment: Self.key)
        #expect(intact.status == 0)
        #expect(intact.stdout == "監査ログのハッシュチェーンは正常です(3 件)\naudit log intact: 3 entries\n")
        let database = try await Database.open(fresh.location, logger: quietLogger)
        try await database.transaction { db in
            try await db.update("audit_log").set("actor", to: "cli ").where("seq", .equal, 2).run()
        }
        await database.close()
        let broken = try await Command.run(["audit", "verify", "--database", fresh.url], environment: Self.key)
        #expect(broken.status == 1)
        // Said in the console's words: Japanese first, then English.
        #expect(
            broken.stderr == "監査ログのハッシュチェーンが 2 件目で途切れています: 内容がハッシュと一致しません\n"
                + "audit log broken at entry 2: its content does not match its hash\n"
        )
        try await fresh.cleanUp()
    }

    @Test(
        "R-AUD-1: the chain is keyed: a tail re-hashed without the key, or cut back, is found (the latter with the head kept outside); no key, exit 3",
        arguments: TestDatabase.available
    )
    func auditHead(_ kind: TestDatabase) async throws {
        let fresh = try await kind.makeLocation()
        #expect(try await Command.run(["migrate", "--database", fresh.url]).status == 0)
        for index in 0..<4 {
            #expect(
                try await Command.run(
                    ["user", "add", "--email", "u\(index)@mirai-career.example", "--role", "admin", "--database", fresh.url],
                    environment: Self.key
                ).status == 0
            )
        }
        let head = try await Command.run(["audit", "head", "--database", fresh.url])
        #expect(head.status == 0)
        let anchor = head.stdout.trimmingCharacters(in: .newlines)
        #expect(anchor.hasPrefix("4:k1:") && anchor.count == "4:k1:".count + 64, "SEQ:HASH of the newest, keyed entry: \(anchor)")
        #expect(try await Command.run(["audit", "verify", "--database", fresh.url, "--expect", anchor], environment: Self.key).status == 0)

        // Someone with the database alone rewrites the newest entry and re-hashes it: without the key it cannot be keyed.
        let database = try await Database.open(fresh.location, logger: quietLogger)
        let last = try #require(try await AuditLog.entries(in: database, after: 3).first)
        let forged = AuditEvent(actor: "cli", action: "staff.add", record: last.event.record, detail: "role=operator department=-")
        let fields: [String?] = [
            "4", last.at, forged.actor, forged.action, forged.subjectID, forged.record, forged.purpose, forged.detail, last.previousHash,
        ]
        let rehashed = Hex.encode(SHA256.hash(data: try JSONEncoder().encode(fields)))
        try await database.transaction { db in
            try await db.update("audit_log").set("detail", to: forged.detail).set("hash", to: rehashed).where("seq", .equal, 4).run()
        }
        let rewritten = try await Command.run(["audit", "verify", "--database", fresh.url], environment: Self.key)
        #expect(rewritten.status == 1 && rewritten.stderr.contains("entry 4: it was written without the chain key after keyed entries"))

        // Cut back instead: the chain that is left checks out, but the head kept outside is gone.
        try await database.transaction { db in try await db.delete(from: "audit_log").where("seq", .greaterThanOrEqual, 4).run() }
        await database.close()
        #expect(try await Command.run(["audit", "verify", "--database", fresh.url], environment: Self.key).status == 0)
        let cut = try await Command.run(["audit", "verify", "--database", fresh.url, "--expect", anchor], environment: Self.key)
        #expect(cut.status == 1)
        #expect(
            cut.stderr == "控えておいた監査ログの項目 4 がないか、内容が変わっています(末尾が削られたか書き換えられています)\n"
                + "the audit log entry 4 kept outside is gone or different (the chain was cut back or rewritten)\n"
        )
        let badExpect = try await Command.run(["audit", "verify", "--database", fresh.url, "--expect", "four"], environment: Self.key)
        #expect(badExpect.status != 0 && badExpect.stderr.contains("--expect: 'four'"))

        // Without the key the keyed chain cannot be checked: exit 3, naming the file; no key file is created.
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("master.key").path
        let noKey = try await Command.run(["audit", "verify", "--database", fresh.url, "--key-file", keyPath])
        #expect(noKey.status == 3 && noKey.stderr.contains(keyPath))
        #expect(!FileManager.default.fileExists(atPath: keyPath))
        try await fresh.cleanUp()
    }
}

@Suite("Command line: calendar", .serialized)
struct CalendarCommandTests {
    // R-DSR-3: operators see the calendar the due dates are counted on.
    @Test("R-DSR-3: calendar holidays lists a year's holidays, one a line, in Japanese or English")
    func holidays() async throws {
        let ja = try await Command.run(["calendar", "holidays", "2026"])
        #expect(ja.status == 0)
        let lines = ja.stdout.split(separator: "\n")
        #expect(lines.count == 18)
        #expect(lines.first == "2026-01-01 元日")
        #expect(lines.contains("2026-09-22 国民の休日"))
        let en = try await Command.run(["calendar", "holidays", "2019", "--lang", "en"])
        #expect(en.stdout.contains("2019-05-01 Day of the Emperor's Enthronement\n"))
        for bad in ["1947", "2100", "twenty"] {
            let refused = try await Command.run(["calendar", "holidays", bad])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains(bad), "names the bad year")
        }
    }

    @Test("R-DSR-3: calendar due counts the policy's answer days, skipping its closed days; bad dates are refused")
    func due() async throws {
        #expect(try await Command.run(["calendar", "due", "2025-12-26"]).stdout == "2026-01-07\n")
        #expect(try await Command.run(["calendar", "due", "2026-09-16", "--days", "3"]).stdout == "2026-09-24\n")
        #expect(try await Command.run(["calendar", "due", "2026-04-28", "--days", "5"]).stdout == "2026-05-11\n")
        let directory = try Fixtures.temporaryDirectory()
        let policy = directory.appendingPathComponent("policy.yaml")
        let text = try Fixtures.examplePolicyText().replacingOccurrences(
            of: "  answer_business_days: 3\n",
            with: "  answer_business_days: 3\n  closed_days: [2026-09-24, 2026-09-25]\n"
        )
        try text.write(to: policy, atomically: true, encoding: .utf8)
        let closed = try await Command.run(["calendar", "due", "2026-09-16", "--policy", policy.path])
        #expect(closed.stdout == "2026-09-28\n", "\(closed.stderr)")
        let twice = text.replacingOccurrences(of: "[2026-09-24, 2026-09-25]", with: "[2026-09-24, 2026-09-24, 1900-01-01, soon]")
        try twice.write(to: policy, atomically: true, encoding: .utf8)
        let invalid = try await Command.run(["policy", "check", policy.path])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("requests.closed_days[1]: 2026-09-24 is listed twice"))
        #expect(invalid.stderr.contains("requests.closed_days[2]: 1900-01-01 is outside"))
        #expect(invalid.stderr.contains("requests.closed_days[3]: 'soon' is not a date"))
        for bad in ["2026-13-01", "26-01-01", "tomorrow"] {
            let refused = try await Command.run(["calendar", "due", bad])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("'\(bad)' is not a date"))
        }
        let negative = try await Command.run(["calendar", "due", "2026-01-05", "--days=-2"])
        #expect(negative.status != 0 && negative.stderr.contains("must not be negative"))
        let late = try await Command.run(["calendar", "due", "2099-12-30"])
        #expect(late.status != 0 && late.stderr.contains("2100 is outside"))
        try? FileManager.default.removeItem(at: directory)
    }
}

extension CalendarCommandTests {
    @Test("R-DSR-3, R-DSR-6: requests due lists overdue and due-today requests and those past two weeks from receipt; --check exits 1 for either")
    func requestsDue() async throws {
        try await VaultFixture.with(.sqlite) { fixture in
            let desk = RightsRequestDesk(vault: fixture.vault)
            let friday = try Date("2025-12-26T01:00:00Z", strategy: .iso8601)
            let valid = try RightsRequestForm.validate(
                RightsRequestSubmission(type: "erasure", email: "nobody@example.jp", name: "A"),
                policy: fixture.policy
            )
            .get()
            let receipt = try await desk.submit(
                valid,
                mail: { number, code in OutgoingMail(to: "nobody@example.jp", subject: number, body: code) },
                at: friday
            )
            _ = try await desk.verify(number: receipt.number, code: receipt.code, calendar: BusinessCalendar(), answerDays: 3, at: friday)
            guard case let .sqlite(path) = fixture.dataLocation else { return }
            let database = ["--database", "sqlite:" + path]
            let dueToday = try await Command.run(["requests", "due", "--today", "2026-01-07"] + database)
            #expect(dueToday.status == 0)
            #expect(dueToday.stdout == "2026-01-07 due-today \(receipt.number) erasure\n")
            let calm = try await Command.run(["requests", "due", "--today", "2026-01-06", "--check"] + database)
            #expect(calm.status == 0 && calm.stdout == "2026-01-06 に期限切れ・期限当日の請求はありません\nno requests overdue or due on 2026-01-06\n")
            let late = try await Command.run(["requests", "due", "--today", "2026-01-08", "--check"] + database)
            #expect(late.status == 1)
            #expect(late.stdout == "2026-01-07 overdue \(receipt.number) erasure\n")
            // Two weeks from receipt (R-DSR-6): received 2025-12-26, marked from 2026-01-10.
            let pastTwoWeeks = try await Command.run(["requests", "due", "--today", "2026-01-10", "--check"] + database)
            #expect(pastTwoWeeks.status == 1)
            #expect(pastTwoWeeks.stdout == "2026-01-07 overdue \(receipt.number) erasure past-14-days:2026-01-09\n")
            let bad = try await Command.run(["requests", "due", "--today", "8 January"] + database)
            #expect(bad.status != 0 && bad.stderr.contains("'8 January' is not a date"))
        }
    }
}
