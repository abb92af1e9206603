import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import SQLKit
import Testing

@Suite("Site snippet")
struct SnippetTests {
    static func config(in script: String) throws -> [String: Any] {
        let start = try #require(script.range(of: "var C = "))
        let end = try #require(script.range(of: ";\n", range: start.upperBound..<script.endIndex))
        return try #require(try JSONSerialization.jsonObject(with: Data(script[start.upperBound..<end.lowerBound].utf8)) as? [String: Any])
    }

    // R-EXT-2, R-OPT-4: the snippet carries exactly the declared vendors and hosts, and honours Sec-GPC.
    @Test(
        "R-EXT-2: /snippet.js carries the policy's vendors and hosts, is cacheable with an ETag and a versioned URL, and Sec-GPC gets the GPC variant"
    )
    func snippet() async throws {
        try await withServer { installation, client in
            let policy = installation.policy
            let plain = try await client.execute(uri: "/snippet.js", method: .get)
            #expect(plain.status == .ok && plain.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(plain.headers[.cacheControl] == "public, max-age=300" && plain.headers[.vary] == "Sec-GPC, Accept-Encoding")
            #expect(plain.headers[.accessControlAllowOrigin] == "*")
            #expect(!plain.text.contains("/*MADOGUCHI_CONFIG*/null"), "the declarations are filled in")
            #expect(!plain.text.contains("eval(") && !plain.text.contains("innerHTML") && !plain.text.contains(".style."), "CSP-friendly")
            #expect(!plain.text.split(separator: "\n").contains { $0.hasPrefix("//") || $0.hasPrefix(" ") }, "compacted")
            let config = try Self.config(in: plain.text)
            #expect(config["v"] as? String == VendorList.version(of: policy) && config["mode"] as? String == "notice")
            #expect(config["cookie"] as? String == policy.informativeData.cookieName && config["gpc"] as? Bool == false)
            let vendors = try #require(config["vendors"] as? [[String: Any]])
            #expect(vendors.map { $0["id"] as? String } == policy.vendors.map(\.id), "every declared vendor, in the policy's order")
            #expect(vendors.map { $0["hosts"] as? [String] ?? [] } == policy.vendors.map(\.hosts))
            let texts = try #require(config["t"] as? [String: [String: String]])
            #expect(Set(texts["ja"]?.keys ?? [:].keys) == Set(texts["en"]?.keys ?? [:].keys) && texts["ja"]?["title"] != nil)

            let etag = try #require(plain.headers[.eTag])
            #expect(try await client.execute(uri: "/snippet.js", method: .get, headers: [.ifNoneMatch: etag]).status == .notModified)

            let gpc = try await client.execute(uri: "/snippet.js", method: .get, headers: [.secGPC: "1"])
            #expect(try Self.config(in: gpc.text)["gpc"] as? Bool == true && gpc.headers[.eTag] != etag)

            let versioned = try #require(plain.headers[.contentLocation])
            #expect(versioned.hasPrefix("/snippet/") && versioned.hasSuffix(".js"))
            let long = try await client.execute(uri: versioned, method: .get)
            #expect(long.status == .ok && long.text == plain.text && long.headers[.cacheControl] == "public, max-age=31536000, immutable")
            let stale = try await client.execute(uri: "/snippet/0123456789abcdef01234567.js", method: .get)
            #expect(stale.status == .found && stale.headers[.location] == "/snippet.js", "an old versioned URL gets the current declarations")
            #expect(try await client.execute(uri: "/snippet/%3Cscript%3E", method: .get).status == .found)

            let css = try await client.execute(uri: "/snippet.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8" && css.text.contains(".mdg-dialog"))
        }
    }

    // R-EXT-1: the notice's details come from the same declarations as the external-transmission page.
    @Test("R-EXT-1: /api/v1/consent-config gives every vendor's items and purpose in both languages, readable from the operator's pages")
    func details() async throws {
        try await withServer { installation, client in
            let response = try await client.execute(uri: "/api/v1/consent-config", method: .get)
            #expect(response.headers[.accessControlAllowOrigin] == "*")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any])
            let vendors = try #require(body["vendors"] as? [[String: Any]])
            for (entry, vendor) in zip(vendors, installation.policy.vendors) {
                #expect((entry["items"] as? [String: [String]])?["ja"] == vendor.items.map(\.ja))
                #expect((entry["purpose"] as? [String: String])?["en"] == vendor.purpose.en)
            }
        }
    }

