import Foundation

/// What changed between two versions of the policy (R-VER-3), grouped by what a reader cares about: purposes, fields
/// and the purposes they serve, vendors with their items and hosts, contractors, retention, request terms, and the
/// statements of the page. It also names every **change of purpose** (R-VER-2): a purpose the newer version adds, or
/// a purpose a field serves that it did not serve before — uses of data collected under the older version that need
/// the person's consent.
public struct PolicyDiff: Sendable, Hashable, Codable {
    /// The groups of changes, in the order they are shown.
    public enum Section: String, Sendable, Hashable, Codable, CaseIterable {
        case purposes, fields, retention, services, departments, vendors, contractors, requests, statements

        public var name: LocalizedText {
            switch self {
            case .purposes: LocalizedText(ja: "利用目的", en: "Purposes of use")
            case .fields: LocalizedText(ja: "取得する項目とその利用目的", en: "Items collected and their purposes")
            case .retention: LocalizedText(ja: "保存期間", en: "Retention")
            case .services: LocalizedText(ja: "サービス", en: "Services")
            case .departments: LocalizedText(ja: "転送先の部署", en: "Departments inquiries are forwarded to")
            case .vendors: LocalizedText(ja: "外部送信先", en: "External transmission (vendors)")
            case .contractors: LocalizedText(ja: "委託先", en: "Contractors")
            case .requests: LocalizedText(ja: "開示等の請求の条件", en: "Terms of requests")
            case .statements: LocalizedText(ja: "記載事項", en: "Statements of the policy")
            }
        }
    }

    public enum Kind: String, Sendable, Hashable, Codable {
        case added, removed, changed
    }

    /// One change: what (`section`, `id`), how (`kind`), and in words, Japanese and English.
    public struct Change: Sendable, Hashable, Codable {
        public var section: Section
        public var kind: Kind
        public var id: String
        public var summary: LocalizedText
    }

    /// A use of older data that the newer version adds: `purpose` for `fields` (every field of the purpose when the
    /// purpose itself is new).
    public struct PurposeChange: Sendable, Hashable, Codable {
        public var purpose: String
        public var fields: [String]
        public var newPurpose: Bool

        public init(purpose: String, fields: [String], newPurpose: Bool) {
            (self.purpose, self.fields, self.newPurpose) = (purpose, fields, newPurpose)
        }
    }

    public var from: String
    public var to: String
    public var changes: [Change]
    /// Uses that need the person's consent for data collected under `from` (R-VER-2).
    public var purposeChanges: [PurposeChange]

    public var isEmpty: Bool { changes.isEmpty }

    public func changes(in section: Section) -> [Change] { changes.filter { $0.section == section } }

