import Foundation

// The items of the policy file that the law requires to be published (R-LAW-1, R-LAW-2). Each is optional in the
// model so that versions stored before the key existed still decode and hash as they were; the policy file reader
// requires them (or warns) for every new version.

/// 安全管理措置 — the security control measures APPI Art. 32(1) and Order Art. 10(i) require to be made known, in the
/// categories of the PPC general guideline (10-1 to 10-7).
public struct SecurityMeasures: Hashable, Sendable, Codable {
    public var basicPolicy: LocalizedText
    public var rules: LocalizedText
    public var organisational: LocalizedText
    public var human: LocalizedText
    public var physical: LocalizedText
    public var technical: LocalizedText
    /// 外的環境の把握 — each country where personal data is held, and what its legal system means for it.
    public var foreignEnvironment: [ForeignEnvironment]

    public init(
        basicPolicy: LocalizedText,
        rules: LocalizedText,
        organisational: LocalizedText,
        human: LocalizedText,
        physical: LocalizedText,
        technical: LocalizedText,
        foreignEnvironment: [ForeignEnvironment]
    ) {
        (self.basicPolicy, self.rules, self.organisational, self.human) = (basicPolicy, rules, organisational, human)
        (self.physical, self.technical, self.foreignEnvironment) = (physical, technical, foreignEnvironment)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case basicPolicy = "basic_policy"
        case rules, organisational, human, physical, technical
        case foreignEnvironment = "foreign_environment"
    }

    /// The six categories in the guideline's order, each with its heading.
    public var categories: [(heading: LocalizedText, text: LocalizedText)] {
        [
            (LocalizedText(ja: "基本方針の策定", en: "Basic policy"), basicPolicy),
            (LocalizedText(ja: "個人データの取扱いに係る規律の整備", en: "Rules for handling personal data"), rules),
            (LocalizedText(ja: "組織的安全管理措置", en: "Organisational measures"), organisational),
            (LocalizedText(ja: "人的安全管理措置", en: "Human measures"), human),
            (LocalizedText(ja: "物理的安全管理措置", en: "Physical measures"), physical),
            (LocalizedText(ja: "技術的安全管理措置", en: "Technical measures"), technical),
        ]
    }
}

/// One country where personal data is held, and what the operator learned of its system (guideline 10-7).
public struct ForeignEnvironment: Hashable, Sendable, Codable {
    public var country: Country
    public var text: LocalizedText

    public init(country: Country, text: LocalizedText) {
        (self.country, self.text) = (country, text)
    }
}

/// A country or region by its ISO 3166-1 alpha-2 code (`JP`, `US`, `DE`).
public struct Country: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let code: String

    /// Nil unless `code` is an assigned two-letter region code.
    public init?(_ code: String) {
        let upper = code.uppercased()
        guard upper.unicodeScalars.count == 2, upper.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }),
            Self.assigned.contains(upper)
        else { return nil }
        self.code = upper
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let country = Country(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown country code \(raw)"))
        }
        self = country
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }

    public static let japan = Country(unchecked: "JP")

    private init(unchecked code: String) { self.code = code }

    private static let assigned: Set<String> = Set(
        Locale.Region.isoRegions.map(\.identifier).filter {
            $0.unicodeScalars.count == 2 && $0.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) }
        }
    )

    /// The jurisdictions the PPC recognises as having a system equivalent to Japan's (Rules Art. 15; PPC notice
    /// No. 1 of 2019): the EU and EEA member states and the United Kingdom. Personal data may go there as within Japan.
    public static let recognised: Set<String> = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
        "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB",
    ]

    /// Outside Japan and outside the recognised jurisdictions: APPI Art. 28 applies.
    public var needsTransferBasis: Bool { self != .japan && !Self.recognised.contains(code) }

    /// The country's name in both languages, with its code.
    public var name: LocalizedText {
        LocalizedText(
            ja: Locale(identifier: "ja_JP").localizedString(forRegionCode: code) ?? code,
            en: Locale(identifier: "en_US").localizedString(forRegionCode: code) ?? code
        )
    }

    public var description: String { code }
    public static func < (lhs: Country, rhs: Country) -> Bool { lhs.code < rhs.code }
}

/// How personal data may go to a recipient in a foreign country (APPI Art. 28).
public enum TransferBasis: String, Hashable, Sendable, Codable, CaseIterable {
    /// The person's consent, given with the information of Rules Art. 17 (the country, its system, the recipient's
    /// measures).
    case consent
    /// The recipient keeps a system meeting the PPC's standard (Rules Art. 16), with the continuing measures and the
    /// information on request of Rules Art. 18.
    case equivalentMeasures = "equivalent-measures"

