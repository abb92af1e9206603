/// The operator's privacy policy as declared in the policy file: the single source of what the published
/// page says and of what the code enforces. A purpose, field or vendor that is not declared here does not exist.
public struct Policy: Hashable, Sendable, Codable {
    /// The operator's id for this version of the policy; a stored version never changes its content.
    public var version: String
    /// The day the policy first took effect (付則 — 施行日).
    public var effectiveDate: LocalDate
    /// Every revision date after the first effective date, oldest first.
    public var revisions: [LocalDate]
    public var company: Operator
    public var services: [Service]
    public var purposes: [Purpose]
    public var fields: [Field]
    /// What happens when a person leaves required items out (個人情報を提供しなかった場合に生じる結果).
    public var missingItemsConsequence: LocalizedText
    public var departments: [Department]
    /// The statement on disclosure to third parties and forwarding inside the company.
    public var thirdPartyProvision: LocalizedText
    /// How contractors are chosen and supervised.
    public var outsourcing: LocalizedText
    public var contractors: [Contractor]
    public var statistics: LocalizedText
    /// How statistics are published (R-STA-1); nil takes the defaults.
    public var statisticsRules: StatisticsRules? = nil
    /// How the policy is changed; changing a purpose always needs the person's consent (R-VER-2).
    public var changes: LocalizedText
    public var officer: Officer
    public var requests: RequestContact
    public var informativeData: InformativeData
    public var vendors: [Vendor]
    public var optOut: OptOutGuidance
    /// 安全管理措置 (R-LAW-1); nil only in versions stored before the key existed.
    public var securityMeasures: SecurityMeasures? = nil
    /// 苦情の申出先 (R-LAW-1); nil only in versions stored before the key existed.
    public var complaints: ComplaintDesk? = nil
    public var certifiedOrganisation: CertifiedOrganisation? = nil
    /// 共同利用, when data is used jointly with others (APPI Art. 27(5)(iii)).
    public var jointUse: JointUse? = nil
    /// The sender named in advertising mail (SEMA Art. 4); required when a purpose needs consent.
    public var marketingMail: MarketingMailSender? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version
        case effectiveDate = "effective_date"
        case revisions
        case company = "operator"
        case services, purposes, fields
        case missingItemsConsequence = "missing_items_consequence"
        case departments
        case thirdPartyProvision = "third_party_provision"
        case outsourcing, contractors, statistics
        case statisticsRules = "statistics_rules"
        case changes, officer, requests
        case informativeData = "informative_data"
        case vendors
        case optOut = "opt_out"
        case securityMeasures = "security_measures"
        case complaints
        case certifiedOrganisation = "certified_organisation"
        case jointUse = "joint_use"
        case marketingMail = "marketing_mail"
    }

    /// The date the current text took effect: the last revision, or the first effective date.
    public var currentSince: LocalDate { revisions.last ?? effectiveDate }

    /// The smallest count statistics show (k); smaller counts are hidden (R-STA-1).
    public var statisticsMinimumCount: Int { statisticsRules?.minimumCount ?? StatisticsRules.defaultMinimumCount }
    /// The choice field whose answer statistics count inquiries by: the declared one, or the first choice field.
    public var statisticsCategoryField: Field? {
        if let id = statisticsRules?.categoryField { return field(id: id) }
        return fields.first { $0.type == .choice }
    }
    /// The operator's notice that goes with every export of statistics.
    public var statisticsNotice: LocalizedText {
        statisticsRules?.notice
            ?? LocalizedText(
                ja: "この統計データは\(company.name.ja)が作成したもので、その著作権は\(company.name.ja)に帰属します。個人を識別できる情報は含みません。",
                en: "These statistics were compiled by \(company.name.en), who owns their copyright. They contain nothing that identifies a person."
            )
    }

    public func service(id: String) -> Service? { services.first { $0.id == id } }
    public func purpose(id: String) -> Purpose? { purposes.first { $0.id == id } }
    public func field(id: String) -> Field? { fields.first { $0.id == id } }
}

