import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

/// `policy check` knows the law (R-LAW-1, R-LAW-2): what APPI, its Order and Rules, the TBA and SEMA require to be
/// published is an error when missing, what depends on the operator's situation a warning; each names its article.
extension PolicyValidationTests {
    func warnings(_ yaml: String) -> [PolicyDiagnostic] {
        PolicyLoader.review(yaml: yaml, file: "policy.yaml").diagnostics.filter { $0.severity == .warning }
    }

    /// A problem containing every one of `texts` (an article and what is wrong), said in Japanese first.
    func expectLaw(
        _ yaml: String,
        _ texts: String...,
        severity: PolicyDiagnostic.Severity = .error,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (policy, found) = PolicyLoader.review(yaml: yaml, file: "policy.yaml")
        let match = found.first { diagnostic in texts.allSatisfy { diagnostic.message.contains($0) } }
        #expect(match != nil, "expected a problem containing \(texts), got: \(found.map(\.description))", sourceLocation: sourceLocation)
        #expect(match?.severity == severity, sourceLocation: sourceLocation)
        #expect(
            match?.text.ja.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) } == true,
            sourceLocation: sourceLocation
        )
        if severity == .warning {
            #expect(policy != nil, "a warning never keeps the file from being used", sourceLocation: sourceLocation)
            #expect(
                match?.description.contains(": 警告: ") == true && match?.description.contains("\n    warning: ") == true,
                sourceLocation: sourceLocation
            )
        } else {
            #expect(policy == nil, sourceLocation: sourceLocation)
        }
    }

    /// `example` without the block that starts with `start` and runs to the next top-level key.
    func removingTopLevel(_ key: String) throws -> String {
        let lines = example.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasPrefix("\(key):") })
        var end = start + 1
        while end < lines.count, lines[end].isEmpty || lines[end].hasPrefix(" ") || lines[end].hasPrefix("#") { end += 1 }
        return (lines[..<start] + lines[end...]).joined(separator: "\n")
    }

    @Test("R-LAW-1: the example has every item the law asks for, with no error and no warning")
    func exampleMeetsTheLaw() throws {
        let (policy, diagnostics) = PolicyLoader.review(yaml: example, file: "example")
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
        let checked = try #require(policy)
        #expect(checked.securityMeasures?.foreignEnvironment.map(\.country.code) == ["US"])
        #expect(checked.complaints?.email == "privacy@mirai-career.example")
        #expect(checked.requests.fee == 0 && checked.requests.submission == [.form, .me, .email, .post])
        #expect(checked.requests.agents != nil && checked.requests.delivery != nil)
        #expect(checked.marketingMail?.unsubscribe == "mail-stop@mirai-career.example")
        #expect(checked.contractors.first { $0.id == "marketing-automation" }?.country?.code == "US")
        #expect(checked.vendors.allSatisfy { $0.country != nil && $0.recipientUse != nil })
        #expect(checked.purposes.filter(\.isProfiling).map(\.id) == ["marketing"])
        #expect(checked.jointUse == nil)
    }

    @Test("R-LAW-1: security control measures are required, with every category (APPI Art. 32(1), Order Art. 10(i))")
    func securityMeasures() throws {
        expectLaw(try removingTopLevel("security_measures"), "missing required key 'security_measures'", "APPI Art. 32(1), Order Art. 10(i)")
        let lines = example.components(separatedBy: "\n")
        let physical = try #require(lines.firstIndex(of: "  physical:"))
        let withoutPhysical = (lines[..<physical] + lines[(physical + 3)...]).joined(separator: "\n")
        expectLaw(withoutPhysical, "security_measures: missing required key 'physical'", "guideline 10")
    }

    @Test("R-LAW-2: every contractor and vendor names its country; outside Japan and the recognised jurisdictions a basis (APPI Art. 28)")
    func foreignRecipients() throws {
        expectLaw(
            try edited("    country: JP\n    nda_signed: 2024-04-01", "    nda_signed: 2024-04-01"),
            "contractors[0]: missing required key 'country'",
            "APPI Art. 28"
        )
        expectLaw(
            try edited("    country: JP\n    nda_signed: 2024-04-01", "    country: XX\n    nda_signed: 2024-04-01"),
            "'XX' is not a country code"
        )
        // A contractor abroad without what covers the transfer.
        let abroad = try edited("    country: JP\n    nda_signed: 2024-04-01", "    country: IN\n    nda_signed: 2024-04-01")
        expectLaw(abroad, "contractors[0]: personal data going to a recipient in India (IN) needs 'foreign_transfer'", "APPI Art. 28")
        // With a basis, the country must also be in the security measures' foreign environment (guideline 10-7).
        let covered = try edited(
            "    country: JP\n    nda_signed: 2024-04-01",
            "    country: IN\n    foreign_transfer:\n      basis: equivalent-measures\n      recipient_measures: { ja: 契約で定めています, en: Set by contract }\n    nda_signed: 2024-04-01"
        )
        expectLaw(covered, "contractors[0].country: personal data is handled in India (IN)", "guideline 10-7")
        // Consent needs the country's system (Rules Art. 17(2)(ii)).
        let consent = try edited(
            "      basis: equivalent-measures\n      recipient_measures:\n        ja: 委託契約(",
            "      basis: consent\n      recipient_measures:\n        ja: 委託契約("
        )
        expectLaw(consent, "consent needs 'country_system'", "Rules Art. 17(2)(ii)")
        // The EEA and the United Kingdom are recognised (Rules Art. 15): no basis is needed, only the environment.
        let britain = try edited("    country: JP\n    nda_signed: 2024-04-01", "    country: GB\n    nda_signed: 2024-04-01")
        expectLaw(britain, "personal data is handled in United Kingdom (GB)")
        #expect(!problems(britain).contains { $0.message.contains("foreign_transfer") })
        // A vendor abroad that receives only informative data: a warning (APPI Art. 31(1)(ii)).
        let analytics = try edited(
            "    country: US\n    foreign_transfer:\n      basis: equivalent-measures\n      recipient_measures:\n        ja: Googleの広告・測定サービスのデータ保護条項により、安全管理措置と、法令に基づく場合を除く目的外利用の制限を約させています。\n        en: Google's data protection terms for its advertising and measurement services bind it to security measures and to no use beyond the service except as the law requires.\n    category: analytics",
            "    country: US\n    category: analytics"
        )
        expectLaw(analytics, "vendors[1]: the recipient is in United States (US)", "APPI Art. 31(1)(ii)", severity: .warning)
        // A vendor abroad that receives personal data: an error.
        let marketo = try edited(
            "    foreign_transfer:\n      basis: equivalent-measures\n      recipient_measures:\n        ja: 委託先(marketing-automation)",
            "    unused:\n      recipient_measures:\n        ja: 委託先(marketing-automation)"
        )
        expectLaw(marketo, "vendors[0]: personal data going to a recipient in United States (US) needs 'foreign_transfer'")
    }

    @Test("R-LAW-2: a vendor that links data to people needs a purpose marked profiling (APPI Art. 17(1), guideline 3-1-1)")
    func profiling() throws {
        let yaml = try edited("    profiling: true          # analyses", "    # analyses")
        expectLaw(yaml, "purposes: vendors[0] links what it receives with a person's data", "profiling: true", "APPI Art. 17(1)")
        expectLaw(try edited("    profiling: true ", "    profiling: maybe "), "purposes[2].profiling: expected true or false")
    }

    @Test("R-LAW-1: the request procedure — fee, how to hand in, agents — is required; delivery is a warning")
    func requestProcedure() throws {
        expectLaw(
            try edited("  fee: free                      # or an amount in yen, with fee_payment\n", ""),
            "requests: missing required key 'fee'",
            "APPI Art. 32(1)(iii), 38"
        )
        expectLaw(try edited("  fee: free ", "  fee: 1000 "), "a fee of 1000 yen needs 'fee_payment'", "APPI Art. 38")
        expectLaw(try edited("  fee: free ", "  fee: lots "), "requests.fee: 'lots' is not a fee")
        expectLaw(try edited("  fee: free ", "  fee: -5 "), "requests.fee: '-5' is not a fee")
        let paid = try edited("  fee: free ", "  fee: 1000\n  fee_payment: { ja: 郵便為替で, en: By postal money order }\n ")
        let policy = try PolicyLoader.parse(yaml: paid, file: "paid")
        #expect(policy.requests.fee == 1000 && policy.requests.feePayment?.en == "By postal money order")
        expectLaw(try edited("  submission: [form, me, email, post]\n", ""), "requests: missing required key 'submission'", "Order Art. 12")
        expectLaw(try edited("  submission: [form, me, email, post]", "  submission: [form, fax]"), "requests.submission[1]: 'fax' is not one of")
        let lines = example.components(separatedBy: "\n")
        let agents = try #require(lines.firstIndex(of: "  agents:"))
        expectLaw((lines[..<agents] + lines[(agents + 3)...]).joined(separator: "\n"), "requests: missing required key 'agents'", "APPI Art. 37(3)")
        let delivery = try #require(lines.firstIndex(of: "  delivery:"))
        expectLaw(
            (lines[..<delivery] + lines[(delivery + 3)...]).joined(separator: "\n"),
            "requests: no 'delivery'",
            "APPI Art. 33(1)-(2)",
            severity: .warning
        )
    }

    @Test("R-LAW-1: a complaint desk is required, a certified organisation optional but complete (Order Art. 10(ii)-(iii))")
    func complaints() throws {
        expectLaw(try removingTopLevel("complaints"), "missing required key 'complaints'", "Order Art. 10(ii)")
        let withoutOrganisation = try removingTopLevel("certified_organisation")
        #expect(PolicyLoader.review(yaml: withoutOrganisation, file: "x").diagnostics.isEmpty)
        let lines = example.components(separatedBy: "\n")
        let contact = try #require(
            lines.indices.first { $0 > 0 && lines[$0].hasPrefix("  contact:") && lines[$0 - 1].contains("(a fictional body)") }
        )
        expectLaw(
            (lines[..<contact] + lines[(contact + 3)...]).joined(separator: "\n"),
            "certified_organisation: missing required key 'contact'",
            "Order Art. 10(iii)"
        )
        expectLaw(
            try edited("  email: privacy@mirai-career.example\n\ncertified", "  email: privacy@mirai-career.example\n  phone: call us\n\ncertified"),
            "complaints.phone: 'call us' is not a phone number"
        )
    }

    @Test("joint use states its five items (APPI Art. 27(5)(iii)); provision by opt-out is refused (Art. 27(2))")
    func jointUseAndOptOutProvision() throws {
        let joint = """

            joint_use:
              items: [{ ja: 氏名, en: Name }, { ja: メールアドレス, en: E-mail address }]
              users: { ja: 当社の子会社, en: Our subsidiaries }
              purpose: { ja: グループでのサービス案内, en: Introducing the group's services }
              responsible:
                name: { ja: 株式会社ミライキャリア, en: Mirai Career Inc. }
                address: { ja: 東京都千代田区, en: "Chiyoda-ku, Tokyo" }
                representative: { ja: 山田 太郎, en: Taro Yamada }

            """
        let policy = try PolicyLoader.parse(yaml: example + joint, file: "joint")
        #expect(policy.jointUse?.items.count == 2 && policy.jointUse?.responsible.representative.en == "Taro Yamada")
        let withoutResponsible = joint.components(separatedBy: "\n").prefix(5).joined(separator: "\n")
        expectLaw(example + withoutResponsible + "\n", "joint_use: missing required key 'responsible'", "APPI Art. 27(5)(iii)")
        expectLaw(example + "\nopt_out_provision: true\n", "'opt_out_provision'", "APPI Art. 27(2)")
    }

    @Test("external transmission: open-ended items and a missing recipient's use are warnings (TBA Art. 27-12)")
    func externalTransmissionWording() throws {
        expectLaw(
            try edited(
                "{ ja: 当社サイトの閲覧履歴, en: Pages viewed on our site }\n    purpose:\n      ja: Yahoo!",
                "{ ja: 閲覧履歴など, en: Pages viewed }\n    purpose:\n      ja: Yahoo!"
            ),
            "'など' leaves the items sent open",
            "TBA Art. 27-12",
            severity: .warning
        )
        expectLaw(
            try edited("{ ja: セッション, en: Session }", "{ ja: その他の情報, en: Other information }"),
            "'その他' leaves the items sent open",
            severity: .warning
        )
        let lines = example.components(separatedBy: "\n")
        let use = try #require(lines.firstIndex(of: "    recipient_use:"))
        expectLaw(
            (lines[..<use] + lines[(use + 3)...]).joined(separator: "\n"),
            "vendors[0]: no 'recipient_use'",
            "TBA Art. 27-12",
            severity: .warning
        )
    }

    @Test("the sender of advertising mail is required when a purpose mails by consent (SEMA Art. 4)")
    func marketingMail() throws {
        expectLaw(try removingTopLevel("marketing_mail"), "purpose 'marketing' sends mail by consent", "SEMA Art. 4")
        expectLaw(
            try edited("  unsubscribe: mail-stop@mirai-career.example", "  unsubscribe: stop mailing me"),
            "marketing_mail.unsubscribe: 'stop mailing me' is not a valid e-mail address"
        )
        // Without a consent purpose, no sender is needed.
        let noConsent = try removingTopLevel("marketing_mail").replacingOccurrences(
            of: "    requires_consent: true ",
            with: "    requires_consent: false "
        )
        #expect(!problems(noConsent).contains { $0.message.contains("marketing_mail") })
    }
}
