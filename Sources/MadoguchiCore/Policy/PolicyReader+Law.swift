import Yams

/// The items of a policy file the law asks for (R-LAW-1, R-LAW-2). Each diagnostic names its article; an item the
/// law requires is an error, one that depends on the operator's situation a warning.
extension PolicyReader {
    /// Keys the product refuses with a reason, instead of "unknown key".
    static let refusedKeys: [String: LocalizedText] = [
        "opt_out_provision": LocalizedText(
            ja:
                "'opt_out_provision'(オプトアウトによる第三者提供)は扱えません。個人情報保護委員会への届出(法第27条第2項)が要り、Madoguchi はその届出も停止の求めの管理も行いません。第三者への提供は、同意か法令上の根拠(vendors[].personal_data.basis)によってください",
            en:
                "'opt_out_provision' (provision to third parties by opt-out) is not supported: it needs a filing with the PPC (APPI Art. 27(2)) that Madoguchi neither makes nor tracks; provide data to third parties by consent or a legal ground (vendors[].personal_data.basis)"
        )
    ]

    static let countryHint = LocalizedText(
        ja: "データを取り扱う国。ISO 3166 の 2 文字(日本は JP)。法第28条",
        en: "where the data is handled, as an ISO 3166 two-letter code (JP for Japan); APPI Art. 28"
    )

    /// Words that leave a list of transmitted items open (TBA guideline on external transmission).
    static let vagueWords = ["など", "その他", "等"]

    mutating func readCountry(_ node: Node?, _ path: String) -> Country? {
        guard let raw = string(node, path) else { return nil }
        guard let country = Country(raw) else {
            report(
                node?.mark,
                ja: "\(path): '\(raw)' は国・地域のコードではありません。ISO 3166 の 2 文字で書いてください(日本は JP、米国は US)",
                en: "\(path): '\(raw)' is not a country code; write the ISO 3166 two-letter code (JP for Japan, US for the United States)"
            )
            return nil
        }
        return country
    }

    /// `foreign_transfer` of a contractor or vendor. Absent is `.some(nil)`; a problem is nil. Where the country needs
    /// a basis (outside Japan and the recognised jurisdictions) it is an error to leave it out when the recipient
    /// receives personal data (`needed`), and a warning otherwise (informative data a recipient may link: Art. 31).
    mutating func readForeignTransfer(_ map: Node.Mapping, _ path: String, country: Country?, needed: Bool) -> ForeignTransfer?? {
        let key = "foreign_transfer"
        guard let node = map[key] else {
            if let country, country.needsTransferBasis {
                let name = country.name
                if needed {
                    report(
                        map.mark,
                        ja:
                            "\(path): \(name.ja)(\(country))の受領者に個人データを渡すには、'foreign_transfer' に根拠(basis: consent か equivalent-measures)と受領者の措置(recipient_measures)を書いてください(法第28条、規則第17条・第18条)",
                        en:
                            "\(path): personal data going to a recipient in \(name.en) (\(country)) needs 'foreign_transfer' with its basis (consent or equivalent-measures) and the recipient's measures (recipient_measures) (APPI Art. 28; Rules Art. 17, 18)"
                    )
                    return nil
                }
                warn(
                    map.mark,
                    ja: "\(path): 送信先は\(name.ja)(\(country))にあります。送信先が受け取る情報を個人データと結び付けるなら、'foreign_transfer' に外国の制度と受領者の措置を書いてください(法第31条第1項第2号)",
                    en:
                        "\(path): the recipient is in \(name.en) (\(country)); if it links what it receives to personal data, describe the country's system and its measures under 'foreign_transfer' (APPI Art. 31(1)(ii))"
                )
            }
            return .some(nil)
        }
        let transferPath = "\(path).\(key)"
        guard let transfer = mapping(node, transferPath, allowed: ForeignTransfer.CodingKeys.self) else { return nil }
        typealias K = ForeignTransfer.CodingKeys
        let basis = enumeration(require(transfer, K.basis, transferPath), "\(transferPath).basis", TransferBasis.self)
        let measures = localized(
            require(
                transfer,
                K.recipientMeasures,
                transferPath,
                hint: LocalizedText(ja: "規則第17条第2項第3号・第18条第1項", en: "Rules Art. 17(2)(iii), 18(1)")
            ),
            "\(transferPath).recipient_measures"
        )
        let system = transfer[K.countrySystem.rawValue].flatMap { localized($0, "\(transferPath).country_system") }
        if basis == .consent, transfer[K.countrySystem.rawValue] == nil {
            report(
                transfer.mark ?? node.mark,
                ja: "\(transferPath): 同意を根拠にするときは、同意の前に示す外国の個人情報保護制度を 'country_system' に書いてください(規則第17条第2項第2号)",
                en:
                    "\(transferPath): consent needs 'country_system', the country's system of protection shown before consent is asked (Rules Art. 17(2)(ii))"
            )
            return nil
        }
        guard let basis, let measures else { return nil }
        return .some(ForeignTransfer(basis: basis, countrySystem: system, recipientMeasures: measures))
    }

