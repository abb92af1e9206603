import Foundation
import Yams

/// Walks the YAML node tree of a policy file, building the `Policy` and collecting a diagnostic for
/// every problem instead of stopping at the first one.
struct PolicyReader {
    let file: String
    private(set) var diagnostics: [PolicyDiagnostic] = []
    /// Where each declared id stands, per kind, for reference checks.
    var declared: [String: [String: Mark]] = [:]

    init(file: String) {
        self.file = file
    }

    // MARK: Reporting

    mutating func report(_ mark: Mark?, ja: String, en: String, severity: PolicyDiagnostic.Severity = .error) {
        diagnostics.append(
            PolicyDiagnostic(
                file: file,
                line: mark?.line ?? 1,
                column: mark?.column ?? 1,
                text: LocalizedText(ja: ja, en: en),
                severity: severity
            )
        )
    }

    /// Something the law may require depending on the operator's situation; the file is still used.
    mutating func warn(_ mark: Mark?, ja: String, en: String) {
        report(mark, ja: ja, en: en, severity: .warning)
    }

    /// A path as the Japanese message names it: key paths stay as written, the document itself is named in Japanese.
    static func ja(_ path: String) -> String {
        path == "the policy file" ? "ポリシーファイル" : path
    }

    /// What a kind of declared id is called in Japanese.
    static func ja(kind: String) -> String {
        switch kind {
        case "service": "サービス"
        case "purpose": "利用目的"
        case "field": "項目"
        case "department": "部署"
        case "contractor": "委託先"
        case "vendor": "外部送信先"
        default: kind.hasPrefix("choice of ") ? "\(kind.dropFirst("choice of ".count)) の選択肢" : kind
        }
    }

    // MARK: The document

    mutating func read(_ root: Node?) -> Policy? {
        guard let root else {
            report(
                nil,
                ja: "ポリシーファイルが空です。キー \(Self.keyList(Policy.CodingKeys.self)) を持つマッピングにしてください",
                en: "the policy file is empty; it must be a mapping with the keys \(Self.keyList(Policy.CodingKeys.self))"
            )
            return nil
        }
        guard let map = mapping(root, "the policy file", allowed: Policy.CodingKeys.self, refused: Self.refusedKeys) else { return nil }
        let k = Policy.CodingKeys.self
        let version = string(require(map, k.version, ""), "version")
        if let version, !Self.isVersionID(version) {
            report(
                map[k.version.rawValue]?.mark,
                ja: "version: '\(version)' は版の ID に使えません。英数字と「.」「_」「-」で 64 文字以内にしてください",
                en: "version: '\(version)' is not a valid version id; use letters, digits, '.', '_' or '-' (at most 64)"
            )
        }
        let effectiveDate = date(require(map, k.effectiveDate, ""), "effective_date")
        let revisions = list(map[k.revisions.rawValue], "revisions", allowEmpty: true).compactMap { node, path in
            date(node, path).map { (node.mark, $0) }
        }
        let company = readOperator(require(map, k.company, ""))
        let services = list(require(map, k.services, ""), "services").compactMap { readService($0, $1) }
        let purposes = list(require(map, k.purposes, ""), "purposes").compactMap { readPurpose($0, $1) }
        let fieldNodes = list(require(map, k.fields, ""), "fields")
        let fields = fieldNodes.compactMap { readField($0, $1) }
        let missing = localized(require(map, k.missingItemsConsequence, ""), "missing_items_consequence")
        let departments = list(require(map, k.departments, ""), "departments").compactMap { readDepartment($0, $1) }
        let thirdParty = localized(require(map, k.thirdPartyProvision, ""), "third_party_provision")
        let outsourcing = localized(require(map, k.outsourcing, ""), "outsourcing")
        let contractors = list(map[k.contractors.rawValue], "contractors", allowEmpty: true).compactMap {
            readContractor($0, $1, services: Set(services.map(\.id)))
        }
        let statistics = localized(require(map, k.statistics, ""), "statistics")
        let statisticsRules = map[k.statisticsRules.rawValue].flatMap { readStatisticsRules($0, fields: fields) }
        let changes = localized(require(map, k.changes, ""), "changes")
        let officer = readOfficer(require(map, k.officer, ""))
        let requests = readRequests(require(map, k.requests, ""))
        let informative = readInformativeData(require(map, k.informativeData, ""))
        let vendors = list(map[k.vendors.rawValue], "vendors", allowEmpty: true).compactMap { readVendor($0, $1) }
        let optOut = readOptOut(require(map, k.optOut, ""))
        let security = readSecurityMeasures(
            require(
                map,
                k.securityMeasures,
                "",
                hint: LocalizedText(ja: "個人情報保護法第32条第1項・施行令第10条第1号", en: "APPI Art. 32(1), Order Art. 10(i)")
            )
        )
        let complaints = readComplaints(
            require(map, k.complaints, "", hint: LocalizedText(ja: "施行令第10条第2号", en: "Order Art. 10(ii)"))
        )
        let certified = map[k.certifiedOrganisation.rawValue].flatMap { readCertifiedOrganisation($0) }
        let jointUse = map[k.jointUse.rawValue].flatMap { readJointUse($0) }
        var marketingMail: MarketingMailSender?
        if let node = map[k.marketingMail.rawValue] {
            marketingMail = readMarketingMail(node)
        } else if let consent = purposes.first(where: \.requiresConsent) {
            report(
                map.mark,
                ja:
                    "ポリシーファイル: 利用目的 '\(consent.id)' は同意を得てメールを送る目的です。広告宣伝メールに表示する送信者を 'marketing_mail'(sender, address, unsubscribe, contact)に書いてください(特定電子メール法第4条・同施行規則第4条・第9条)",
                en:
                    "the policy file: purpose '\(consent.id)' sends mail by consent; name the sender shown in advertising mail under 'marketing_mail' (sender, address, unsubscribe, contact) (SEMA Art. 4; its Rules Art. 4, 9)"
            )
        }

        checkRevisions(effectiveDate, revisions)
        checkLaw(purposes: purposes, purposesNode: map[k.purposes.rawValue], security: security)
        checkReferences(fields: fieldNodes, parsedFields: fields, purposes: purposes, contractors: contractors, root: root)
        let contractorIDs = Set(contractors.map(\.id))
        for (mark, path, id) in pendingVendorContractors where !contractorIDs.contains(id) {
            report(
                mark,
                ja: "\(path): 委託先 '\(id)' は contractors に宣言されていません。宣言されている委託先: \(contractorIDs.sorted().joined(separator: ", "))",
                en:
                    "\(path): contractor '\(id)' is not declared under contractors; declared contractors: \(contractorIDs.sorted().joined(separator: ", "))"
            )
        }

        guard !diagnostics.contains(where: { $0.severity == .error }), let version, let effectiveDate, let company, let missing, let thirdParty,
            let outsourcing, let statistics, let changes, let officer, let requests, let informative, let optOut
        else { return nil }
        return Policy(
            version: version,
            effectiveDate: effectiveDate,
            revisions: revisions.map(\.1),
            company: company,
            services: services,
            purposes: purposes,
            fields: fields,
            missingItemsConsequence: missing,
            departments: departments,
            thirdPartyProvision: thirdParty,
            outsourcing: outsourcing,
            contractors: contractors,
            statistics: statistics,
            statisticsRules: statisticsRules,
            changes: changes,
            officer: officer,
            requests: requests,
            informativeData: informative,
            vendors: vendors,
            optOut: optOut,
            securityMeasures: security,
            complaints: complaints,
            certifiedOrganisation: certified,
            jointUse: jointUse,
            marketingMail: marketingMail
        )
    }