    public var text: LocalizedText {
        switch self {
        case .consent: LocalizedText(ja: "本人の同意(法第28条第1項)", en: "The person's consent (APPI Art. 28(1))")
        case .equivalentMeasures:
            LocalizedText(
                ja: "基準に適合する体制の整備(法第28条第1項・規則第16条)",
                en: "A system meeting the PPC's standard (APPI Art. 28(1), Rules Art. 16)"
            )
        }
    }
}

/// What covers personal data going to a recipient abroad (APPI Art. 28; Rules Art. 17–18).
public struct ForeignTransfer: Hashable, Sendable, Codable {
    public var basis: TransferBasis
    /// 当該外国における個人情報の保護に関する制度 (Rules Art. 17(2)(ii)); required with consent.
    public var countrySystem: LocalizedText?
    /// 当該第三者が講ずる個人情報の保護のための措置 (Rules Art. 17(2)(iii), 18(1)).
    public var recipientMeasures: LocalizedText

    public init(basis: TransferBasis, countrySystem: LocalizedText?, recipientMeasures: LocalizedText) {
        (self.basis, self.countrySystem, self.recipientMeasures) = (basis, countrySystem, recipientMeasures)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case basis
        case countrySystem = "country_system"
        case recipientMeasures = "recipient_measures"
    }
}

/// 苦情の申出先 (Order Art. 10(ii)) — may be the request contact, named as the complaint desk.
public struct ComplaintDesk: Hashable, Sendable, Codable {
    public var desk: LocalizedText
    public var email: String
    public var phone: String?

    public init(desk: LocalizedText, email: String, phone: String? = nil) {
        (self.desk, self.email, self.phone) = (desk, email, phone)
    }
}

/// 認定個人情報保護団体 (Order Art. 10(iii)) — when the operator is a member, its name and complaint desk.
public struct CertifiedOrganisation: Hashable, Sendable, Codable {
    public var name: LocalizedText
    public var contact: LocalizedText

    public init(name: LocalizedText, contact: LocalizedText) {
        (self.name, self.contact) = (name, contact)
    }
}

/// 共同利用 (APPI Art. 27(5)(iii)): the five items to be made known before data is used jointly — that it is (the
/// declaration itself), the items, the users, their purpose, and who is responsible.
public struct JointUse: Hashable, Sendable, Codable {
    public var items: [LocalizedText]
    public var users: LocalizedText
    public var purpose: LocalizedText
    public var responsible: Responsible

    public struct Responsible: Hashable, Sendable, Codable {
        public var name: LocalizedText
        public var address: LocalizedText
        public var representative: LocalizedText

        public init(name: LocalizedText, address: LocalizedText, representative: LocalizedText) {
            (self.name, self.address, self.representative) = (name, address, representative)
        }
    }

    public init(items: [LocalizedText], users: LocalizedText, purpose: LocalizedText, responsible: Responsible) {
        (self.items, self.users, self.purpose, self.responsible) = (items, users, purpose, responsible)
    }
}

/// The sender of advertising mail as SEMA Art. 4 and its Rules (Art. 4, 9) want it named in every message: who
/// sends, their address, where to refuse further mail and where to ask.
public struct MarketingMailSender: Hashable, Sendable, Codable {
    public var sender: LocalizedText
    public var address: LocalizedText
    /// The address that takes refusals (besides the one-click link in each message).
    public var unsubscribe: String
    /// Where to ask or complain about the mail.
    public var contact: String

    public init(sender: LocalizedText, address: LocalizedText, unsubscribe: String, contact: String) {
        (self.sender, self.address, self.unsubscribe, self.contact) = (sender, address, unsubscribe, contact)
    }
}

/// How a person may hand in a request (APPI Art. 37(1), Order Art. 12).
public enum RequestSubmission: String, Hashable, Sendable, Codable, CaseIterable {
    /// The site's request form (`/requests/new`).
    case form
    /// The person's own page (`/me`), after proving their address.
    case me
    case email
    case post
    case phone
    case counter

    public var text: LocalizedText {
        switch self {
        case .form: LocalizedText(ja: "このサイトの請求フォーム", en: "The request form on this site")
        case .me: LocalizedText(ja: "ご本人のページ(メールアドレスの確認後)", en: "Your own page (after confirming your e-mail address)")
        // The ways staff enter a request by (`RequestChannel`) are named as they are on the console.
        case .email: RequestChannel.email.text
        case .post: RequestChannel.post.text
        case .phone: RequestChannel.phone.text
        case .counter: RequestChannel.counter.text
        }
    }
}
