import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Published policy")
struct PolicyPageTests {
    static let sectionKeys = [
        "h_operator", "h_basis", "h_services", "h_purposes", "h_missing", "h_third", "h_outsourcing",
        "h_statistics", "h_changes", "h_self", "h_requests", "h_officer", "h_informative",
        "h_external", "h_optout", "h_dates", "h_versions",
    ]

    @Test(
        "every section of the policy is published, in Japanese and English (R-SVC-1, R-POL-1, R-PUR-1, R-CON-1, R-OPT-3, R-VER-1)",
        arguments: Language.allCases
    )
    func everySection(_ language: Language) async throws {
        let policy: Policy = try PolicyLoader.load(path: Fixtures.examplePolicyPath)
        let t = try await strings(language)
        try await withServer { _, client in
            let response = try await client.execute(uri: language == .ja ? "/privacy" : "/privacy?lang=en", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(response.headers[.contentLanguage] == language.rawValue)
            let html = response.text
            #expect(html.contains("<html lang=\"\(language.rawValue)\">"))
            #expect(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
            for key in Self.sectionKeys {
                let present = html.contains(">\(t[key]!.htmlEscaped)</h2>")
                #expect(present, "section \(key) missing")
            }
            func has(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
                let present = html.contains(text.htmlEscaped)
                #expect(present, "\(what): \(text)", sourceLocation: sourceLocation)
            }
            func hasMarkup(_ markup: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
                let present = html.contains(markup)
                #expect(present, "\(what): \(markup)", sourceLocation: sourceLocation)
            }
            // R-SVC-1: every service named; R-POL-1: both policy links.
            for service in policy.services { has(service.name[language], "service") }
            hasMarkup("href=\"\(policy.company.basicPolicyURL)\"", "basic policy link")
            hasMarkup("href=\"\(policy.company.informativeDataPolicyURL)\"", "informative data policy link")
            has(policy.company.name[language], "operator")
            // R-PUR-1: purposes with retention (R-RET-1); items with their purposes and required marks (R-REQ-1);
            // the consent-only marketing purpose (R-PUR-5).
            for purpose in policy.purposes {
                has(purpose.text[language], "purpose")
                has(t["retention"]!.replacingOccurrences(of: "{days}", with: "\(purpose.retentionDays)"), "retention")
            }
            for field in policy.fields { has(field.label[language], "field") }
            #expect(html.contains("<td data-label=\"\(t["col_item_purposes"]!.htmlEscaped)\">(1)(2)(3)</td>"))
            has(policy.missingItemsConsequence[language], "missing items")
            has(policy.thirdPartyProvision[language], "third party")  // R-TPP-1: departments we forward to
            #expect(html.contains("(\(t["consent_only"]!.htmlEscaped))"), "R-PUR-5")
            for department in policy.departments { has(department.name[language], "department") }
            has(policy.outsourcing[language], "outsourcing")
            for contractor in policy.contractors { has(contractor.name[language], "contractor") }
            has(policy.statistics[language], "statistics")
            has(policy.changes[language], "changes")
            // R-CON-1: officer and contact; R-DSR-3: answer time in business days.
            has(policy.officer.title[language], "officer title")
            has(policy.officer.department[language], "officer department")
            hasMarkup("mailto:\(policy.officer.email)", "officer e-mail")
            hasMarkup("mailto:\(policy.requests.email)", "request contact")
            has(t["requests_answer"]!.replacingOccurrences(of: "{days}", with: "3"), "answer time")
            // Informative data (R-INF-1, R-INF-2 declarations).
            has(policy.informativeData.cookieName, "cookie name")
            for purpose in policy.informativeData.purposes { has(purpose[language], "informative purpose") }
            has(policy.informativeData.linkedDataRule[language], "linked data rule")
            // R-OPT-3: opt-out guidance with every advertising-ID link.
            has(policy.optOut.cookieReset[language], "cookie reset")  // R-OPT-2 guidance
            for reset in policy.optOut.advertisingIDs {
                hasMarkup("href=\"\(reset.url)\"", "advertising ID link")
                has(reset.platform[language], "platform")
            }
            // R-POL-2: continual review, how a requester is recognised and who answers for others' use of it, statistics.
            has(try #require(policy.requests.identityVerification)[language], "identity verification")
            // R-VER-1: effective date and every revision date.
            let format: (LocalDate) -> String = { language == .ja ? $0.japanese : $0.english }
            has(t["effective"]!.replacingOccurrences(of: "{date}", with: format(policy.effectiveDate)), "effective date")
            for revision in policy.revisions {
                has(t["revised"]!.replacingOccurrences(of: "{date}", with: format(revision)), "revision date")
            }
            hasMarkup("href=\"/privacy/versions/2026-12-06\(language == .en ? "?lang=en" : "")\"", "version link")
        }
    }

    @Test(
        "R-EXT-1: every vendor, every item and every link, on the policy and on its own page, in both languages",
        arguments: Language.allCases
    )
    func vendorTable(_ language: Language) async throws {
        let policy: Policy = try PolicyLoader.load(path: Fixtures.examplePolicyPath)
        let t = try await strings(language)
        let suffix = language == .ja ? "" : "?lang=en"
        try await withServer { _, client in
            for uri in ["/privacy\(suffix)", "/privacy/external-transmission\(suffix)"] {
                let html = try await client.execute(uri: uri, method: .get).text
                var absent = 0
                for vendor in policy.vendors {
                    #expect(html.contains("<tr id=\"vendor-\(vendor.id)\">"), "\(uri): row for \(vendor.id)")
                    #expect(html.contains(vendor.company[language].htmlEscaped), "\(uri): \(vendor.id) company")
                    #expect(html.contains(vendor.purpose[language].htmlEscaped), "\(uri): \(vendor.id) purpose")
                    #expect(html.contains(t["cat_\(vendor.category.rawValue)"]!.htmlEscaped), "\(uri): \(vendor.id) category")
                    for item in vendor.items {
                        #expect(html.contains("<li>\(item[language].htmlEscaped)</li>"), "\(uri): \(vendor.id) item \(item.en)")
                    }
                    for link in [vendor.privacyPolicyURL, vendor.optOutURL, vendor.cookiePolicyURL] {
                        if let link {
                            #expect(html.contains("href=\"\(link.htmlEscaped)\""), "\(uri): \(vendor.id) link \(link)")
                        } else {
                            absent += 1
                        }
                    }
                }
                // An absent link is stated, not hidden; present opt-out links are there (R-OPT-1 links).
                #expect(absent > 0)
                #expect(html.occurrences(of: ">\(t["link_none"]!)</td>") == absent, "\(uri)")
                #expect(html.contains("<th scope=\"col\">\(t["col_optout"]!.htmlEscaped)</th>"))
                #expect(html.contains("<th scope=\"row\""))
            }
        }
    }

    @Test(
        "/privacy.json is the policy file's content as data (R-EXT-1), minus contractor supervision dates",
        arguments: TestDatabase.available
    )
    func json(_ kind: TestDatabase) async throws {
        let policy: Policy = try PolicyLoader.load(path: Fixtures.examplePolicyPath)
        try await withServer(kind) { _, client in
            let response = try await client.execute(uri: "/privacy.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let published = try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any])
            var expected = try #require(try JSONSerialization.jsonObject(with: PolicyVersionStore.canonicalJSON(policy)) as? [String: Any])
            expected["contractors"] = (expected["contractors"] as? [[String: Any]])?.map {
                $0.filter { !Policy.internalContractorKeys.contains($0.key) }
            }
            #expect(NSDictionary(dictionary: published).isEqual(to: expected))
            // Keys are those of the policy file.
            #expect(
                Set(published.keys) == [
                    "version", "effective_date", "revisions", "operator", "services", "purposes", "fields",
                    "missing_items_consequence", "departments", "third_party_provision", "outsourcing",
                    "contractors", "statistics", "changes", "officer", "requests", "informative_data",
                    "vendors", "opt_out", "security_measures", "complaints", "certified_organisation", "marketing_mail",
                ]
            )
            let vendors = try #require(published["vendors"] as? [[String: Any]])
            #expect(vendors.count == 8)
            #expect(vendors.first { $0["id"] as? String == "softbank-retargeting" }?["opt_out_url"] == nil)
            #expect(!response.text.contains("nda_signed"))
        }
    }

    @Test(
        "R-VER-1: a new policy version is stored at start; older versions stay readable at stable URLs",
        arguments: TestDatabase.available
    )
    func versions(_ kind: TestDatabase) async throws {
        let source = try Fixtures.examplePolicyText()
        let newer =
            source
            .replacingOccurrences(of: "version: \"2026-12-06\"", with: "version: \"2027-04-01\"")
            .replacingOccurrences(of: "  - 2026-12-06\n", with: "  - 2026-12-06\n  - 2027-04-01\n")
            .replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: 2")
        let newerPath = try temporaryPolicy(newer)
        let fresh = try await kind.makeLocation()
        defer { Task { try? await fresh.cleanUp() } }
        let keys = try Fixtures.temporaryDirectory()
        func configuration(_ path: String) -> ServerConfiguration { testConfiguration(fresh.location, keys: keys, policyPath: path) }

        let first = try await Installation.prepare(
            configuration(Fixtures.examplePolicyPath),
            logger: quietLogger
        )
        #expect(first.storedNewVersion)
        await first.close()
        let again = try await Installation.prepare(
            configuration(Fixtures.examplePolicyPath),
            logger: quietLogger
        )
        #expect(!again.storedNewVersion, "the same file must not be stored twice")
        await again.close()

        // The same version id with different content is refused: a published version never changes.
        let tampered = try temporaryPolicy(source.replacingOccurrences(of: "answer_business_days: 3", with: "answer_business_days: 5"))
        await #expect(throws: PolicyVersionConflict.self) {
            _ = try await Installation.prepare(configuration(tampered), logger: quietLogger)
        }

        let second = try await Installation.prepare(
            configuration(newerPath),
            logger: quietLogger
        )
        #expect(second.storedNewVersion)
        let app = Application(router: buildRouter(second), logger: quietLogger)
        try await app.test(.router) { client in
            let current = try await client.execute(uri: "/privacy?lang=en", method: .get).text
            #expect(current.contains("within 2 business days"))
            #expect(current.contains("href=\"/privacy/versions/2027-04-01?lang=en\""))
            #expect(current.contains("href=\"/privacy/versions/2026-12-06?lang=en\""))
            #expect(current.contains("Revised 1 April 2027"))

            let old = try await client.execute(uri: "/privacy/versions/2026-12-06?lang=en", method: .get)
            #expect(old.status == .ok)
            #expect(old.text.contains("within 3 business days"))
            #expect(old.text.contains("This is an earlier version"))
            #expect(!old.text.contains("Revised 1 April 2027"))
            let oldJSON = try await client.execute(uri: "/privacy/versions/2026-12-06.json", method: .get)
            #expect(oldJSON.status == .ok)
            let oldPolicy = try #require(try JSONSerialization.jsonObject(with: Data(oldJSON.text.utf8)) as? [String: Any])
            #expect((oldPolicy["requests"] as? [String: Any])?["answer_business_days"] as? Int == 3)
            let oldExternal = try await client.execute(uri: "/privacy/versions/2026-12-06/external-transmission", method: .get)
            #expect(oldExternal.status == .ok)

            let currentByID = try await client.execute(uri: "/privacy/versions/2027-04-01", method: .get)
            #expect(currentByID.status == .ok)
            #expect(!currentByID.text.contains("これは過去の版です"))

            // R-VER-3: the revision history says what changed in each version, in the reader's language.
            #expect(current.contains("href=\"/privacy/versions?lang=en\""), "the policy links to its history")
            let history = try await client.execute(uri: "/privacy/versions?lang=en", method: .get)
            #expect(history.status == .ok && history.headers[.contentLanguage] == "en")
            #expect(history.text.contains("business days to answer: 3 → 2"))
            #expect(history.text.contains("The first published version."))
            #expect(history.text.contains("href=\"/privacy/versions/2026-12-06?lang=en\""))
            #expect(history.text.range(of: "2027-04-01")!.lowerBound < history.text.range(of: "The first published version.")!.lowerBound)
            let historyJA = try await client.execute(uri: "/privacy/versions", method: .get).text
            #expect(historyJA.contains("回答までの営業日: 3 → 2") && historyJA.contains("<html lang=\"ja\">"))

            // R-VER-3: any staff member compares two stored versions; the current one against the one before by default.
            let staff = try await StaffBrowser.signIn(client, second, email: "op@mirai-career.example", role: .operator)
            let compared = try await staff.get(client, "/console/policy?lang=en")
            // R-OUT-1: what is due about the contractors today is on the page (the example's support desk agreement ended 2026-06-30).
            let dueToday = ContractorCheck.findings(try PolicyLoader.load(path: Fixtures.examplePolicyPath), today: LocalDate(japanAt: Date()))
            #expect(compared.text.contains("Contractors need attention") == !dueToday.isEmpty)
            for finding in dueToday { #expect(compared.text.contains(finding.text.en)) }
            #expect(compared.status == .ok)
            #expect(compared.text.contains("2026-12-06 → 2027-04-01") && compared.text.contains("business days to answer: 3 → 2"))
            let reversed = try await staff.get(client, "/console/policy?lang=en&from=2027-04-01&to=2026-12-06")
            #expect(reversed.text.contains("business days to answer: 2 → 3"))
            let same = try await staff.get(client, "/console/policy?lang=en&from=2026-12-06&to=2026-12-06")
            #expect(same.text.contains("No differences."))
            for bad in ["from=1999-01-01", "to=%00", "from=" + String(repeating: "x", count: 3000)] {
                #expect(try await staff.get(client, "/console/policy?" + bad).status == .badRequest, "\(bad.prefix(40))")
            }
            let anonymous = try await client.execute(uri: "/console/policy", method: .get)
            #expect(anonymous.status == .seeOther)

            for missing in [
                "/privacy/versions/1999-01-01", "/privacy/versions/..%2F..%2Fetc%2Fpasswd",
                "/privacy/versions/'%20OR%201=1--", "/privacy/versions/" + String(repeating: "9", count: 5000),
            ] {
                #expect(try await client.execute(uri: missing, method: .get).status == .notFound, "\(missing.prefix(60))")
            }
        }
        await second.close()
    }
}