    // MARK: Sections

    mutating func readOperator(_ node: Node?) -> Operator? {
        guard let map = mapping(node, "operator", allowed: Operator.CodingKeys.self) else { return nil }
        typealias K = Operator.CodingKeys
        let name = properName(require(map, K.name, "operator"), "operator.name")
        let address = localized(require(map, K.address, "operator"), "operator.address")
        let representative = properName(require(map, K.representative, "operator"), "operator.representative")
        let basic = url(require(map, K.basicPolicyURL, "operator"), "operator.basic_policy_url")
        let informative = url(require(map, K.informativeDataPolicyURL, "operator"), "operator.informative_data_policy_url")
        guard let name, let address, let representative, let basic, let informative else { return nil }
        return Operator(
            name: name,
            address: address,
            representative: representative,
            basicPolicyURL: basic,
            informativeDataPolicyURL: informative
        )
    }

    mutating func readService(_ node: Node, _ path: String) -> Service? {
        guard let map = mapping(node, path, allowed: ["id", "name"]) else { return nil }
        let id = identifier(require(map, "id", path), "\(path).id", kind: "service")
        let name = properName(require(map, "name", path), "\(path).name")
        guard let id, let name else { return nil }
        return Service(id: id, name: name)
    }

    mutating func readPurpose(_ node: Node, _ path: String) -> Purpose? {
        guard let map = mapping(node, path, allowed: Purpose.CodingKeys.self) else { return nil }
        typealias K = Purpose.CodingKeys
        let id = identifier(require(map, K.id, path), "\(path).id", kind: "purpose")
        let text = localized(require(map, K.text, path), "\(path).text")
        let retention = integer(require(map, K.retentionDays, path), "\(path).retention_days", in: 1...36_500)
        let consent = map[K.requiresConsent.rawValue].map { boolean($0, "\(path).requires_consent") } ?? false
        let profiling = map[K.profiling.rawValue].map { boolean($0, "\(path).profiling") } ?? false
        guard let id, let text, let retention, let consent, let profiling else { return nil }
        return Purpose(id: id, text: text, retentionDays: retention, requiresConsent: consent, profiling: profiling)
    }

    mutating func readField(_ node: Node, _ path: String) -> Field? {
        guard let map = mapping(node, path, allowed: Field.CodingKeys.self) else { return nil }
        typealias K = Field.CodingKeys
        let id = identifier(require(map, K.id, path), "\(path).id", kind: "field")
        let label = localized(require(map, K.label, path), "\(path).label")
        let type = enumeration(require(map, K.type, path), "\(path).type", FieldType.self)
        let required = map[K.required.rawValue].map { boolean($0, "\(path).required") } ?? false
        let purposes = list(require(map, K.purposes, path), "\(path).purposes").compactMap { string($0, $1) }
        let maxLength =
            map[K.maxLength.rawValue].map { integer($0, "\(path).max_length", in: 1...100_000) }
            ?? (type.map(Self.defaultMaxLength) ?? 1)
        let choices = list(map[K.choices.rawValue], "\(path).choices", allowEmpty: true).compactMap { node, choicePath in
            readChoice(node, choicePath, field: id ?? path)
        }
        let services = list(map[K.services.rawValue], "\(path).services", allowEmpty: true).compactMap { string($0, $1) }
        if type == .choice, choices.isEmpty {
            report(
                map.mark ?? node.mark,
                ja: "\(path): 種類が 'choice' の項目には、空でない 'choices' の一覧が要ります",
                en: "\(path): a field of type 'choice' needs a non-empty 'choices' list"
            )
        }
        if let type, type != .choice, map[K.choices.rawValue] != nil {
            report(
                map[K.choices.rawValue]?.mark,
                ja: "\(path).choices: choices を書けるのは種類が 'choice' の項目だけです(この項目は '\(type.rawValue)')",
                en: "\(path).choices: only fields of type 'choice' take choices (this one is '\(type.rawValue)')"
            )
        }
        guard let id, let label, let type, let required, let maxLength else { return nil }
        return Field(
            id: id,
            label: label,
            type: type,
            required: required,
            purposes: purposes,
            maxLength: maxLength,
            choices: choices,
            services: services
        )
    }