    @Test("the state cookie: written and read alike; another vendor list, a wrong length or hostile text is no choice")
    func stateCookie() throws {
        let policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
        let list = VendorList.version(of: policy)
        var allowed = ConsentCookie.defaults(policy, gpc: true)
        #expect(policy.vendors.allSatisfy { allowed[$0.id] == ($0.category != .advertising) }, "R-OPT-4: GPC turns advertising off")
        allowed[policy.vendors[0].id] = false
        let value = ConsentCookie(allowed: allowed, explicit: true).value(policy, vendorList: list)
        #expect(ConsentCookie.parse(value, policy: policy, vendorList: list) == ConsentCookie(allowed: allowed, explicit: true))
        let bits = String(repeating: "1", count: policy.vendors.count)
        for bad in [
            "", "\(list)", "v0.\(bits).1", "\(list).\(bits)1.1", "\(list).\(bits).2", "\(list).\(bits.dropLast())x.1",
            "\(list).\(bits).1.1", "\(list).\(bits);Path=/.1", String(repeating: "\(list).", count: 1_000),
        ] {
            #expect(ConsentCookie.parse(bad, policy: policy, vendorList: list) == nil, "\(bad.prefix(60))")
        }
        #expect(ConsentCookie.defaults(policy, gpc: false).values.allSatisfy { $0 }, "notice mode: every vendor until opted out")
    }

    @Test("host patterns: *.example.com is every subdomain, not the apex or a look-alike")
    func hostPatterns() {
        #expect(HostPattern.matches("a.mktoresp.com", "*.mktoresp.com") && HostPattern.matches("x.y.mktoresp.com", "*.mktoresp.com"))
        #expect(!HostPattern.matches("mktoresp.com", "*.mktoresp.com") && !HostPattern.matches("evilmktoresp.com", "*.mktoresp.com"))
        #expect(HostPattern.matches("BAT.bing.com", "bat.bing.com") && !HostPattern.matches("bat.bing.com.evil.test", "bat.bing.com"))
    }

    // R-OPT-1, R-OPT-4: /preferences and the snippet share the browser's state cookie.
    @Test("R-OPT-1: /preferences reads and writes the snippet's state cookie; an acknowledged notice under GPC still has advertising off")
    func sharedState() async throws {
        try await withServer { installation, client in
            let policy = installation.policy
            let list = VendorList.version(of: policy)
            let name = ConsentCookie.name(policy)
            let advertising = try #require(policy.vendors.first { $0.category == .advertising })
            let analytics = try #require(policy.vendors.first { $0.category == .analytics })
            func checked(_ vendor: Vendor, _ page: TestResponse) -> Bool { page.text.contains("name=\"vendor_\(vendor.id)\" value=\"on\" checked") }

            let none = ConsentCookie(allowed: [:], explicit: true).value(policy, vendorList: list)
            let off = try await client.execute(uri: "/preferences", method: .get, headers: [.cookie: "\(name)=\(none)"])
            #expect(!checked(analytics, off) && !checked(advertising, off), "a choice made in the snippet shows here")

            let all = ConsentCookie(allowed: ConsentCookie.defaults(policy, gpc: false), explicit: false).value(policy, vendorList: list)
            let acknowledged = try await client.execute(uri: "/preferences", method: .get, headers: [.cookie: "\(name)=\(all)", .secGPC: "1"])
            #expect(checked(analytics, acknowledged) && !checked(advertising, acknowledged))
            let explicitAll = ConsentCookie(allowed: ConsentCookie.defaults(policy, gpc: false), explicit: true).value(policy, vendorList: list)
            #expect(
                checked(
                    advertising,
                    try await client.execute(
                        uri: "/preferences",
                        method: .get,
                        headers: [.cookie: "\(name)=\(explicitAll)", .secGPC: "1"]
                    )
                ),
                "an explicit choice wins over GPC"
            )
            let stale = try await client.execute(
                uri: "/preferences",
                method: .get,
                headers: [.cookie: "\(name)=v0.\(none.split(separator: ".")[1]).1"]
            )
            #expect(checked(analytics, stale), "a choice against another vendor list is no choice")

            let form = try await FormSession.open(client, "/preferences")
            let saved = try await form.post(client, ["vendor_\(analytics.id)": "on"], path: "/preferences")
            let cookies = saved.headers[values: .setCookie]
            let state = try #require(cookies.first { $0.hasPrefix(name + "=") })
            let value = String(state.split(separator: ";")[0].dropFirst(name.count + 1))
            let parsed = try #require(ConsentCookie.parse(value, policy: policy, vendorList: list))
            #expect(parsed.explicit && parsed.allowed[analytics.id] == true && parsed.allowed[advertising.id] == false)
            #expect(state.contains("SameSite=Lax") && state.contains("Path=/"))

            let reset = try await client.execute(
                uri: "/preferences/reset",
                method: .post,
                headers: [.cookie: "\(form.cookie); \(name)=\(value)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: formEncode(["_csrf": form.token]))
            )
            #expect(reset.headers[values: .setCookie].contains { $0.hasPrefix("\(name)=;") && $0.contains("Max-Age=0") })
        }
    }
}