/// How statistics are published: the smallest count shown, the field inquiries are counted by, and the notice of
/// ownership that goes with an export (R-STA-1).
public struct StatisticsRules: Hashable, Sendable, Codable {
    public static let defaultMinimumCount = 5
    public var minimumCount: Int
    public var categoryField: String?
    public var notice: LocalizedText?

    public init(minimumCount: Int = defaultMinimumCount, categoryField: String? = nil, notice: LocalizedText? = nil) {
        (self.minimumCount, self.categoryField, self.notice) = (minimumCount, categoryField, notice)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case minimumCount = "minimum_count"
        case categoryField = "category_field"
        case notice
    }
}

/// 事業者 — the company that runs the services and answers for the data.
public struct Operator: Hashable, Sendable, Codable {
    public var name: LocalizedText
    public var address: LocalizedText
    public var representative: LocalizedText
    /// 個人情報保護方針 — the company-wide basic policy this page is based on (R-POL-1).
    public var basicPolicyURL: String
    /// インフォマティブデータの取扱方針 (R-POL-1).
    public var informativeDataPolicyURL: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, address, representative
        case basicPolicyURL = "basic_policy_url"
        case informativeDataPolicyURL = "informative_data_policy_url"
    }
}

/// A brand the operator runs; each has its own inquiry form (R-SVC-1).
public struct Service: Hashable, Sendable, Codable {
    public var id: String
    public var name: LocalizedText
}

/// 利用目的 — a purpose of use with a stable id and how long data kept for it may be retained.
public struct Purpose: Hashable, Sendable, Codable {
    public var id: String
    public var text: LocalizedText
    public var retentionDays: Int
    /// True for purposes a person must opt in to separately (mail magazines, DM, surveys).
    public var requiresConsent: Bool
    /// True when the purpose analyses a person's behaviour or linked data (APPI Art. 17(1), guideline 3-1-1). Stored
    /// only when true, so versions written before the key existed hash as they were.
    public var profiling: Bool? = nil

    public init(id: String, text: LocalizedText, retentionDays: Int, requiresConsent: Bool, profiling: Bool = false) {
        (self.id, self.text, self.retentionDays, self.requiresConsent) = (id, text, retentionDays, requiresConsent)
        self.profiling = profiling ? true : nil
    }

    public var isProfiling: Bool { profiling == true }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, text
        case retentionDays = "retention_days"
        case requiresConsent = "requires_consent"
        case profiling
    }
}

/// The kinds of input an inquiry form field can be.
public enum FieldType: String, Hashable, Sendable, Codable, CaseIterable {
    case name, email, phone, text, textarea, choice
}

/// One item a form collects, with the purposes it serves (R-PUR-1).
public struct Field: Hashable, Sendable, Codable {
    public var id: String
    public var label: LocalizedText
    public var type: FieldType
    public var required: Bool
    public var purposes: [String]
    public var maxLength: Int
    public var choices: [Choice]
    /// The services whose forms ask for this field; empty means every service.
    public var services: [String]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, label, type, required, purposes
        case maxLength = "max_length"
        case choices, services
    }
}

/// One option of a `choice` field.
public struct Choice: Hashable, Sendable, Codable {
    public var id: String
    public var label: LocalizedText
}

/// 担当部署 — a department an inquiry can be forwarded to for an answer (R-TPP-1).
public struct Department: Hashable, Sendable, Codable {
    public var id: String
    public var name: LocalizedText
}