    mutating func readChoice(_ node: Node, _ path: String, field: String) -> Choice? {
        guard let map = mapping(node, path, allowed: ["id", "label"]) else { return nil }
        let id = identifier(require(map, "id", path), "\(path).id", kind: "choice of \(field)")
        let label = localized(require(map, "label", path), "\(path).label")
        guard let id, let label else { return nil }
        return Choice(id: id, label: label)
    }

    mutating func readDepartment(_ node: Node, _ path: String) -> Department? {
        guard let map = mapping(node, path, allowed: ["id", "name"]) else { return nil }
        let id = identifier(require(map, "id", path), "\(path).id", kind: "department")
        let name = localized(require(map, "name", path), "\(path).name")
        guard let id, let name else { return nil }
        return Department(id: id, name: name)
    }

    mutating func readContractor(_ node: Node, _ path: String, services serviceIDs: Set<String>) -> Contractor? {
        guard let map = mapping(node, path, allowed: Contractor.CodingKeys.self) else { return nil }
        typealias K = Contractor.CodingKeys
        let id = identifier(require(map, K.id, path), "\(path).id", kind: "contractor")
        let name = properName(require(map, K.name, path), "\(path).name")
        let task = localized(require(map, K.task, path), "\(path).task")
        let data = list(require(map, K.entrustedData, path), "\(path).entrusted_data").compactMap { node, itemPath in
            string(node, itemPath).map { (node.mark, itemPath, $0) }
        }
        let signed = date(require(map, K.ndaSigned, path), "\(path).nda_signed")
        let expires = date(require(map, K.ndaExpires, path), "\(path).nda_expires")
        let review = date(require(map, K.lastReview, path), "\(path).last_review")
        if let signed, let expires, expires <= signed {
            report(
                map[K.ndaExpires.rawValue]?.mark,
                ja: "\(path).nda_expires: 契約の満了日(\(expires))が締結日(\(signed))以前になっています",
                en: "\(path).nda_expires: the agreement expires (\(expires)) on or before it was signed (\(signed))"
            )
        }
        if let signed, let review, review < signed {
            report(
                map[K.lastReview.rawValue]?.mark,
                ja: "\(path).last_review: 見直し日(\(review))が契約の締結日(\(signed))より前です",
                en: "\(path).last_review: the review (\(review)) is before the agreement was signed (\(signed))"
            )
        }
        var services: [String]?
        if let node = map[K.services.rawValue] {
            services = list(node, "\(path).services").compactMap { item, itemPath in
                guard let id = string(item, itemPath) else { return nil }
                guard serviceIDs.contains(id) else {
                    report(
                        item.mark,
                        ja: "\(itemPath): サービス '\(id)' は services に宣言されていません。宣言されているサービス: \(serviceIDs.sorted().joined(separator: ", "))",
                        en:
                            "\(itemPath): service '\(id)' is not declared under services; declared services: \(serviceIDs.sorted().joined(separator: ", "))"
                    )
                    return nil
                }
                return id
            }
        }
        pendingEntrusted.append(contentsOf: data)
        let country = readCountry(require(map, K.country, path, hint: Self.countryHint), "\(path).country")
        let transfer = readForeignTransfer(map, path, country: country, needed: true)
        guard let id, let name, let task, let signed, let expires, let review, let country, let transfer else { return nil }
        heldAbroad.append((map[K.country.rawValue]?.mark, "\(path).country", country))
        return Contractor(
            id: id,
            name: name,
            task: task,
            entrustedData: data.map(\.2),
            ndaSigned: signed,
            ndaExpires: expires,
            lastReview: review,
            services: services,
            country: country,
            foreignTransfer: transfer
        )
    }
    var pendingEntrusted: [(Mark?, String, String)] = []
    /// Contractor ids named by vendors' `personal_data`, checked once every contractor is read.
    var pendingVendorContractors: [(Mark?, String, String)] = []
    /// Countries where personal data is held (contractors, vendors that receive it), checked against the security
    /// measures' foreign environment once all are read.
    var heldAbroad: [(Mark?, String, Country)] = []
    /// Vendors that link what they receive with a person's data (`personal_data`): a profiling purpose must say so.
    var linkingVendors: [(mark: Mark?, path: String)] = []

    mutating func readOfficer(_ node: Node?) -> Officer? {
        guard let map = mapping(node, "officer", allowed: ["title", "department", "email"]) else { return nil }
        let title = localized(require(map, "title", "officer"), "officer.title")
        let department = localized(require(map, "department", "officer"), "officer.department")
        let email = emailAddress(require(map, "email", "officer"), "officer.email")
        guard let title, let department, let email else { return nil }
        return Officer(title: title, department: department, email: email)
    }