    /// The differences from `old` to `new`.
    public static func between(_ old: Policy, _ new: Policy) -> PolicyDiff {
        var changes: [Change] = []
        func add(_ section: Section, _ kind: Kind, _ id: String, ja: String, en: String) {
            changes.append(Change(section: section, kind: kind, id: id, summary: LocalizedText(ja: ja, en: en)))
        }
        func quoted(_ text: LocalizedText) -> (ja: String, en: String) { ("「\(text.ja)」", "\"\(text.en)\"") }
        // Where a recipient is and what covers the transfer (R-LAW-2), for vendors and contractors alike.
        func transfer(
            _ section: Section,
            _ id: String,
            _ before: (Country?, ForeignTransfer?),
            _ after: (country: Country?, transfer: ForeignTransfer?)
        ) {
            guard before.0 != after.country || before.1 != after.transfer else { return }
            let ja = after.country.map { "\($0.name.ja)(\($0))" } ?? "記載なし"
            let en = after.country.map { "\($0.name.en) (\($0))" } ?? "not stated"
            add(section, .changed, id, ja: "所在国・移転の根拠: \(ja)", en: "country and basis of transfer: \(en)")
        }

        // Purposes: added, removed, reworded, and whether consent is asked separately.
        compare(old.purposes, new.purposes, id: \.id) { difference in
            switch difference {
            case let .added(after):
                let text = quoted(after.text)
                add(.purposes, .added, after.id, ja: "追加: \(text.ja)", en: "added: \(text.en)")
            case let .removed(before):
                let text = quoted(before.text)
                add(.purposes, .removed, before.id, ja: "削除: \(text.ja)", en: "removed: \(text.en)")
            case let .changed(before, after):
                if before.text != after.text {
                    let (a, b) = (quoted(before.text), quoted(after.text))
                    add(.purposes, .changed, after.id, ja: "文言の変更: \(a.ja) → \(b.ja)", en: "reworded: \(a.en) → \(b.en)")
                }
                if before.requiresConsent != after.requiresConsent {
                    add(
                        .purposes,
                        .changed,
                        after.id,
                        ja: after.requiresConsent ? "個別の同意が必要になりました" : "個別の同意が不要になりました",
                        en: after.requiresConsent ? "now needs separate consent" : "no longer needs separate consent"
                    )
                }
                if before.isProfiling != after.isProfiling {
                    add(
                        .purposes,
                        .changed,
                        after.id,
                        ja: after.isProfiling ? "ご本人に関する情報の分析を含むようになりました" : "分析を含まなくなりました",
                        en: after.isProfiling ? "now includes analysing information about the person" : "no longer includes analysis"
                    )
                }
                if before.retentionDays != after.retentionDays {
                    add(
                        .retention,
                        .changed,
                        after.id,
                        ja: "保存期間 \(before.retentionDays)日 → \(after.retentionDays)日",
                        en: "kept \(before.retentionDays) → \(after.retentionDays) days"
                    )
                }
            }
        }

        // Fields and the purposes each serves.
        compare(old.fields, new.fields, id: \.id) { difference in
            switch difference {
            case let .added(after):
                let label = quoted(after.label)
                let purposes = after.purposes.joined(separator: ", ")
                add(.fields, .added, after.id, ja: "追加: \(label.ja)(利用目的: \(purposes))", en: "added: \(label.en) (purposes: \(purposes))")
            case let .removed(before):
                let label = quoted(before.label)
                add(.fields, .removed, before.id, ja: "削除: \(label.ja)", en: "removed: \(label.en)")
            case let .changed(before, after):
                let gained = after.purposes.filter { !before.purposes.contains($0) }
                let lost = before.purposes.filter { !after.purposes.contains($0) }
                if !gained.isEmpty {
                    let list = gained.joined(separator: ", ")
                    add(.fields, .changed, after.id, ja: "利用目的の追加: \(list)", en: "now also used for: \(list)")
                }
                if !lost.isEmpty {
                    let list = lost.joined(separator: ", ")
                    add(.fields, .changed, after.id, ja: "利用目的から外れました: \(list)", en: "no longer used for: \(list)")
                }
                if before.label != after.label {
                    let (a, b) = (quoted(before.label), quoted(after.label))
                    add(.fields, .changed, after.id, ja: "名前の変更: \(a.ja) → \(b.ja)", en: "renamed: \(a.en) → \(b.en)")
                }
                if before.required != after.required {
                    add(
                        .fields,
                        .changed,
                        after.id,
                        ja: after.required ? "必須になりました" : "任意になりました",
                        en: after.required ? "now required" : "now optional"
                    )
                }
                if before.type != after.type || before.maxLength != after.maxLength || before.choices != after.choices
                    || before.services != after.services
                {
                    add(.fields, .changed, after.id, ja: "入力の形式・対象サービスの変更", en: "input type, length, choices or services changed")
                }
            }
        }

        func named(_ section: Section, _ difference: Difference<(id: String, name: LocalizedText)>) {
            switch difference {
            case let .added(after): add(section, .added, after.id, ja: "追加: 「\(after.name.ja)」", en: "added: \"\(after.name.en)\"")
            case let .removed(before): add(section, .removed, before.id, ja: "削除: 「\(before.name.ja)」", en: "removed: \"\(before.name.en)\"")
            case let .changed(before, after):
                add(
                    section,
                    .changed,
                    after.id,
                    ja: "名前の変更: 「\(before.name.ja)」→「\(after.name.ja)」",
                    en: "renamed: \"\(before.name.en)\" → \"\(after.name.en)\""
                )
            }
        }
        compare(old.services, new.services, id: \.id) { difference in
            switch difference {
            case let .added(s): named(.services, .added((s.id, s.name)))
            case let .removed(s): named(.services, .removed((s.id, s.name)))
            case let .changed(a, b): named(.services, .changed((a.id, a.name), (b.id, b.name)))
            }
        }
        compare(old.departments, new.departments, id: \.id) { difference in
            switch difference {
            case let .added(d): named(.departments, .added((d.id, d.name)))
            case let .removed(d): named(.departments, .removed((d.id, d.name)))
            case let .changed(a, b): named(.departments, .changed((a.id, a.name), (b.id, b.name)))
            }
        }

        // Vendors: who, what items, which hosts, for what.
        compare(old.vendors, new.vendors, id: \.id) { difference in
            switch difference {
            case let .added(v):
                let items = v.items.map(\.ja).joined(separator: "、")
                add(
                    .vendors,
                    .added,
                    v.id,
                    ja: "追加: \(v.company.ja)(\(v.service.ja))— 送信する情報: \(items)",
                    en: "added: \(v.company.en) (\(v.service.en)) — sends: \(v.items.map(\.en).joined(separator: ", "))"
                )
            case let .removed(before):
                add(.vendors, .removed, before.id, ja: "削除: \(before.company.ja)", en: "removed: \(before.company.en)")
            case let .changed(before, after):
                let gained = after.items.filter { !before.items.contains($0) }
                let lost = before.items.filter { !after.items.contains($0) }
                if !gained.isEmpty {
                    add(
                        .vendors,
                        .changed,
                        after.id,
                        ja: "送信する情報の追加: \(gained.map(\.ja).joined(separator: "、"))",
                        en: "now also sends: \(gained.map(\.en).joined(separator: ", "))"
                    )
                }
                if !lost.isEmpty {
                    add(
                        .vendors,
                        .changed,
                        after.id,
                        ja: "送信しなくなった情報: \(lost.map(\.ja).joined(separator: "、"))",
                        en: "no longer sends: \(lost.map(\.en).joined(separator: ", "))"
                    )
                }
                let newHosts = after.hosts.filter { !before.hosts.contains($0) }
                let goneHosts = before.hosts.filter { !after.hosts.contains($0) }
                if !newHosts.isEmpty || !goneHosts.isEmpty {
                    let text = (newHosts.map { "+\($0)" } + goneHosts.map { "-\($0)" }).joined(separator: " ")
                    add(.vendors, .changed, after.id, ja: "送信先のホスト: \(text)", en: "hosts: \(text)")
                }
                if before.purpose != after.purpose {
                    let (a, b) = (quoted(before.purpose), quoted(after.purpose))
                    add(.vendors, .changed, after.id, ja: "利用目的: \(a.ja) → \(b.ja)", en: "purpose: \(a.en) → \(b.en)")
                }
                transfer(.vendors, after.id, (before.country, before.foreignTransfer), (after.country, after.foreignTransfer))
                if before.recipientUse != after.recipientUse {
                    add(.vendors, .changed, after.id, ja: "送信先での利用の記載の変更", en: "the recipient's own use restated")
                }
                if before.company != after.company || before.service != after.service || before.category != after.category
                    || before.privacyPolicyURL != after.privacyPolicyURL || before.optOutURL != after.optOutURL
                    || before.cookiePolicyURL != after.cookiePolicyURL
                {
                    add(
                        .vendors,
                        .changed,
                        after.id,
                        ja: "事業者名・サービス名・種別・リンクの変更",
                        en: "company, service, category or links changed"
                    )
                }
            }
        }

        compare(old.contractors, new.contractors, id: \.id) { difference in
            switch difference {
            case let .added(c):
                add(
                    .contractors,
                    .added,
                    c.id,
                    ja: "追加: \(c.name.ja)(\(c.task.ja)、扱う項目: \(c.entrustedData.joined(separator: ", ")))",
                    en: "added: \(c.name.en) (\(c.task.en); handles: \(c.entrustedData.joined(separator: ", ")))"
                )
            case let .removed(before):
                add(.contractors, .removed, before.id, ja: "削除: \(before.name.ja)", en: "removed: \(before.name.en)")
            case let .changed(before, after):
                if before.entrustedData != after.entrustedData {
                    let list = after.entrustedData.joined(separator: ", ")
                    add(.contractors, .changed, after.id, ja: "扱う項目: \(list)", en: "handles: \(list)")
                }
                transfer(.contractors, after.id, (before.country, before.foreignTransfer), (after.country, after.foreignTransfer))
                if before.name != after.name || before.task != after.task {
                    add(.contractors, .changed, after.id, ja: "名称・委託する業務の変更", en: "name or entrusted work changed")
                }
                if before.ndaSigned != after.ndaSigned || before.ndaExpires != after.ndaExpires || before.lastReview != after.lastReview {
                    add(
                        .contractors,
                        .changed,
                        after.id,
                        ja: "秘密保持契約・点検の日付: \(after.ndaSigned)〜\(after.ndaExpires)、点検 \(after.lastReview)",
                        en: "NDA and review dates: \(after.ndaSigned) to \(after.ndaExpires), reviewed \(after.lastReview)"
                    )
                }
            }
        }

        if old.requests.answerBusinessDays != new.requests.answerBusinessDays {
            add(
                .requests,
                .changed,
                "answer_business_days",
                ja: "回答までの営業日: \(old.requests.answerBusinessDays) → \(new.requests.answerBusinessDays)",
                en: "business days to answer: \(old.requests.answerBusinessDays) → \(new.requests.answerBusinessDays)"
            )
        }
        if old.requests.email != new.requests.email {
            add(.requests, .changed, "email", ja: "請求の窓口: \(new.requests.email)", en: "requests go to: \(new.requests.email)")
        }
        if old.requests.identityVerification != new.requests.identityVerification {
            add(
                .requests,
                .changed,
                "identity_verification",
                ja: "本人確認についての記載の変更",
                en: "the statement on identity verification changed"
            )
        }
        if old.requests.closedDays != new.requests.closedDays {
            add(.requests, .changed, "closed_days", ja: "休業日の変更", en: "closed days changed")
        }
        if old.requests.fee != new.requests.fee || old.requests.feePayment != new.requests.feePayment {
            let fee = new.requests.fee.map { $0 == 0 ? ("無料", "free") : ("\($0) 円", "\($0) yen") } ?? ("記載なし", "not stated")
            add(.requests, .changed, "fee", ja: "手数料: \(fee.0)", en: "fee: \(fee.1)")
        }
        if old.requests.submission != new.requests.submission || old.requests.agents != new.requests.agents
            || old.requests.delivery != new.requests.delivery
        {
            add(
                .requests,
                .changed,
                "procedure",
                ja: "請求の方法・代理人・回答のお渡し方法の記載の変更",
                en: "how to request, requests by agents or delivery restated"
            )
        }

        let statements: [(String, LocalizedText, LocalizedText, LocalizedText)] = [
            ("operator", LocalizedText(ja: "事業者", en: "operator"), text(old.company), text(new.company)),
            ("officer", LocalizedText(ja: "個人情報保護管理者", en: "privacy officer"), text(old.officer), text(new.officer)),
            (
                "missing_items_consequence", LocalizedText(ja: "項目を提供しない場合", en: "when items are not given"),
                old.missingItemsConsequence, new.missingItemsConsequence
            ),
            (
                "third_party_provision", LocalizedText(ja: "第三者提供と社内の転送", en: "provision to third parties and forwarding"),
                old.thirdPartyProvision, new.thirdPartyProvision
            ),
            ("outsourcing", LocalizedText(ja: "委託", en: "outsourcing"), old.outsourcing, new.outsourcing),
            ("statistics", LocalizedText(ja: "統計", en: "statistics"), old.statistics, new.statistics),
            ("changes", LocalizedText(ja: "変更の手続き", en: "how the policy changes"), old.changes, new.changes),
            (
                "informative_data", LocalizedText(ja: "インフォマティブデータ", en: "informative data"), text(old.informativeData),
                text(new.informativeData)
            ),
            ("opt_out", LocalizedText(ja: "オプトアウト", en: "opt-out"), text(old.optOut), text(new.optOut)),
            (
                "security_measures", LocalizedText(ja: "安全管理措置", en: "security measures"), text(old.securityMeasures),
                text(new.securityMeasures)
            ),
            (
                "complaints", LocalizedText(ja: "苦情の申出先", en: "complaint desk"),
                text([text(old.complaints), text(old.certifiedOrganisation)]), text([text(new.complaints), text(new.certifiedOrganisation)])
            ),
            ("joint_use", LocalizedText(ja: "共同利用", en: "joint use"), text(old.jointUse), text(new.jointUse)),
            (
                "marketing_mail", LocalizedText(ja: "広告宣伝メールの送信者", en: "sender of advertising mail"), text(old.marketingMail),
                text(new.marketingMail)
            ),
        ]
        for (id, name, before, after) in statements where before != after {
            add(.statements, .changed, id, ja: "\(name.ja)の記載の変更", en: "the statement on \(name.en) changed")
        }

        // Changes of purpose: a new purpose covers every field that serves it; an old purpose only the fields that
        // gained it.
        var purposeChanges: [PurposeChange] = []
        let oldPurposes = Set(old.purposes.map(\.id))
        for purpose in new.purposes {
            let serving = new.fields.filter { $0.purposes.contains(purpose.id) }
            if !oldPurposes.contains(purpose.id) {
                purposeChanges.append(PurposeChange(purpose: purpose.id, fields: serving.map(\.id), newPurpose: true))
                continue
            }
            // Analysing the data becomes a new use of everything the purpose covers (APPI Art. 17(1), 21).
            let nowProfiling = purpose.isProfiling && old.purposes.first(where: { $0.id == purpose.id })?.isProfiling == false
            let widened = serving.filter { field in
                guard let before = old.fields.first(where: { $0.id == field.id }) else { return false }
                return nowProfiling || !before.purposes.contains(purpose.id)
            }
            if !widened.isEmpty {
                purposeChanges.append(PurposeChange(purpose: purpose.id, fields: widened.map(\.id), newPurpose: false))
            }
        }
        func rank(_ section: Section) -> Int { Section.allCases.firstIndex(of: section) ?? 0 }
        let sorted = changes.enumerated().sorted { (rank($0.element.section), $0.offset) < (rank($1.element.section), $1.offset) }
        return PolicyDiff(from: old.version, to: new.version, changes: sorted.map(\.element), purposeChanges: purposeChanges)
    }

    private enum Difference<T> {
        case added(T)
        case removed(T)
        case changed(T, T)
    }

    /// Added, removed or changed elements of two lists, matched by `id`, in the newer list's order (removed ones last).
    private static func compare<T: Equatable>(_ old: [T], _ new: [T], id: (T) -> String, _ visit: (Difference<T>) -> Void) {
        let before = Dictionary(old.map { (id($0), $0) }, uniquingKeysWith: { first, _ in first })
        let afterIDs = Set(new.map(id))
        for element in new {
            if let previous = before[id(element)] {
                if previous != element { visit(.changed(previous, element)) }
            } else {
                visit(.added(element))
            }
        }
        for element in old where !afterIDs.contains(id(element)) { visit(.removed(element)) }
    }

    /// A statement-like value as comparable text (its canonical JSON), for "did it change" only.
    private static func text(_ value: some Encodable) -> LocalizedText {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return LocalizedText(json)
    }
}