/// 委託先 — a contractor entrusted with personal data under a confidentiality agreement (R-OUT-1).
public struct Contractor: Hashable, Sendable, Codable {
    public var id: String
    public var name: LocalizedText
    /// The work entrusted to the contractor.
    public var task: LocalizedText
    /// Ids of the fields the contractor handles.
    public var entrustedData: [String]
    public var ndaSigned: LocalDate
    public var ndaExpires: LocalDate
    public var lastReview: LocalDate
    /// The services whose inquiries are entrusted to it; nil means every service (R-OUT-2).
    public var services: [String]? = nil
    /// Where the contractor handles the data (R-LAW-2); nil only in versions stored before the key existed.
    public var country: Country? = nil
    /// What covers the entrustment when the country needs it (APPI Art. 28).
    public var foreignTransfer: ForeignTransfer? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, task, services, country
        case foreignTransfer = "foreign_transfer"
        case entrustedData = "entrusted_data"
        case ndaSigned = "nda_signed"
        case ndaExpires = "nda_expires"
        case lastReview = "last_review"
    }
}

/// 個人情報保護管理者 — the privacy officer named on the page and in every request e-mail (R-CON-1).
public struct Officer: Hashable, Sendable, Codable {
    public var title: LocalizedText
    public var department: LocalizedText
    public var email: String
}

/// 開示等の請求 — where requests go and how many business days the first answer may take (R-DSR-3).
public struct RequestContact: Hashable, Sendable, Codable {
    public var email: String
    public var answerBusinessDays: Int
    /// Days the operator is closed besides weekends, national holidays and 12/29–1/3 (R-DSR-3).
    public var closedDays: [LocalDate] = []
    /// How the person is recognised for a request, and that the operator is not responsible where someone else uses
    /// the identifying information a person gave (R-POL-2). Required in the policy file; absent from versions stored
    /// before the key existed.
    public var identityVerification: LocalizedText? = nil
    /// The fee in yen for a disclosure (APPI Art. 38); 0 is free. Nil only in versions stored before the key existed.
    public var fee: Int? = nil
    /// How a fee is paid; required when there is one.
    public var feePayment: LocalizedText? = nil
    /// The ways a request may be handed in (APPI Art. 37(1), Order Art. 12).
    public var submission: [RequestSubmission]? = nil
    /// Who may request on a person's behalf (法定代理人・任意代理人) and how they are verified (Order Art. 11, 13).
    public var agents: LocalizedText? = nil
    /// How answers are delivered, including on paper when the person asks (APPI Art. 33(1)-(2)).
    public var delivery: LocalizedText? = nil

    /// The calendar the answer days are counted on.
    public var calendar: BusinessCalendar { BusinessCalendar(closedDays: closedDays) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case email
        case answerBusinessDays = "answer_business_days"
        case closedDays = "closed_days"
        case identityVerification = "identity_verification"
        case fee
        case feePayment = "fee_payment"
        case submission, agents, delivery
    }
}

/// Whether vendor tags load unless refused (the Japanese notice model) or only after consent.
public enum ConsentMode: String, Hashable, Sendable, Codable, CaseIterable {
    case notice
    case optIn = "opt-in"
}

/// インフォマティブデータ — the site's own cookie identifier and what it is used for (R-INF-1, R-INF-2).
public struct InformativeData: Hashable, Sendable, Codable {
    public var cookieName: String
    public var cookieLifetimeDays: Int
    public var purposes: [LocalizedText]
    /// The rule that data linked to a registered person is handled as personal data.
    public var linkedDataRule: LocalizedText
    public var consentMode: ConsentMode

    enum CodingKeys: String, CodingKey, CaseIterable {
        case cookieName = "cookie_name"
        case cookieLifetimeDays = "cookie_lifetime_days"
        case purposes
        case linkedDataRule = "linked_data_rule"
        case consentMode = "consent_mode"
    }
}

/// What a vendor's tag is for; decides how consent, GPC and Consent Mode treat it.
public enum VendorCategory: String, Hashable, Sendable, Codable, CaseIterable {
    case analytics
    case advertising
    case marketingAutomation = "marketing-automation"
    case marketingResearch = "marketing-research"
    case functional
}