    mutating func readStatisticsRules(_ node: Node, fields: [Field]) -> StatisticsRules? {
        let path = "statistics_rules"
        guard let map = mapping(node, path, allowed: StatisticsRules.CodingKeys.self) else { return nil }
        typealias K = StatisticsRules.CodingKeys
        var rules = StatisticsRules()
        if let node = map[K.minimumCount.rawValue] {
            guard let k = integer(node, "\(path).minimum_count", in: 2...1_000) else { return nil }
            rules.minimumCount = k
        }
        if let node = map[K.categoryField.rawValue] {
            guard let id = string(node, "\(path).category_field") else { return nil }
            let choices = fields.filter { $0.type == .choice }.map(\.id)
            guard choices.contains(id) else {
                report(
                    node.mark,
                    ja: "\(path).category_field: '\(id)' は選択式（choice）の項目ではありません。選択式の項目: \(choices.joined(separator: ", "))",
                    en: "\(path).category_field: '\(id)' is not a choice field; choice fields: \(choices.joined(separator: ", "))"
                )
                return nil
            }
            rules.categoryField = id
        }
        if let node = map[K.notice.rawValue] {
            guard let notice = localized(node, "\(path).notice") else { return nil }
            rules.notice = notice
        }
        return rules
    }

    mutating func readRequests(_ node: Node?) -> RequestContact? {
        guard let map = mapping(node, "requests", allowed: RequestContact.CodingKeys.self) else { return nil }
        typealias K = RequestContact.CodingKeys
        let email = emailAddress(require(map, K.email, "requests"), "requests.email")
        let days = integer(require(map, K.answerBusinessDays, "requests"), "requests.answer_business_days", in: 1...30)
        var closed: [LocalDate] = []
        for (node, path) in list(map[K.closedDays.rawValue], "requests.closed_days", allowEmpty: true) {
            guard let day = date(node, path) else { continue }
            if !JapaneseHolidays.supportedYears.contains(day.year) {
                let years = JapaneseHolidays.supportedYears
                report(
                    node.mark,
                    ja: "\(path): \(day) は営業日カレンダーの対象(\(years.lowerBound)〜\(years.upperBound) 年)の外です",
                    en: "\(path): \(day) is outside the calendar's years \(years.lowerBound)–\(years.upperBound)"
                )
            } else if closed.contains(day) {
                report(node.mark, ja: "\(path): \(day) が二度書かれています", en: "\(path): \(day) is listed twice")
            } else {
                closed.append(day)
            }
        }
        let identity = localized(require(map, K.identityVerification.rawValue, "requests"), "requests.identity_verification")
        let fee = readFee(
            require(
                map,
                K.fee,
                "requests",
                hint: LocalizedText(ja: "無料なら 'free'、有料なら円の金額。法第32条第1項第3号・第38条", en: "'free', or the amount in yen; APPI Art. 32(1)(iii), 38")
            )
        )
        var payment: LocalizedText?
        if let node = map[K.feePayment.rawValue] {
            payment = localized(node, "requests.fee_payment")
        } else if let fee, fee > 0 {
            report(
                map[K.fee.rawValue]?.mark,
                ja: "requests.fee: 手数料(\(fee) 円)を取るときは、その支払い方法を 'fee_payment' に書いてください(法第38条)",
                en: "requests.fee: a fee of \(fee) yen needs 'fee_payment' saying how it is paid (APPI Art. 38)"
            )
        }
        let submission = list(
            require(map, K.submission, "requests", hint: LocalizedText(ja: "請求の受付方法。施行令第12条", en: "how requests are handed in; Order Art. 12")),
            "requests.submission"
        ).compactMap { enumeration($0, $1, RequestSubmission.self) }
        let agents = localized(
            require(
                map,
                K.agents,
                "requests",
                hint: LocalizedText(
                    ja: "代理人による請求とその確認方法。法第37条第3項・施行令第11条・第13条",
                    en: "requests by an agent and how they are verified; APPI Art. 37(3), Order Art. 11, 13"
                )
            ),
            "requests.agents"
        )
        let delivery = map[K.delivery.rawValue].flatMap { localized($0, "requests.delivery") }
        if map[K.delivery.rawValue] == nil {
            warn(
                map.mark,
                ja: "requests: 'delivery' がありません。回答の届け方(電磁的記録の提供、ご希望による書面の交付)を書いてください(法第33条第1項・第2項)",
                en: "requests: no 'delivery'; say how answers are delivered (electronically, or on paper when the person asks) (APPI Art. 33(1)-(2))"
            )
        }
        guard let email, let days, let identity, let fee, let agents, fee == 0 || payment != nil else { return nil }
        return RequestContact(
            email: email,
            answerBusinessDays: days,
            closedDays: closed.sorted(),
            identityVerification: identity,
            fee: fee,
            feePayment: payment,
            submission: submission,
            agents: agents,
            delivery: delivery
        )
    }

