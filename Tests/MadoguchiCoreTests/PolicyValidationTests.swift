import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

/// The policy file is validated as a whole: every problem is reported with its line, column and key (R-PUR-1).
@Suite("Policy file validation")
struct PolicyValidationTests {
    let example: String

    init() throws {
        example = try Fixtures.examplePolicyText()
    }

    /// The example with `old` replaced by `new` (which must occur exactly once).
    func edited(_ old: String, _ new: String) throws -> String {
        let parts = example.components(separatedBy: old)
        try #require(parts.count == 2, "the example must contain '\(old)' exactly once")
        return parts.joined(separator: new)
    }

    func problems(_ yaml: String) -> [PolicyDiagnostic] {
        do {
            _ = try PolicyLoader.parse(yaml: yaml, file: "policy.yaml")
            return []
        } catch {
            return error.diagnostics
        }
    }

    /// Line and column (1-based, in Unicode scalars) of the first occurrence of `needle` after `after`.
    func position(of needle: String, in yaml: String, after: String? = nil) -> (line: Int, column: Int) {
        var searchStart = yaml.startIndex
        if let after, let range = yaml.range(of: after) { searchStart = range.upperBound }
        let index = yaml.range(of: needle, range: searchStart..<yaml.endIndex)!.lowerBound
        let prefix = yaml[..<index]
        let line = prefix.filter { $0 == "\n" }.count + 1
        let lineStart = prefix.lastIndex(of: "\n").map { yaml.index(after: $0) } ?? yaml.startIndex
        return (line, yaml[lineStart..<index].unicodeScalars.count + 1)
    }

