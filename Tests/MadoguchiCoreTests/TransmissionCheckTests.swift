import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

@Suite("Transmission check")
struct TransmissionCheckTests {
    let policy: Policy

    init() throws {
        policy = try PolicyLoader.parse(yaml: try Fixtures.examplePolicyText(), file: "example")
    }

    // R-EXT-2: what a page contacts is compared with the declared hosts in each consent state.
    @Test("R-EXT-2: undeclared hosts and vendors contacted against the state are found; the page's own host and Madoguchi are not vendors")
    func findings() throws {
        let states = Dictionary(uniqueKeysWithValues: ScanState.all(for: policy).map { ($0.name, $0) })
        #expect(states.keys.sorted() == ["all-allowed", "all-refused", "first-visit", "first-visit-gpc"])
        let page = try #require(URL(string: "https://www.example.jp/jobs/"))
        let urls = [
            "https://www.example.jp/app.js", "https://madoguchi.example.jp/snippet.js", "https://madoguchi.example.jp/api/v1/events",
            "https://www.googletagmanager.com/gtag/js?id=G-1", "https://x1.mktoresp.com/webevents", "https://connect.facebook.net/fbevents.js",
            "https://tracker.undeclared.test/t.gif", "wss://live.undeclared.test/socket", "data:image/png;base64,AAAA",
            "blob:https://www.example.jp/1", "not a url", "https://cdn.example.net/lib.js",
        ]
        let refused = try #require(states["all-refused"])
        let found = TransmissionCheck.findings(page: page, requested: urls, state: refused, policy: policy, alsoAllowed: ["CDN.example.net"])
        #expect(
            found == [
                .againstChoice(host: "connect.facebook.net", vendors: ["meta-ads"]),
                .undeclared(host: "live.undeclared.test"),
                .undeclared(host: "tracker.undeclared.test"),
                .againstChoice(host: "www.googletagmanager.com", vendors: ["google-analytics"]),
                .againstChoice(host: "x1.mktoresp.com", vendors: ["marketo"]),
            ]
        )
        let allowed = TransmissionCheck.findings(
            page: page,
            requested: urls,
            state: try #require(states["all-allowed"]),
            policy: policy,
            alsoAllowed: ["cdn.example.net"]
        )
        #expect(allowed == [.undeclared(host: "live.undeclared.test"), .undeclared(host: "tracker.undeclared.test")])
        // R-OPT-4: a first visit with GPC refuses advertising only.
        let gpc = TransmissionCheck.findings(
            page: page,
            requested: urls,
            state: try #require(states["first-visit-gpc"]),
            policy: policy,
            alsoAllowed: ["cdn.example.net"]
        )
        #expect(gpc.contains(.againstChoice(host: "connect.facebook.net", vendors: ["meta-ads"])))
        #expect(!gpc.contains { if case .againstChoice(_, let vendors) = $0 { vendors == ["google-analytics"] } else { false } })
        #expect(TransmissionCheck.findings(page: page, requested: [], state: refused, policy: policy).isEmpty)
    }

    @Test("scan states set the snippet's own state cookie")
    func stateCookies() throws {
        let list = VendorList.version(of: policy)
        for state in ScanState.all(for: policy) {
            guard let cookie = state.cookie else {
                #expect(state.name.hasPrefix("first-visit"))
                continue
            }
            let parsed = try #require(ConsentCookie.parse(cookie, policy: policy, vendorList: list))
            #expect(parsed.explicit && parsed.allowed == state.allowed)
        }
    }
}