    mutating func readInformativeData(_ node: Node?) -> InformativeData? {
        let path = "informative_data"
        guard let map = mapping(node, path, allowed: InformativeData.CodingKeys.self) else { return nil }
        typealias K = InformativeData.CodingKeys
        let cookie = string(require(map, K.cookieName, path), "\(path).cookie_name")
        if let cookie, !cookie.unicodeScalars.allSatisfy({ Self.cookieNameCharacters.contains($0) }) || cookie.count > 64 {
            report(
                map[K.cookieName.rawValue]?.mark,
                ja: "\(path).cookie_name: '\(cookie)' は Cookie の名前に使えません。半角英数字と「_」「-」で 64 文字以内にしてください",
                en: "\(path).cookie_name: '\(cookie)' is not a valid cookie name; use ASCII letters, digits, '_' or '-' (at most 64)"
            )
        }
        // Browsers cap a cookie's lifetime at 400 days; promising longer would be untrue.
        let lifetime = integer(require(map, K.cookieLifetimeDays, path), "\(path).cookie_lifetime_days", in: 1...400)
        let purposes = list(require(map, K.purposes, path), "\(path).purposes").compactMap { localized($0, $1) }
        let rule = localized(require(map, K.linkedDataRule, path), "\(path).linked_data_rule")
        let mode = map[K.consentMode.rawValue].map { enumeration($0, "\(path).consent_mode", ConsentMode.self) } ?? .notice
        guard let cookie, let lifetime, let rule, let mode else { return nil }
        return InformativeData(
            cookieName: cookie,
            cookieLifetimeDays: lifetime,
            purposes: purposes,
            linkedDataRule: rule,
            consentMode: mode
        )
    }

    mutating func readVendor(_ node: Node, _ path: String) -> Vendor? {
        guard let map = mapping(node, path, allowed: Vendor.CodingKeys.self) else { return nil }
        typealias K = Vendor.CodingKeys
        let id = identifier(require(map, K.id, path), "\(path).id", kind: "vendor")
        let company = properName(require(map, K.company, path), "\(path).company")
        let service = properName(require(map, K.service, path), "\(path).service")
        let category = enumeration(require(map, K.category, path), "\(path).category", VendorCategory.self)
        let itemsNode = require(
            map,
            K.items,
            path,
            hint: LocalizedText(
                ja: "送信先が受け取る情報をすべて挙げてください",
                en: "list every information item the vendor receives"
            )
        )
        let items = list(itemsNode, "\(path).items").compactMap { localized($0, $1) }
        let purpose = localized(require(map, K.purpose, path), "\(path).purpose")
        let privacy = optionalURL(map[K.privacyPolicyURL.rawValue], "\(path).privacy_policy_url")
        let optOut = optionalURL(map[K.optOutURL.rawValue], "\(path).opt_out_url")
        let cookie = optionalURL(map[K.cookiePolicyURL.rawValue], "\(path).cookie_policy_url")
        let hosts = list(
            require(map, K.hosts, path, hint: LocalizedText(ja: "タグが通信するホストを挙げてください", en: "list the hosts its tag contacts")),
            "\(path).hosts"
        ).compactMap { node, hostPath in
            hostName(node, hostPath)
        }
        let personalData = map[K.personalData.rawValue].flatMap { readVendorPersonalData($0, "\(path).personal_data") }
        let country = readCountry(require(map, K.country, path, hint: Self.countryHint), "\(path).country")
        let transfer = readForeignTransfer(map, path, country: country, needed: map[K.personalData.rawValue] != nil)
        let recipientUse = map[K.recipientUse.rawValue].flatMap { localized($0, "\(path).recipient_use") }
        if map[K.recipientUse.rawValue] == nil {
            warn(
                map.mark ?? node.mark,
                ja: "\(path): 'recipient_use' がありません。当社の利用目的(purpose)とは別に、送信先が自ら行う利用を書いてください(電気通信事業法第27条の12・外部送信規律の解説)",
                en:
                    "\(path): no 'recipient_use'; say what the recipient itself does with the data, apart from the site's purpose (TBA Art. 27-12 and the PPC/MIC guidance on external transmission)"
            )
        }
        for (itemNode, itemPath) in list(itemsNode, "\(path).items", quietly: true) {
            guard let text = itemNode.mapping?["ja"]?.string, let word = Self.vagueWords.first(where: { text.contains($0) }) else { continue }
            warn(
                itemNode.mark,
                ja: "\(itemPath): 「\(word)」で終わる書き方では、送信される情報が特定できません。一つずつ挙げてください(電気通信事業法第27条の12)",
                en: "\(itemPath): '\(word)' leaves the items sent open; list each item on its own (TBA Art. 27-12)"
            )
        }
        if map[K.personalData.rawValue] != nil { linkingVendors.append((node.mark, path)) }
        if personalData != nil, let country { heldAbroad.append((map[K.country.rawValue]?.mark, "\(path).country", country)) }
        guard let id, let company, let service, let category, let purpose, let privacy, let optOut, let cookie, let country, let transfer
        else { return nil }
        return Vendor(
            id: id,
            company: company,
            service: service,
            category: category,
            items: items,
            purpose: purpose,
            privacyPolicyURL: privacy,
            optOutURL: optOut,
            cookiePolicyURL: cookie,
            hosts: hosts,
            personalData: personalData,
            country: country,
            foreignTransfer: transfer,
            recipientUse: recipientUse
        )
    }