/// 外部送信先 — a company whose tag receives data from the site (TBA Art. 27-12, R-EXT-1).
public struct Vendor: Hashable, Sendable, Codable {
    public var id: String
    public var company: LocalizedText
    public var service: LocalizedText
    public var category: VendorCategory
    /// The information items sent to the vendor.
    public var items: [LocalizedText]
    public var purpose: LocalizedText
    public var privacyPolicyURL: String?
    public var optOutURL: String?
    public var cookiePolicyURL: String?
    /// The hosts the vendor's tag contacts; anything else a page contacts is undeclared (R-EXT-2).
    public var hosts: [String]
    /// Set when the vendor receives personal data linked with inquiry data: what covers that (R-TPP-2).
    public var personalData: VendorPersonalData? = nil
    /// Where the vendor receives the data (R-LAW-2); nil only in versions stored before the key existed.
    public var country: Country? = nil
    /// What covers personal data going to it when the country needs it (APPI Art. 28).
    public var foreignTransfer: ForeignTransfer? = nil
    /// What the recipient itself uses the data for, apart from the site's purpose (TBA guideline).
    public var recipientUse: LocalizedText? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, company, service, category, items, purpose
        case privacyPolicyURL = "privacy_policy_url"
        case optOutURL = "opt_out_url"
        case cookiePolicyURL = "cookie_policy_url"
        case hosts
        case personalData = "personal_data"
        case country
        case foreignTransfer = "foreign_transfer"
        case recipientUse = "recipient_use"
    }
}

/// What covers a vendor's receiving personal data linked with inquiry data: entrustment to one of the policy's
/// contractors (`contractor`), or a basis of provision to a third party (`basis`: `consent`, or a ground of APPI
/// Art. 27(1) — `LegalGround`). Exactly one.
public struct VendorPersonalData: Hashable, Sendable, Codable {
    public var contractor: String?
    public var basis: String?

    public init(contractor: String? = nil, basis: String? = nil) {
        (self.contractor, self.basis) = (contractor, basis)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case contractor, basis
    }
}

/// オプトアウト — cookie reset and smartphone advertising-ID guidance (R-OPT-2, R-OPT-3).
public struct OptOutGuidance: Hashable, Sendable, Codable {
    public var cookieReset: LocalizedText
    public var advertisingIDs: [AdvertisingIDReset]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case cookieReset = "cookie_reset"
        case advertisingIDs = "advertising_ids"
    }
}

/// Where a platform's provider explains how to reset or limit its advertising identifier.
public struct AdvertisingIDReset: Hashable, Sendable, Codable {
    public var provider: LocalizedText
    public var platform: LocalizedText
    public var url: String
}

extension RequestContact {
    /// `closed_days` is written only when there are some, so a policy without them encodes — and hashes, as a stored
    /// version — exactly as before the key existed (an upgrade never makes a published version look changed).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(email, forKey: .email)
        try container.encode(answerBusinessDays, forKey: .answerBusinessDays)
        if !closedDays.isEmpty { try container.encode(closedDays, forKey: .closedDays) }
        try container.encodeIfPresent(identityVerification, forKey: .identityVerification)
        try container.encodeIfPresent(fee, forKey: .fee)
        try container.encodeIfPresent(feePayment, forKey: .feePayment)
        try container.encodeIfPresent(submission, forKey: .submission)
        try container.encodeIfPresent(agents, forKey: .agents)
        try container.encodeIfPresent(delivery, forKey: .delivery)
    }

    /// Versions stored before `closed_days` existed decode with none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        email = try container.decode(String.self, forKey: .email)
        answerBusinessDays = try container.decode(Int.self, forKey: .answerBusinessDays)
        closedDays = try container.decodeIfPresent([LocalDate].self, forKey: .closedDays) ?? []
        identityVerification = try container.decodeIfPresent(LocalizedText.self, forKey: .identityVerification)
        fee = try container.decodeIfPresent(Int.self, forKey: .fee)
        feePayment = try container.decodeIfPresent(LocalizedText.self, forKey: .feePayment)
        submission = try container.decodeIfPresent([RequestSubmission].self, forKey: .submission)
        agents = try container.decodeIfPresent(LocalizedText.self, forKey: .agents)
        delivery = try container.decodeIfPresent(LocalizedText.self, forKey: .delivery)
    }
}
