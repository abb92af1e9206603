import Foundation
import MadoguchiCore

/// The view of one policy version in one language, for the `privacy` and `external` templates.
/// Everything is decided here; the templates only place the strings.
struct PolicyPageModel {
    struct Company { let name, address, representative: String }
    struct PurposeRow {
        let id, text, retention: String
        let requiresConsent: Bool
        /// The purpose analyses behaviour or linked data (R-LAW-2).
        let profiling: Bool
    }
    struct FieldRow {
        let label, purposeNumbers: String
        let required: Bool
    }
    struct ContractorRow {
        let name, task, items: String
        let country: String?
    }
    struct OfficerView { let title, department, email: String }
    struct AdvertisingIDRow { let provider, platform, url: String }
    struct VersionLink {
        let href, label: String
        let current: Bool
    }

    let chrome: PageChrome
    let t: [String: String]

    let oldVersion: Bool
    let intro: String
    let company: Company
    let basicPolicyURL, informativeDataPolicyURL: String
    let services: [String]
    let purposesIntro: String
    let purposes: [PurposeRow]
    let fields: [FieldRow]
    let missingItemsConsequence, thirdPartyProvision, outsourcing, statistics, changes: String
    let departments: [String]
    let hasDepartments: Bool
    let contractors: [ContractorRow]
    let hasContractors: Bool
    let requestsEmail, requestsAnswer: String
    /// That the person is recognised by identifying information, and who answers for its use by others (R-POL-2).
    let requestsIdentity: String?
    let officer: OfficerView
    let informativePurposes: [String]
    let cookieDescription, linkedDataRule: String
    let vendors: [VendorRow]
    let hasVendors: Bool
    let cookieReset: String
    let advertisingIDs: [AdvertisingIDRow]
    let effective: String
    let revisions: [String]
    let versions: [VersionLink]
    let hasVersions: Bool
    /// What changed in each version (`/privacy/versions`).
    let historyHref: String
    let jsonHref: String
    /// What the law asks the page to say (R-LAW-1, R-LAW-2).
    let law: LawSections