    /// `personal_data` of a vendor: exactly one of `contractor` (checked against the contractors once all are read)
    /// and `basis` (`consent` or a legal ground).
    mutating func readVendorPersonalData(_ node: Node, _ path: String) -> VendorPersonalData? {
        guard let map = mapping(node, path, allowed: VendorPersonalData.CodingKeys.self) else { return nil }
        let contractor = map["contractor"].flatMap { string($0, "\(path).contractor") }
        let basis = map["basis"].flatMap { string($0, "\(path).basis") }
        let grounds = ["consent"] + LegalGround.allCases.map(\.rawValue)
        guard (contractor == nil) != (basis == nil) else {
            report(
                node.mark,
                ja: "\(path): この送信先が受け取る個人データについて、委託先(contractor: 委託先のid)か、第三者提供の根拠(basis: \(grounds.joined(separator: "・")))のどちらか一つを書いてください",
                en:
                    "\(path): name what covers the personal data this vendor receives — the contractor entry (contractor: ID) or the basis of provision (basis: \(grounds.joined(separator: ", "))) — exactly one"
            )
            return nil
        }
        if let basis, !grounds.contains(basis) {
            report(
                map["basis"]?.mark,
                ja: "\(path).basis: '\(basis)' は提供の根拠ではありません。使えるもの: \(grounds.joined(separator: "・"))",
                en: "\(path).basis: '\(basis)' is not a basis of provision; use one of: \(grounds.joined(separator: ", "))"
            )
            return nil
        }
        if let contractor { pendingVendorContractors.append((map["contractor"]?.mark, "\(path).contractor", contractor)) }
        return VendorPersonalData(contractor: contractor, basis: basis)
    }

    mutating func readOptOut(_ node: Node?) -> OptOutGuidance? {
        let path = "opt_out"
        guard let map = mapping(node, path, allowed: OptOutGuidance.CodingKeys.self) else { return nil }
        typealias K = OptOutGuidance.CodingKeys
        let reset = localized(require(map, K.cookieReset, path), "\(path).cookie_reset")
        let ids = list(require(map, K.advertisingIDs, path), "\(path).advertising_ids").compactMap { node, itemPath -> AdvertisingIDReset? in
            guard let item = mapping(node, itemPath, allowed: ["provider", "platform", "url"]) else { return nil }
            let provider = properName(require(item, "provider", itemPath), "\(itemPath).provider")
            let platform = localized(require(item, "platform", itemPath), "\(itemPath).platform")
            let link = url(require(item, "url", itemPath), "\(itemPath).url")
            guard let provider, let platform, let link else { return nil }
            return AdvertisingIDReset(provider: provider, platform: platform, url: link)
        }
        guard let reset else { return nil }
        return OptOutGuidance(cookieReset: reset, advertisingIDs: ids)
    }

    // MARK: Cross-checks

    mutating func checkRevisions(_ effective: LocalDate?, _ revisions: [(Mark?, LocalDate)]) {
        var previous: LocalDate? = effective
        for (index, (mark, date)) in revisions.enumerated() {
            if let previous, date <= previous {
                let what = index == 0 ? "the effective date (\(previous))" : "the revision before it (\(previous))"
                let japanese = index == 0 ? "施行日(\(previous))" : "一つ前の改定日(\(previous))"
                report(
                    mark,
                    ja: "revisions[\(index)]: \(date) が\(japanese)より後ではありません。改定日は effective_date より後に、古い順に書いてください",
                    en: "revisions[\(index)]: \(date) is not after \(what); list revision dates in order, after effective_date"
                )
            }
            previous = date
        }
    }

    mutating func checkReferences(
        fields fieldNodes: [(Node, String)],
        parsedFields: [Field],
        purposes: [Purpose],
        contractors: [Contractor],
        root: Node
    ) {
        let purposeIDs = declared["purpose"] ?? [:]
        let serviceIDs = declared["service"] ?? [:]
        let fieldIDs = declared["field"] ?? [:]
        var used: Set<String> = []
        for (node, path) in fieldNodes {
            guard let map = node.mapping else { continue }
            for (index, purposeNode) in (map["purposes"]?.sequence ?? []).enumerated() {
                guard let id = purposeNode.string, !id.isEmpty else { continue }
                if purposeIDs[id] == nil {
                    report(
                        purposeNode.mark,
                        ja: "\(path).purposes[\(index)]: 利用目的 '\(id)' は宣言されていません。宣言されている利用目的: \(Self.names(purposeIDs))",
                        en: "\(path).purposes[\(index)]: unknown purpose '\(id)'; declared purposes: \(Self.names(purposeIDs))"
                    )
                } else {
                    used.insert(id)
                }
            }
            for (index, serviceNode) in (map["services"]?.sequence ?? []).enumerated() {
                guard let id = serviceNode.string, !id.isEmpty, serviceIDs[id] == nil else { continue }
                report(
                    serviceNode.mark,
                    ja: "\(path).services[\(index)]: サービス '\(id)' は宣言されていません。宣言されているサービス: \(Self.names(serviceIDs))",
                    en: "\(path).services[\(index)]: unknown service '\(id)'; declared services: \(Self.names(serviceIDs))"
                )
            }
        }
        // `surveys` serves the answers people give to survey campaigns, which are not form fields.
        for (id, mark) in purposeIDs.sorted(by: { $0.key < $1.key }) where !used.contains(id) && id != Survey.purposeID {
            report(
                mark,
                ja: "purposes: 利用目的 '\(id)' は宣言されていますが、どの項目もこの目的に使われていません。項目の purposes に挙げるか、宣言を消してください",
                en: "purposes: purpose '\(id)' is declared but no field serves it; name it in a field's purposes or remove it"
            )
        }
        for (mark, path, id) in pendingEntrusted where fieldIDs[id] == nil {
            report(
                mark,
                ja: "\(path): 項目 '\(id)' は宣言されていません。宣言されている項目: \(Self.names(fieldIDs))",
                en: "\(path): unknown field '\(id)'; declared fields: \(Self.names(fieldIDs))"
            )
        }
        if !parsedFields.isEmpty, !parsedFields.contains(where: { $0.type == .email && $0.required && $0.services.isEmpty }) {
            report(
                root.mapping?["fields"]?.mark,
                ja: "fields: どのフォームにも、全サービスで尋ねる種類 'email' の必須項目が要ります(回答の送り先です)",
                en: "fields: every form needs a required field of type 'email' asked on all services (answers are sent to it)"
            )
        }
    }

