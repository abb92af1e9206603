import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

/// R-VER-3: what changed between two versions; R-VER-2: which changes widen the purposes of older data.
@Suite("Policy diff")
struct PolicyDiffTests {
    static func example() throws -> Policy { try PolicyLoader.load(path: Fixtures.examplePolicyPath) }

    @Test("R-VER-3: the same policy has no differences")
    func identical() throws {
        let policy = try Self.example()
        let diff = PolicyDiff.between(policy, policy)
        #expect(diff.isEmpty && diff.purposeChanges.isEmpty)
    }

    @Test("R-VER-2, R-LAW-2: a purpose that starts analysing people is a change of purpose; the law's items are named when they change")
    func lawItems() throws {
        let new = try Self.example()
        var old = new
        old.version = "before"
        let marketing = try #require(old.purposes.firstIndex { $0.id == "marketing" })
        old.purposes[marketing].profiling = nil
        old.securityMeasures = nil
        old.complaints = nil
        old.marketingMail = nil
        old.requests.fee = nil
        old.requests.agents = nil
        let marketo = try #require(old.vendors.firstIndex { $0.id == "marketo" })
        old.vendors[marketo].country = nil
        old.vendors[marketo].foreignTransfer = nil
        let diff = PolicyDiff.between(old, new)
        #expect(diff.purposeChanges == [PolicyDiff.PurposeChange(purpose: "marketing", fields: ["name", "email"], newPurpose: false)])
        #expect(diff.changes(in: .purposes).map(\.summary.en) == ["now includes analysing information about the person"])
        #expect(diff.changes(in: .vendors).map(\.summary.en) == ["country and basis of transfer: United States (US)"])
        #expect(Set(diff.changes(in: .requests).map(\.id)) == ["fee", "procedure"])
        #expect(diff.changes(in: .requests).first { $0.id == "fee" }?.summary.ja == "手数料: 無料")
        #expect(Set(diff.changes(in: .statements).map(\.id)) == ["security_measures", "complaints", "marketing_mail"])
        #expect(PolicyDiff.between(new, new).isEmpty)
    }

    @Test("R-VER-3: purposes, fields, retention, vendors, contractors, request terms and statements are grouped and named")
    func grouped() throws {
        let old = try Self.example()
        var new = old
        new.version = "next"
        new.purposes.append(
            Purpose(id: "polls", text: LocalizedText(ja: "意見調査のため", en: "For polls"), retentionDays: 365, requiresConsent: true)
        )
        new.purposes[0].text = LocalizedText(ja: "お問い合わせに回答するため", en: "To answer inquiries")
        new.purposes[1].retentionDays = 400
        new.purposes.removeAll { $0.id == "marketing" }
        for index in new.fields.indices { new.fields[index].purposes.removeAll { $0 == "marketing" } }
        let phone = try #require(new.fields.firstIndex { $0.id == "phone" })
        new.fields[phone].purposes.append("polls")
        new.fields[phone].required = true
        let email = try #require(new.fields.firstIndex { $0.id == "email" })
        new.fields[email].purposes.append("polls")
        let marketo = try #require(new.vendors.firstIndex { $0.id == "marketo" })
        new.vendors[marketo].hosts.append("cdn.example.net")
        new.vendors[marketo].items.append(LocalizedText(ja: "閲覧したページ", en: "Pages viewed"))
        new.vendors.removeAll { $0.id == "customer-rings" }
        new.contractors.removeAll { $0.id == "support-desk" }
        new.requests.answerBusinessDays = 5
        new.statistics = LocalizedText(ja: "統計は変わりました。", en: "Statistics changed.")

        let diff = PolicyDiff.between(old, new)
        #expect(diff.from == old.version && diff.to == "next")
        func has(_ section: PolicyDiff.Section, _ kind: PolicyDiff.Kind, _ id: String, _ english: String) -> Bool {
            diff.changes(in: section).contains { $0.kind == kind && $0.id == id && $0.summary.en.contains(english) && !$0.summary.ja.isEmpty }
        }
        #expect(has(.purposes, .added, "polls", "For polls"))
        #expect(has(.purposes, .removed, "marketing", "removed"))
        #expect(has(.purposes, .changed, "answer-inquiries", "reworded"))
        #expect(has(.retention, .changed, "match-history", "→ 400 days"))
        #expect(has(.fields, .changed, "phone", "now also used for: polls"))
        #expect(has(.fields, .changed, "phone", "now required"))
        #expect(has(.fields, .changed, "email", "no longer used for: marketing"))
        #expect(has(.vendors, .changed, "marketo", "+cdn.example.net"))
        #expect(has(.vendors, .changed, "marketo", "now also sends: Pages viewed"))
        #expect(has(.vendors, .removed, "customer-rings", "removed"))
        #expect(has(.contractors, .removed, "support-desk", "removed"))
        #expect(has(.requests, .changed, "answer_business_days", "3 → 5"))
        #expect(has(.statements, .changed, "statistics", "statistics"))
        let order = diff.changes.map(\.section)
        #expect(
            order == order.sorted { (PolicyDiff.Section.allCases.firstIndex(of: $0) ?? 0) < (PolicyDiff.Section.allCases.firstIndex(of: $1) ?? 0) }
        )

        // R-VER-2: the new purpose covers every field that serves it; a removed purpose widens nothing.
        #expect(diff.purposeChanges == [PolicyDiff.PurposeChange(purpose: "polls", fields: ["email", "phone"], newPurpose: true)])
    }

    @Test("R-VER-2: a field that gains an existing purpose is a change of purpose for that field only")
    func widenedField() throws {
        let old = try Self.example()
        var new = old
        let phone = try #require(new.fields.firstIndex { $0.id == "phone" })
        #expect(!new.fields[phone].purposes.contains("marketing"))
        new.fields[phone].purposes.append("marketing")
        let diff = PolicyDiff.between(old, new)
        #expect(diff.purposeChanges == [PolicyDiff.PurposeChange(purpose: "marketing", fields: ["phone"], newPurpose: false)])
        // Narrowing is no change of purpose.
        #expect(PolicyDiff.between(new, old).purposeChanges.isEmpty)
    }
}