extension HTTPField.Name {
    static let secGPC = Self("Sec-GPC")!
}

extension SnippetTests {
    // R-INF-2: a linked identifier is covered by the person's suspension of every use.
    @Test(
        "R-INF-2: /api/v1/identifier-state tells the snippet when the linked person suspended every use; bad identifiers are refused",
        arguments: TestDatabase.available
    )
    func suspension(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            let cookieName = installation.policy.informativeData.cookieName
            let linked = ConsentEvent.newIdentifier()
            let other = ConsentEvent.newIdentifier()
            func state(_ id: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/identifier-state?id=\(id)", method: .get)
            }
            try await ConsentTests.inquiry(client, cookieName: cookieName, email: "taro@example.jp", identifier: linked, confirmingWith: installation)
            let before = try await state(linked)
            #expect(before.status == .ok && before.text == #"{"suspended":false}"# && before.headers[.accessControlAllowOrigin] == "*")
            #expect(before.headers[.cacheControl] == "no-store")

            let taro = try await installation.subjectID(email: "taro@example.jp")
            let rights = SubjectRights(vault: installation.vault)
            try await rights.suspend(subjectID: taro, purpose: "marketing", actor: "test", source: "test")
            #expect(try await state(linked).text == #"{"suspended":false}"#, "one purpose suspended is not every use")
            try await rights.suspend(subjectID: taro, purpose: SubjectRights.allPurposes, actor: "test", source: "test")
            #expect(try await state(linked).text == #"{"suspended":true}"#)
            #expect(try await state(other).text == #"{"suspended":false}"#, "an unlinked identifier is nobody's")

            for bad in [
                "", "short", String(repeating: "a", count: 65), "%3Cscript%3E%3C%2Fscript%3Eaaaaaaaaaaaaaaaaaa", "a'%20OR%201=1--aaaaaaaaaaaaa",
            ] {
                let response = try await state(bad)
                #expect(response.status == .badRequest && response.text.contains("\"field\":\"id\""), "\(bad)")
            }
            #expect(try await client.execute(uri: "/api/v1/identifier-state", method: .get).status == .badRequest)
        }
    }
}

extension SnippetTests {
    @Test("/snippet.js is sent gzipped to clients that accept it, under 8 KB, with its own ETag")
    func gzip() async throws {
        try await withServer { _, client in
            let plain = try await client.execute(uri: "/snippet.js", method: .get)
            let zipped = try await client.execute(uri: "/snippet.js", method: .get, headers: [.acceptEncoding: "br, gzip;q=0.8"])
            #expect(zipped.headers[.contentEncoding] == "gzip" && zipped.headers[.vary] == "Sec-GPC, Accept-Encoding")
            let bytes = Array(zipped.body.readableBytesView)
            #expect(bytes.starts(with: [0x1F, 0x8B]) && bytes.count <= 8 * 1_024 && bytes.count < plain.body.readableBytes / 2)
            let etag = try #require(zipped.headers[.eTag])
            #expect(etag != plain.headers[.eTag])
            #expect(
                try await client.execute(uri: "/snippet.js", method: .get, headers: [.acceptEncoding: "gzip", .ifNoneMatch: etag]).status
                    == .notModified
            )
            let versioned = try #require(plain.headers[.contentLocation])
            #expect(try await client.execute(uri: versioned, method: .get, headers: [.acceptEncoding: "gzip"]).headers[.contentEncoding] == "gzip")
            for refused in ["gzip;q=0", "identity", "deflate", "br", "", "gzip; q=0.0"] {
                #expect(
                    try await client.execute(uri: "/snippet.js", method: .get, headers: [.acceptEncoding: refused]).headers[.contentEncoding] == nil,
                    "\(refused)"
                )
            }
        }
    }
}