    // MARK: Primitive readers

    mutating func mapping(
        _ node: Node?,
        _ path: String,
        allowed keys: [String],
        refused: [String: LocalizedText] = [:]
    ) -> Node.Mapping? {
        guard let node else { return nil }
        guard let map = node.mapping else {
            report(
                node.mark,
                ja: "\(Self.ja(path)): キー(\(keys.joined(separator: ", ")))のマッピングを書いてください",
                en: "\(path): expected a mapping of keys (\(keys.joined(separator: ", ")))"
            )
            return nil
        }
        for (key, _) in map {
            let name = key.string ?? ""
            if let reason = refused[name] {
                report(key.mark, ja: reason.ja, en: reason.en)
            } else if !keys.contains(name) {
                let label = path == "the policy file" ? "" : "\(path): "
                report(
                    key.mark,
                    ja: "\(label)キー '\(name)' は使えません。使えるキー: \(keys.joined(separator: ", "))",
                    en: "\(label)unknown key '\(name)'; allowed keys: \(keys.joined(separator: ", "))"
                )
            }
        }
        return map
    }

    mutating func mapping<K: CodingKey & CaseIterable>(
        _ node: Node?,
        _ path: String,
        allowed: K.Type,
        refused: [String: LocalizedText] = [:]
    ) -> Node.Mapping? {
        mapping(node, path, allowed: K.allCases.map(\.stringValue), refused: refused)
    }

    mutating func require<K: CodingKey>(_ map: Node.Mapping, _ key: K, _ path: String, hint: LocalizedText? = nil) -> Node? {
        require(map, key.stringValue, path, hint: hint)
    }

    mutating func require(_ map: Node.Mapping, _ key: String, _ path: String, hint: LocalizedText? = nil) -> Node? {
        if let value = map[key] { return value }
        let location = path.isEmpty ? "the policy file" : path
        report(
            map.mark,
            ja: "\(Self.ja(location)): 必須のキー '\(key)' がありません" + (hint.map { "(\($0.ja))" } ?? ""),
            en: "\(location): missing required key '\(key)'" + (hint.map { " (\($0.en))" } ?? "")
        )
        return nil
    }

    mutating func list(_ node: Node?, _ path: String, allowEmpty: Bool = false, quietly: Bool = false) -> [(Node, String)] {
        guard let node else { return [] }
        if quietly { return (node.sequence ?? []).enumerated().map { ($1, "\(path)[\($0)]") } }
        if node.scalar != nil, node.null != nil {
            if !allowEmpty { report(node.mark, ja: "\(path): 1 件以上挙げてください", en: "\(path): must list at least one entry") }
            return []
        }
        guard let sequence = node.sequence else {
            report(node.mark, ja: "\(path): 一覧(リスト)を書いてください", en: "\(path): expected a list")
            return []
        }
        if sequence.isEmpty, !allowEmpty {
            report(node.mark, ja: "\(path): 1 件以上挙げてください", en: "\(path): must list at least one entry")
        }
        return sequence.enumerated().map { ($1, "\(path)[\($0)]") }
    }