    func expectProblem(
        _ yaml: String,
        containing text: String,
        at needle: String? = nil,
        after: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let found = problems(yaml)
        let match = found.first { $0.message.contains(text) }
        #expect(match != nil, "expected a problem containing \"\(text)\", got: \(found.map(\.description))", sourceLocation: sourceLocation)
        // Every problem is said in Japanese too (kana or kanji in its Japanese wording), and listed Japanese first.
        if let match {
            #expect(
                match.text.ja.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) },
                "no Japanese wording: \(match.text.ja)",
                sourceLocation: sourceLocation
            )
            #expect(match.description.hasPrefix("\(match.file):\(match.line):\(match.column): \(match.text.ja)\n"), sourceLocation: sourceLocation)
        }
        if let match, let needle {
            let expected = position(of: needle, in: yaml, after: after)
            #expect(
                match.line == expected.line && match.column == expected.column,
                "\(match) should point at \(expected.line):\(expected.column)",
                sourceLocation: sourceLocation
            )
            #expect(match.description.hasPrefix("policy.yaml:\(match.line):\(match.column): "), sourceLocation: sourceLocation)
        }
    }

    @Test("the example policy is valid and complete (R-SVC-1, R-EXT-1)")
    func exampleIsValid() throws {
        let policy = try PolicyLoader.parse(yaml: example, file: "example")
        #expect(policy.services.count == 4)
        #expect(policy.purposes.map(\.id) == ["answer-inquiries", "match-history", "marketing", "surveys"])
        #expect(policy.vendors.count == 8)
        #expect(policy.contractors.count == 3)
        #expect(policy.requests.answerBusinessDays == 3)
        #expect(policy.revisions.map(\.description) == ["2025-01-01", "2025-02-18", "2026-12-04", "2026-12-05", "2026-12-06"])
        #expect(policy.optOut.advertisingIDs.count == 3)
        #expect(policy.vendors.allSatisfy { !$0.items.isEmpty && !$0.hosts.isEmpty })
        // Absent links stay absent (the page says so), present ones are kept.
        #expect(policy.vendors.first { $0.id == "softbank-retargeting" }?.optOutURL == nil)
        #expect(policy.vendors.first { $0.id == "google-analytics" }?.optOutURL != nil)
    }

    @Test("R-PUR-1: a field naming an undeclared purpose is rejected at its line")
    func unknownPurpose() throws {
        let yaml = try edited("purposes: [answer-inquiries, match-history]\n", "purposes: [answer-inquiries, match-histroy]\n")
        expectProblem(yaml, containing: "fields[2].purposes[1]: unknown purpose 'match-histroy'", at: "match-histroy")
    }

    @Test("R-PUR-1: a declared purpose that no field serves is rejected")
    func unusedPurpose() throws {
        let yaml = example.replacingOccurrences(
            of: "purposes: [answer-inquiries, match-history, marketing]",
            with: "purposes: [answer-inquiries, match-history]"
        )
        expectProblem(yaml, containing: "purpose 'marketing' is declared but no field serves it", at: "marketing\n")
    }

    @Test("duplicate ids are rejected, naming the first declaration")
    func duplicateID() throws {
        let yaml = try edited("- id: accountant\n", "- id: agent\n")
        expectProblem(yaml, containing: "services[1].id: duplicate service id 'agent' (first declared at line", at: "agent\n", after: "- id: agent\n")
    }

    @Test("malformed URLs are rejected")
    func malformedURL() throws {
        let yaml = try edited(
            "basic_policy_url: https://www.mirai-career.example/privacy/basic-policy",
            "basic_policy_url: www.mirai-career.example/privacy"
        )
        expectProblem(
            yaml,
            containing: "operator.basic_policy_url: 'www.mirai-career.example/privacy' is not a valid http(s) URL",
            at: "www.mirai-career.example/privacy"
        )
        let script = try edited("privacy_policy_url: https://www.softbank.jp/corp/privacy/", "privacy_policy_url: javascript:alert(1)")
        expectProblem(script, containing: "privacy_policy_url: 'javascript:alert(1)' is not a valid http(s) URL")
    }

    @Test("a vendor must list the information items it receives (R-EXT-1)")
    func vendorWithoutItems() throws {
        let empty = try edited(
            """
            category: marketing-research
                items:
                  - { ja: IPアドレス, en: IP address }
                  - { ja: セッション, en: Session }
                  - { ja: ブラウザの種類, en: Browser type }
            """,
            """
            category: marketing-research
                items: []
            """
        )
        expectProblem(empty, containing: "vendors[7].items: must list at least one entry", at: "[]")
        let missing = try edited(
            """
                items:
                  - { ja: IPアドレス, en: IP address }
                  - { ja: セッション, en: Session }
                  - { ja: ブラウザの種類, en: Browser type }

            """,
            ""
        )
        expectProblem(missing, containing: "vendors[7]: missing required key 'items' (list every information item the vendor receives)")
    }

    @Test("R-VER-1: revision dates must be in order and after the effective date")
    func revisionOrder() throws {
        let swapped = try edited("  - 2025-01-01\n  - 2025-02-18\n", "  - 2025-02-18\n  - 2025-01-01\n")
        expectProblem(swapped, containing: "revisions[1]: 2025-01-01 is not after the revision before it (2025-02-18)", at: "2025-01-01")
        let early = try edited("  - 2025-01-01\n", "  - 2024-08-01\n")
        expectProblem(early, containing: "revisions[0]: 2024-08-01 is not after the effective date (2024-08-08)", at: "2024-08-01")
        let notADate = try edited("effective_date: 2024-08-08", "effective_date: 2024-02-30")
        expectProblem(notADate, containing: "effective_date: '2024-02-30' is not a date; write YYYY-MM-DD", at: "2024-02-30")
    }

    @Test("a missing required section is named (R-CON-1: the officer must be declared)")
    func missingSection() throws {
        let start = example.range(of: "officer:\n")!.lowerBound
        let end = example.range(of: "requests:\n")!.lowerBound
        var yaml = example
        yaml.removeSubrange(start..<end)
        expectProblem(yaml, containing: "the policy file: missing required key 'officer'")
    }

    @Test("both languages are required for texts people read")
    func missingLanguage() throws {
        let yaml = try edited("      en: To answer your inquiries and comments\n", "")
        expectProblem(yaml, containing: "purposes[0].text: missing required key 'en'")
    }

    @Test("YAML syntax errors point at their line and column")
    func syntaxError() throws {
        let yaml = try edited("  email: privacy-officer@mirai-career.example\n", "  email: [privacy-officer@mirai-career.example\n")
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("YAML syntax error") == true, "\(found)")
        #expect((found.first?.line ?? 0) >= position(of: "[privacy-officer", in: yaml).line)
    }

    @Test("a key that appears twice in one mapping is an error")
    func duplicateKey() throws {
        let yaml = try edited("  cookie_name: mdg_id\n", "  cookie_name: mdg_id\n  cookie_name: other\n")
        let found = problems(yaml)
        #expect(found.contains { $0.message.contains("'cookie_name' appears more than once") }, "\(found)")
    }

    @Test("unknown keys (typos) are rejected with the allowed keys")
    func unknownKey() throws {
        let yaml = try edited("  answer_business_days: 3", "  answer_business_day: 3")
        expectProblem(
            yaml,
            containing: "requests: unknown key 'answer_business_day'; allowed keys: email, answer_business_days",
            at: "answer_business_day:"
        )
        expectProblem(yaml, containing: "requests: missing required key 'answer_business_days'")
    }

    @Test("R-POL-2: the statement on identity verification for requests is required, in both languages")
    func identityVerification() throws {
        let source = try Fixtures.examplePolicyText()
        let start = try #require(source.range(of: "  identity_verification:\n"))
        let end = try #require(source.range(of: "\ninformative_data:", range: start.upperBound..<source.endIndex))
        let without = source.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "")
        expectProblem(without, containing: "requests: missing required key 'identity_verification'")
        let englishOnly = source.replacingOccurrences(of: "    ja: 開示などのご請求では", with: "    jp: 開示などのご請求では")
        expectProblem(englishOnly, containing: "requests.identity_verification")
    }

    @Test("every problem is reported at once")
    func allProblemsAtOnce() throws {
        let yaml = try edited("- id: accountant\n", "- id: agent\n")
            .replacingOccurrences(of: "cookie_lifetime_days: 395", with: "cookie_lifetime_days: 9999")
            .replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: three")
            .replacingOccurrences(of: "email: privacy-officer@mirai-career.example", with: "email: privacy officer")
        let found = problems(yaml)
        #expect(found.count == 4, "\(found.map(\.description))")
        #expect(found.map(\.line) == found.map(\.line).sorted())
        expectProblem(yaml, containing: "cookie_lifetime_days: 9999 is out of range; expected 1 to 400")
        expectProblem(yaml, containing: "requests.answer_business_days: expected a whole number from 1 to 30")  // R-DSR-3
        expectProblem(yaml, containing: "officer.email: 'privacy officer' is not a valid e-mail address")
    }

    @Test("field rules: types, choices, a required e-mail, known services")
    func fieldRules() throws {
        expectProblem(
            try edited("    type: textarea\n", "    type: essay\n"),
            containing: "fields[4].type: 'essay' is not one of name, email, phone, text, textarea, choice"
        )
        expectProblem(
            try edited("    required: false\n", "    required: maybe\n"),
            containing: "fields[2].required: expected true or false",
            at: "maybe"
        )
        let noChoices = try edited(
            """
                choices:
                  - id: service
                    label: { ja: サービス内容について, en: About the service }
                  - id: registration
                    label: { ja: ご登録情報について, en: About your registration }
                  - id: privacy
                    label: { ja: 個人情報の取り扱いについて, en: About personal data }
                  - id: other
                    label: { ja: その他, en: Other }

            """,
            "\n"
        )
        expectProblem(noChoices, containing: "fields[3]: a field of type 'choice' needs a non-empty 'choices' list")
        let optionalEmail = try edited(
            """
                type: email
                required: true
            """,
            """
                type: email
                required: false
            """
        )
        expectProblem(optionalEmail, containing: "every form needs a required field of type 'email'")
        let badService = try edited("    max_length: 4000\n", "    max_length: 4000\n    services: [agent, nursing]\n")
        expectProblem(badService, containing: "fields[4].services[1]: unknown service 'nursing'", at: "nursing")
        expectProblem(
            try edited("  - id: phone\n", "  - id: Phone_Number\n"),
            containing: "fields[2].id: 'Phone_Number' is not a valid id"
        )
    }

    @Test("contractors: entrusted data must be declared fields, agreements must be coherent (R-OUT-1)")
    func contractorRules() throws {
        expectProblem(
            try edited("entrusted_data: [name, email]\n", "entrusted_data: [name, address]\n"),
            containing: "contractors[0].entrusted_data[1]: unknown field 'address'",
            at: "address]"
        )
        expectProblem(
            try edited("nda_expires: 2027-03-31", "nda_expires: 2024-03-31"),
            containing: "contractors[0].nda_expires: the agreement expires (2024-03-31) on or before it was signed (2024-04-01)"
        )
    }

    @Test("R-TPP-2: a vendor that receives personal data names the contractor or the basis of provision that covers it")
    func vendorPersonalData() throws {
        let mark = "personal_data: { contractor: marketing-automation }"
        expectProblem(try edited(mark, "personal_data: {}"), containing: "vendors[0].personal_data: name what covers the personal data")
        expectProblem(
            try edited(mark, "personal_data: { contractor: marketing-automation, basis: consent }"),
            containing: "vendors[0].personal_data: name what covers the personal data"
        )
        expectProblem(
            try edited(mark, "personal_data: { contractor: nobody }"),
            containing: "vendors[0].personal_data.contractor: contractor 'nobody' is not declared under contractors"
        )
        expectProblem(
            try edited(mark, "personal_data: { basis: legitimate-interest }"),
            containing: "vendors[0].personal_data.basis: 'legitimate-interest' is not a basis of provision"
        )
        let consent = try PolicyLoader.parse(yaml: try edited(mark, "personal_data: { basis: consent }"), file: "example")
        #expect(consent.vendors[0].personalData == VendorPersonalData(basis: "consent"))
        #expect(
            try PolicyLoader.parse(yaml: example, file: "example").vendors[0].personalData == VendorPersonalData(contractor: "marketing-automation")
        )
    }

    @Test("R-STA-1: statistics rules: k from 2, a choice field to count by, a notice in both languages; defaults without them")
    func statisticsRules() throws {
        let mark = "\nchanges:\n"
        func with(_ rules: String) throws -> String { try edited(mark, "\nstatistics_rules: \(rules)\nchanges:\n") }
        expectProblem(try with("{ minimum_count: 1 }"), containing: "statistics_rules.minimum_count")
        expectProblem(
            try with("{ category_field: message }"),
            containing: "statistics_rules.category_field: 'message' is not a choice field; choice fields: topic"
        )
        expectProblem(try with("{ notice: { ja: 当社に帰属します } }"), containing: "statistics_rules.notice")
        expectProblem(try with("{ k: 5 }"), containing: "k")
        let ruled = try PolicyLoader.parse(
            yaml: try with("{ minimum_count: 10, category_field: topic, notice: { ja: 当社に帰属します。, en: Ours. } }"),
            file: "example"
        )
        #expect(ruled.statisticsMinimumCount == 10 && ruled.statisticsCategoryField?.id == "topic" && ruled.statisticsNotice.en == "Ours.")
        let plain = try PolicyLoader.parse(yaml: example, file: "example")
        #expect(plain.statisticsRules == nil && plain.statisticsMinimumCount == 5 && plain.statisticsCategoryField?.id == "topic")
        #expect(plain.statisticsNotice.ja.contains("著作権"))
    }

    // R-INF-1: the cookie is declared with a valid name and a lifetime browsers honour.
    @Test("vendor rules: categories and host names (R-EXT-2 groundwork)")
    func vendorRules() throws {
        expectProblem(
            try edited("category: marketing-research", "category: tracking"),
            containing: "vendors[7].category: 'tracking' is not one of analytics, advertising"
        )
        expectProblem(
            try edited("hosts: [bat.bing.com]", "hosts: [\"https://bat.bing.com/x\"]"),
            containing: "vendors[5].hosts[0]: 'https://bat.bing.com/x' is not a host name"
        )
        expectProblem(try edited("hosts: [bat.bing.com]", "hosts: []"), containing: "vendors[5].hosts: must list at least one entry")
        expectProblem(
            try edited("  cookie_name: mdg_id", "  cookie_name: \"mdg id;\""),
            containing: "informative_data.cookie_name: 'mdg id;' is not a valid cookie name"
        )
    }

    @Test("empty, non-mapping, oversized and non-UTF-8 files are rejected clearly")
    func wholeFileProblems() throws {
        #expect(problems("").first?.message.hasPrefix("the policy file is empty") == true)
        #expect(problems("# only a comment\n").first?.message.hasPrefix("the policy file is empty") == true)
        #expect(problems("- a\n- b\n").first?.message.hasPrefix("the policy file: expected a mapping") == true)
        let huge = String(repeating: "# padding\n", count: 110_000)
        #expect(problems(huge).first?.message.contains("at most 1048576 bytes") == true)

        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("binary.yaml")
        try Data([0x76, 0x65, 0x72, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]).write(to: binary)
        #expect(throws: PolicyFileError.self) { try PolicyLoader.load(path: binary.path) as Policy }
        do {
            _ = try PolicyLoader.load(path: binary.path) as Policy
        } catch {
            // Japanese first, in the compiler's FILE:LINE:COLUMN form; the English wording indented below it.
            #expect(
                error.diagnostics.first?.description
                    == "\(binary.path):1:1: ポリシーファイルが UTF-8 のテキストではありません\n    the policy file is not valid UTF-8 text"
            )
        }
        do {
            _ = try PolicyLoader.load(path: directory.appendingPathComponent("missing.yaml").path) as Policy
            Issue.record("a missing file must fail")
        } catch {
            #expect(error.diagnostics.first?.message.hasPrefix("cannot read the policy file") == true)
        }
    }

    @Test("hostile text is kept as text; control characters are refused")
    func hostileText() throws {
        let script = try edited("ja: ミライAGENT, en: Mirai AGENT", "ja: \"<script>alert(1)</script>\", en: Mirai AGENT")
        let policy = try PolicyLoader.parse(yaml: script, file: "x")
        #expect(policy.services[0].name.ja == "<script>alert(1)</script>")
        expectProblem(
            try edited("ja: ミライAGENT, en: Mirai AGENT", "ja: \"ミライ\\u0007AGENT\", en: Mirai AGENT"),
            containing: "services[0].name.ja: contains a control character"
        )
    }
}