    init(
        policy: Policy,
        language: Language,
        strings t: [String: String],
        path: String,
        isCurrent: Bool,
        versions: [PolicyVersion],
        currentVersion: String
    ) {
        let company = policy.company.name[language]
        chrome = PageChrome(
            language: language,
            title: t.format("site_title") + " | " + company,
            strings: t,
            operatorName: company,
            path: path
        )
        self.t = t
        oldVersion = !isCurrent
        let separator = language == .ja ? "、" : ", "
        let serviceNames = policy.services.map { language == .ja ? "「\($0.name.ja)」" : $0.name.en }
        intro = t.format("intro", ["company": company, "services": serviceNames.joined(separator: separator)])
        self.company = Company(
            name: company,
            address: policy.company.address[language],
            representative: policy.company.representative[language]
        )
        basicPolicyURL = policy.company.basicPolicyURL
        informativeDataPolicyURL = policy.company.informativeDataPolicyURL
        services = policy.services.map { $0.name[language] }
        purposesIntro = t.format("purposes_intro")
        purposes = policy.purposes.map {
            PurposeRow(
                id: $0.id,
                text: $0.text[language],
                retention: t.format("retention", ["days": "\($0.retentionDays)"]),
                requiresConsent: $0.requiresConsent,
                profiling: $0.isProfiling
            )
        }
        let numbers = Dictionary(uniqueKeysWithValues: policy.purposes.enumerated().map { ($1.id, $0 + 1) })
        fields = policy.fields.map { field in
            FieldRow(
                label: field.label[language],
                purposeNumbers: field.purposes.compactMap { numbers[$0] }.map { "(\($0))" }.joined(),
                required: field.required
            )
        }
        missingItemsConsequence = policy.missingItemsConsequence[language]
        thirdPartyProvision = policy.thirdPartyProvision[language]
        outsourcing = policy.outsourcing[language]
        statistics = policy.statistics[language]
        changes = policy.changes[language]
        departments = policy.departments.map { $0.name[language] }
        hasDepartments = !departments.isEmpty
        let labels = Dictionary(uniqueKeysWithValues: policy.fields.map { ($0.id, $0.label[language]) })
        contractors = policy.contractors.map {
            ContractorRow(
                name: $0.name[language],
                task: $0.task[language],
                items: $0.entrustedData.compactMap { labels[$0] }.joined(separator: separator),
                country: $0.country?.name[language]
            )
        }
        hasContractors = !contractors.isEmpty
        requestsEmail = policy.requests.email
        requestsAnswer = t.format("requests_answer", ["days": "\(policy.requests.answerBusinessDays)"])
        requestsIdentity = policy.requests.identityVerification?[language]
        officer = OfficerView(
            title: policy.officer.title[language],
            department: policy.officer.department[language],
            email: policy.officer.email
        )
        informativePurposes = policy.informativeData.purposes.map { $0[language] }
        cookieDescription = t.format(
            "cookie_desc",
            [
                "name": policy.informativeData.cookieName,
                "days": "\(policy.informativeData.cookieLifetimeDays)",
            ]
        )
        linkedDataRule = policy.informativeData.linkedDataRule[language]
        vendors = policy.vendors.map { VendorRow($0, language, t) }
        hasVendors = !vendors.isEmpty
        cookieReset = policy.optOut.cookieReset[language]
        advertisingIDs = policy.optOut.advertisingIDs.map {
            AdvertisingIDRow(provider: $0.provider[language], platform: $0.platform[language], url: $0.url)
        }
        let format: (LocalDate) -> String = { language == .ja ? $0.japanese : $0.english }
        effective = t.format("effective", ["date": format(policy.effectiveDate)])
        revisions = policy.revisions.map { t.format("revised", ["date": format($0)]) }
        self.versions = versions.map { version in
            VersionLink(
                href: PageChrome.href(SitePath.version(version.id), language),
                label: t.format("version_label", ["id": version.id, "date": format(version.currentSince)]),
                current: version.id == currentVersion
            )
        }
        hasVersions = !self.versions.isEmpty
        historyHref = PageChrome.href(SitePath.versions, language)
        jsonHref = isCurrent ? SitePath.privacyJSON : SitePath.version(policy.version) + ".json"
        law = LawSections(policy: policy, language: language, strings: t)
    }
}

/// One row of the external-transmission table (R-EXT-1).
struct VendorRow {
    let id, company, service, category, purpose: String
    /// Where the vendor is, and what it uses the data for itself (R-LAW-2; TBA guideline).
    let country, recipientUse: String?
    let items: [String]
    let privacyPolicyURL, optOutURL, cookiePolicyURL: String?

    init(_ vendor: Vendor, _ language: Language, _ t: [String: String]) {
        id = vendor.id
        company = vendor.company[language]
        service = vendor.service[language]
        category = t.format("cat_\(vendor.category.rawValue)")
        purpose = vendor.purpose[language]
        country = vendor.country?.name[language]
        recipientUse = vendor.recipientUse?[language]
        items = vendor.items.map { $0[language] }
        privacyPolicyURL = vendor.privacyPolicyURL
        optOutURL = vendor.optOutURL
        cookiePolicyURL = vendor.cookiePolicyURL
    }
}

/// The view of an error page.
struct ErrorPageModel {
    let chrome: PageChrome
    let t: [String: String]
    let heading, message: String

    init(language: Language, strings t: [String: String], operatorName: String, path: String, heading: String, message: String) {
        chrome = PageChrome(language: language, title: heading, strings: t, operatorName: operatorName, path: path)
        self.t = t
        self.heading = heading
        self.message = message
    }
}

extension String {
    /// Percent-encodes a path segment (version ids are restricted, but a page never trusts that).
    var urlPathEncoded: String {
        addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(.init(charactersIn: "/?#"))) ?? self
    }
}