    mutating func string(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard let scalar = node.scalar else {
            report(
                node.mark,
                ja: "\(path): 文字列を書いてください(\(node.mapping != nil ? "マッピング" : "一覧")が書かれています)",
                en: "\(path): expected a text value, found a \(node.mapping != nil ? "mapping" : "list")"
            )
            return nil
        }
        let value = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
        if value.isEmpty {
            report(node.mark, ja: "\(path): 空にはできません", en: "\(path): must not be empty")
            return nil
        }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) {
            report(node.mark, ja: "\(path): 制御文字が含まれています", en: "\(path): contains a control character")
            return nil
        }
        return value
    }

    mutating func localized(_ node: Node?, _ path: String) -> LocalizedText? {
        guard let checked = mapping(node, path, allowed: ["ja", "en"]) else { return nil }
        let ja = string(require(checked, "ja", path), "\(path).ja")
        let en = string(require(checked, "en", path), "\(path).en")
        guard let ja, let en else { return nil }
        return LocalizedText(ja: ja, en: en)
    }

    /// A proper name may be one text for both languages.
    mutating func properName(_ node: Node?, _ path: String) -> LocalizedText? {
        guard let node else { return nil }
        if node.scalar != nil { return string(node, path).map(LocalizedText.init) }
        return localized(node, path)
    }

    mutating func identifier(_ node: Node?, _ path: String, kind: String) -> String? {
        guard let value = string(node, path) else { return nil }
        guard Self.isIdentifier(value) else {
            report(
                node?.mark,
                ja: "\(path): '\(value)' は ID に使えません。英小文字で始め、英小文字・数字・「-」で 64 文字以内にしてください",
                en: "\(path): '\(value)' is not a valid id; use lowercase letters, digits and '-', starting with a letter (at most 64)"
            )
            return nil
        }
        if let first = declared[kind]?[value] {
            report(
                node?.mark,
                ja: "\(path): \(Self.ja(kind: kind))の ID '\(value)' が重複しています(最初の宣言は \(first.line) 行目)",
                en: "\(path): duplicate \(kind) id '\(value)' (first declared at line \(first.line))"
            )
            return nil
        }
        if let mark = node?.mark { declared[kind, default: [:]][value] = mark }
        return value
    }

    mutating func integer(_ node: Node?, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard let scalar = node.scalar, let value = Int(scalar.string.trimmingCharacters(in: .whitespaces)) else {
            report(
                node.mark,
                ja: "\(path): \(range.lowerBound)〜\(range.upperBound) の整数を書いてください",
                en: "\(path): expected a whole number from \(range.lowerBound) to \(range.upperBound)"
            )
            return nil
        }
        guard range.contains(value) else {
            report(
                node.mark,
                ja: "\(path): \(value) は範囲外です。\(range.lowerBound)〜\(range.upperBound) にしてください",
                en: "\(path): \(value) is out of range; expected \(range.lowerBound) to \(range.upperBound)"
            )
            return nil
        }
        return value
    }

    mutating func boolean(_ node: Node, _ path: String) -> Bool? {
        switch node.scalar?.string {
        case "true": return true
        case "false": return false
        default:
            report(node.mark, ja: "\(path): true か false を書いてください", en: "\(path): expected true or false")
            return nil
        }
    }

    mutating func date(_ node: Node?, _ path: String) -> LocalDate? {
        guard let node, let raw = string(node, path) else { return nil }
        guard let value = LocalDate(iso: raw) else {
            report(
                node.mark,
                ja: "\(path): '\(raw)' は日付ではありません。YYYY-MM-DD の形で書いてください",
                en: "\(path): '\(raw)' is not a date; write YYYY-MM-DD"
            )
            return nil
        }
        return value
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ node: Node?, _ path: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let raw = string(node, path) else { return nil }
        guard let value = E(rawValue: raw) else {
            let names = E.allCases.map(\.rawValue).joined(separator: ", ")
            report(node?.mark, ja: "\(path): '\(raw)' は \(names) のどれでもありません", en: "\(path): '\(raw)' is not one of \(names)")
            return nil
        }
        return value
    }

    mutating func url(_ node: Node?, _ path: String) -> String? {
        guard let raw = string(node, path) else { return nil }
        guard Self.isWebURL(raw) else {
            report(node?.mark, ja: "\(path): '\(raw)' は http(s) の URL として正しくありません", en: "\(path): '\(raw)' is not a valid http(s) URL")
            return nil
        }
        return raw
    }

    /// An absent optional URL is `.some(nil)`; an invalid one is nil.
    mutating func optionalURL(_ node: Node?, _ path: String) -> String?? {
        guard let node else { return .some(nil) }
        return url(node, path).map { .some($0) }
    }

    mutating func emailAddress(_ node: Node?, _ path: String) -> String? {
        guard let raw = string(node, path) else { return nil }
        guard Self.isEmailAddress(raw) else {
            report(node?.mark, ja: "\(path): '\(raw)' はメールアドレスとして正しくありません", en: "\(path): '\(raw)' is not a valid e-mail address")
            return nil
        }
        return raw
    }

    mutating func hostName(_ node: Node, _ path: String) -> String? {
        guard let raw = string(node, path) else { return nil }
        guard Self.isHostPattern(raw) else {
            report(
                node.mark,
                ja: "\(path): '\(raw)' はホスト名ではありません('www.example.com' や '*.example.com' のように、スキームやパスを付けずに書いてください)",
                en: "\(path): '\(raw)' is not a host name (write e.g. 'www.example.com' or '*.example.com', no scheme or path)"
            )
            return nil
        }
        return raw.lowercased()
    }

    // MARK: Rules

    static let cookieNameCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

    static func keyList<K: CodingKey & CaseIterable>(_ keys: K.Type) -> String {
        K.allCases.map(\.stringValue).joined(separator: ", ")
    }

    static func names(_ ids: [String: Mark]) -> String {
        ids.isEmpty ? "(none)" : ids.keys.sorted().joined(separator: ", ")
    }

    static func defaultMaxLength(_ type: FieldType) -> Int {
        switch type {
        case .name: 100
        case .email: 254
        case .phone: 30
        case .text: 200
        case .textarea: 5_000
        case .choice: 64
        }
    }

    static func isIdentifier(_ value: String) -> Bool {
        guard let first = value.unicodeScalars.first, value.unicodeScalars.count <= 64,
            ("a"..."z").contains(first)
        else { return false }
        return value.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    static func isVersionID(_ value: String) -> Bool {
        value.unicodeScalars.count <= 64
            && value.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
            }
    }

    static func isWebURL(_ value: String) -> Bool {
        guard !value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }),
            let components = URLComponents(string: value),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.host, !host.isEmpty, isHostPattern(host) || host.contains(":")
        else { return false }
        return true
    }

    static func isEmailAddress(_ value: String) -> Bool {
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64, value.count <= 254,
            !value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F || "<>()[],;:\\\"".unicodeScalars.contains($0) })
        else { return false }
        let domain = String(parts[1])
        return domain.contains(".") && isHostPattern(domain) && !domain.hasPrefix("*")
    }

    static func isHostPattern(_ value: String) -> Bool {
        var host = Substring(value.lowercased())
        if host.hasPrefix("*.") { host = host.dropFirst(2) }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard !host.isEmpty, host.count <= 253, labels.count >= 2 || host == "localhost" else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
    }
}