    /// `requests.fee`: `free`, or a whole number of yen.
    mutating func readFee(_ node: Node?) -> Int? {
        guard let node, let raw = string(node, "requests.fee") else { return nil }
        if raw == "free" { return 0 }
        guard let yen = Int(raw), (0...1_000_000).contains(yen) else {
            report(
                node.mark,
                ja: "requests.fee: '\(raw)' は手数料ではありません。無料なら free、有料なら 1〜1000000 の円の金額を書いてください",
                en: "requests.fee: '\(raw)' is not a fee; write free, or an amount in yen from 1 to 1000000"
            )
            return nil
        }
        return yen
    }

    mutating func readSecurityMeasures(_ node: Node?) -> SecurityMeasures? {
        let path = "security_measures"
        guard let map = mapping(node, path, allowed: SecurityMeasures.CodingKeys.self) else { return nil }
        typealias K = SecurityMeasures.CodingKeys
        let hint = LocalizedText(ja: "ガイドライン(通則編)10", en: "PPC general guideline 10")
        func text(_ key: K) -> LocalizedText? {
            localized(require(map, key, path, hint: hint), "\(path).\(key.rawValue)")
        }
        let basic = text(.basicPolicy)
        let rules = text(.rules)
        let organisational = text(.organisational)
        let human = text(.human)
        let physical = text(.physical)
        let technical = text(.technical)
        var seen: Set<Country> = []
        var environment: [ForeignEnvironment] = []
        for (item, itemPath) in list(map[K.foreignEnvironment.rawValue], "\(path).foreign_environment", allowEmpty: true) {
            guard let entry = mapping(item, itemPath, allowed: ["country", "text"]) else { continue }
            let country = readCountry(require(entry, "country", itemPath), "\(itemPath).country")
            let description = localized(require(entry, "text", itemPath), "\(itemPath).text")
            guard let country, let description else { continue }
            if country == .japan {
                report(
                    entry["country"]?.mark,
                    ja: "\(itemPath).country: 外的環境の把握に挙げるのは日本以外の国です",
                    en: "\(itemPath).country: the foreign environment lists countries other than Japan"
                )
            } else if !seen.insert(country).inserted {
                report(
                    entry["country"]?.mark,
                    ja: "\(itemPath).country: \(country) が二度書かれています",
                    en: "\(itemPath).country: \(country) is listed twice"
                )
            } else {
                environment.append(ForeignEnvironment(country: country, text: description))
            }
        }
        guard let basic, let rules, let organisational, let human, let physical, let technical else { return nil }
        return SecurityMeasures(
            basicPolicy: basic,
            rules: rules,
            organisational: organisational,
            human: human,
            physical: physical,
            technical: technical,
            foreignEnvironment: environment
        )
    }

    mutating func readComplaints(_ node: Node?) -> ComplaintDesk? {
        let path = "complaints"
        guard let map = mapping(node, path, allowed: ["desk", "email", "phone"]) else { return nil }
        let desk = localized(require(map, "desk", path), "\(path).desk")
        let email = emailAddress(require(map, "email", path), "\(path).email")
        var phone: String?
        if let node = map["phone"] {
            phone = string(node, "\(path).phone")
            if let number = phone, !Self.isPhoneNumber(number) {
                report(
                    node.mark,
                    ja: "\(path).phone: '\(number)' は電話番号ではありません。数字と「-」「+」「(」「)」で書いてください",
                    en: "\(path).phone: '\(number)' is not a phone number; use digits, '-', '+', '(' and ')'"
                )
                return nil
            }
        }
        guard let desk, let email else { return nil }
        return ComplaintDesk(desk: desk, email: email, phone: phone)
    }

