import Foundation
import Hummingbird
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

/// The page publishes each item the law asks for in its own section (R-LAW-1, R-LAW-2), in both languages; a version
/// stored before the item existed shows no empty section for it.
@Suite("Policy page: the law's items")
struct PolicyLawPageTests {
    func render(_ policy: Policy, _ kind: PolicyPageKind, _ language: Language) async throws -> String {
        let response = try PolicySite.render(policy, kind, language, resources: try await SiteResources.bundled())
        return String(decoding: response.body.readableBytesView, as: UTF8.self)
    }

    @Test("R-LAW-1, R-LAW-2: security measures, recipients abroad, request procedure, complaints and the mail sender", arguments: Language.allCases)
    func sections(_ language: Language) async throws {
        let policy: Policy = try PolicyLoader.load(path: Fixtures.examplePolicyPath)
        let t = try await strings(language)
        let html = try await render(policy, .full, language)
        func has(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(html.contains(text.htmlEscaped), "\(what): \(text)", sourceLocation: sourceLocation)
        }
        for key in ["h_security", "h_foreign", "h_complaints", "h_mail"] {
            #expect(html.contains(">\(t[key]!.htmlEscaped)</h2>"), "section \(key)")
        }
        for key in ["h_request_how", "h_request_fee", "h_request_agents", "h_request_delivery"] {
            #expect(html.contains(">\(t[key]!.htmlEscaped)</h3>"), "request heading \(key)")
        }
        let measures = try #require(policy.securityMeasures)
        for category in measures.categories {
            has(category.heading[language], "security category")
            has(category.text[language], "security text")
        }
        has(measures.foreignEnvironment[0].text[language], "foreign environment")
        // Recipients abroad: each with its country, basis and measures; the vendor table names the country too.
        let unitedStates = Country("US")!.name[language]
        has(unitedStates, "country name")
        #expect(language == .ja ? html.contains("アメリカ合衆国") : html.contains("United States"))
        has(TransferBasis.equivalentMeasures.text[language], "basis")
        for vendor in policy.vendors where vendor.country?.code == "US" {
            has(try #require(vendor.foreignTransfer).recipientMeasures[language], "measures of \(vendor.id)")
            has(try #require(vendor.recipientUse)[language], "recipient use of \(vendor.id)")
        }
        #expect(!html.contains("<th scope=\"row\" data-label=\"\(t["col_recipient"]!.htmlEscaped)\">LINEヤフー"), "a recipient in Japan is not abroad")
        // How to request: the site's form and the person's own page are links; fee, agents, delivery.
        #expect(html.contains("<a href=\"/requests/new\(language == .en ? "?lang=en" : "")\">"))
        #expect(html.contains("<a href=\"/me\(language == .en ? "?lang=en" : "")\">"))
        has(t["requests_fee_free"]!, "free of charge")
        has(try #require(policy.requests.agents)[language], "agents")
        has(try #require(policy.requests.delivery)[language], "delivery")
        // Complaints and the certified organisation; the sender of advertising mail.
        has(try #require(policy.complaints).desk[language], "complaint desk")
        has(try #require(policy.certifiedOrganisation).name[language], "certified organisation")
        let mail = try #require(policy.marketingMail)
        #expect(html.contains("mailto:\(mail.unsubscribe)"))
        has(mail.sender[language], "mail sender")
        // The profiling purpose says so.
        #expect(html.contains("<span class=\"tag\">(\(t["profiling_marker"]!.htmlEscaped))</span>"))
        // The external-transmission page carries the country and the recipient's own use.
        let external = try await render(policy, .externalTransmission, language)
        #expect(external.contains("\(t["col_country"]!.htmlEscaped): \(unitedStates.htmlEscaped)"))
        #expect(external.contains(try #require(policy.vendors[1].recipientUse)[language].htmlEscaped))
    }

    @Test("a version stored before the law's items existed shows none of their sections", arguments: Language.allCases)
    func olderVersion(_ language: Language) async throws {
        let stored = try Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/published/policy-2026-12-05.json"))
        let policy = try JSONDecoder().decode(Policy.self, from: stored)
        let t = try await strings(language)
        let html = try await render(policy, .full, language)
        for key in ["h_security", "h_foreign", "h_complaints", "h_mail", "h_joint"] {
            #expect(!html.contains(t[key]!.htmlEscaped), "no \(key) for an older version")
        }
        for key in ["h_request_how", "h_request_fee", "h_request_agents", "h_request_delivery", "profiling_marker"] {
            #expect(!html.contains(t[key]!.htmlEscaped), "no \(key) for an older version")
        }
        #expect(html.contains(">\(t["h_requests"]!.htmlEscaped)</h2>"))
    }

    @Test("joint use, when declared, is published with its five items", arguments: Language.allCases)
    func jointUse(_ language: Language) async throws {
        var policy: Policy = try PolicyLoader.load(path: Fixtures.examplePolicyPath)
        policy.jointUse = JointUse(
            items: [LocalizedText(ja: "氏名", en: "Name")],
            users: LocalizedText(ja: "当社の子会社", en: "Our subsidiaries"),
            purpose: LocalizedText(ja: "グループでのご案内", en: "Group introductions"),
            responsible: .init(
                name: LocalizedText(ja: "株式会社ミライキャリア", en: "Mirai Career Inc."),
                address: LocalizedText(ja: "東京都千代田区", en: "Chiyoda-ku, Tokyo"),
                representative: LocalizedText(ja: "山田 太郎", en: "Taro Yamada")
            )
        )
        let t = try await strings(language)
        let html = try await render(policy, .full, language)
        #expect(html.contains(">\(t["h_joint"]!.htmlEscaped)</h2>"))
        for key in ["joint_items", "joint_users", "joint_purpose", "joint_responsible"] { #expect(html.contains(t[key]!.htmlEscaped)) }
        #expect(html.contains(language == .ja ? "当社の子会社" : "Our subsidiaries"))
        #expect(html.contains(language == .ja ? "山田 太郎" : "Taro Yamada"))
    }
}