    mutating func readCertifiedOrganisation(_ node: Node) -> CertifiedOrganisation? {
        let path = "certified_organisation"
        guard let map = mapping(node, path, allowed: ["name", "contact"]) else { return nil }
        let name = properName(require(map, "name", path), "\(path).name")
        let contact = localized(
            require(
                map,
                "contact",
                path,
                hint: LocalizedText(ja: "団体の苦情の申出先。施行令第10条第3号", en: "the organisation's complaint desk; Order Art. 10(iii)")
            ),
            "\(path).contact"
        )
        guard let name, let contact else { return nil }
        return CertifiedOrganisation(name: name, contact: contact)
    }

    mutating func readJointUse(_ node: Node) -> JointUse? {
        let path = "joint_use"
        guard let map = mapping(node, path, allowed: ["items", "users", "purpose", "responsible"]) else { return nil }
        let hint = LocalizedText(ja: "共同利用では五つの事項を示します。法第27条第5項第3号", en: "joint use makes five items known; APPI Art. 27(5)(iii)")
        let items = list(require(map, "items", path, hint: hint), "\(path).items").compactMap { localized($0, $1) }
        let users = localized(require(map, "users", path, hint: hint), "\(path).users")
        let purpose = localized(require(map, "purpose", path, hint: hint), "\(path).purpose")
        let responsiblePath = "\(path).responsible"
        var responsible: JointUse.Responsible?
        if let entry = mapping(require(map, "responsible", path, hint: hint), responsiblePath, allowed: ["name", "address", "representative"]) {
            let name = properName(require(entry, "name", responsiblePath), "\(responsiblePath).name")
            let address = localized(require(entry, "address", responsiblePath), "\(responsiblePath).address")
            let representative = properName(require(entry, "representative", responsiblePath), "\(responsiblePath).representative")
            if let name, let address, let representative {
                responsible = JointUse.Responsible(name: name, address: address, representative: representative)
            }
        }
        guard !items.isEmpty, let users, let purpose, let responsible else { return nil }
        return JointUse(items: items, users: users, purpose: purpose, responsible: responsible)
    }

    mutating func readMarketingMail(_ node: Node) -> MarketingMailSender? {
        let path = "marketing_mail"
        guard let map = mapping(node, path, allowed: ["sender", "address", "unsubscribe", "contact"]) else { return nil }
        let hint = LocalizedText(ja: "特定電子メール法第4条", en: "SEMA Art. 4")
        let sender = properName(require(map, "sender", path, hint: hint), "\(path).sender")
        let address = localized(require(map, "address", path, hint: hint), "\(path).address")
        let unsubscribe = emailAddress(require(map, "unsubscribe", path, hint: hint), "\(path).unsubscribe")
        let contact = emailAddress(require(map, "contact", path, hint: hint), "\(path).contact")
        guard let sender, let address, let unsubscribe, let contact else { return nil }
        return MarketingMailSender(sender: sender, address: address, unsubscribe: unsubscribe, contact: contact)
    }

    /// The checks that span sections, once everything is read.
    mutating func checkLaw(purposes: [Purpose], purposesNode: Node?, security: SecurityMeasures?) {
        if let vendor = linkingVendors.first, !purposes.contains(where: \.isProfiling) {
            let path = vendor.path
            report(
                purposesNode?.mark ?? vendor.mark,
                ja: "purposes: \(path) は受け取った情報をご本人の個人データと結び付けます。その分析を述べる利用目的に 'profiling: true' を付けてください(法第17条第1項・第21条、ガイドライン(通則編)3-1-1)",
                en:
                    "purposes: \(path) links what it receives with a person's data; mark the purpose that says so with 'profiling: true' (APPI Art. 17(1), 21; PPC general guideline 3-1-1)"
            )
        }
        guard let security else { return }
        let described = Set(security.foreignEnvironment.map(\.country))
        var reported: Set<Country> = []
        for (mark, path, country) in heldAbroad where country != .japan && !described.contains(country) {
            guard reported.insert(country).inserted else { continue }
            report(
                mark,
                ja:
                    "\(path): 個人データを\(country.name.ja)(\(country))で取り扱います。security_measures.foreign_environment にその国の制度を把握したうえでの措置を書いてください(ガイドライン(通則編)10-7)",
                en:
                    "\(path): personal data is handled in \(country.name.en) (\(country)); describe under security_measures.foreign_environment what you learned of its system and the measures taken (PPC general guideline 10-7)"
            )
        }
    }

    static func isPhoneNumber(_ value: String) -> Bool {
        value.count <= 30 && value.contains(where: \.isNumber)
            && value.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || "-+() ".unicodeScalars.contains($0) }
    }
}
