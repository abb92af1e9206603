import CompressNIO
import Crypto
import Foundation
import MadoguchiCore
import NIOCore

/// `/snippet.js` for the operator's pages, filled with the policy file's declarations once at start: the same vendors,
/// hosts, items and purposes as `/privacy/external-transmission` (R-EXT-1, R-EXT-2). Two variants, because a request
/// with `Sec-GPC: 1` gets a snippet that honours GPC even where the browser has no `navigator.globalPrivacyControl`.
struct SiteSnippet: Sendable {
    static let placeholder = "/*MADOGUCHI_CONFIG*/null"
    let plain: RenderedPage
    let gpc: RenderedPage
    /// The same two, gzipped once at start, for clients that accept it (nil if compression failed: served plain).
    let plainGzip: RenderedPage?
    let gpcGzip: RenderedPage?
    let stylesheet: RenderedPage
    /// The versioned path (`/snippet/DIGEST.js`), served with a year-long immutable cache.
    let versionedPath: String

    /// Without the placeholder (a packaging fault, which a test catches) the snippet gets no declarations and does nothing.
    init(policy: Policy, resources: SiteResources, baseURL: String) {
        let template = Self.compact(String(decoding: resources.snippet, as: UTF8.self))
        func script(gpc: Bool) -> [UInt8] {
            Array(
                template.replacingOccurrences(
                    of: Self.placeholder,
                    with: Self.configuration(policy, resources: resources, baseURL: baseURL, gpc: gpc)
                ).utf8
            )
        }
        let plainBytes = script(gpc: false)
        let gpcBytes = script(gpc: true)
        plain = RenderedPage(plainBytes, contentType: "text/javascript; charset=utf-8")
        gpc = RenderedPage(gpcBytes, contentType: "text/javascript; charset=utf-8")
        func gzipped(_ bytes: [UInt8]) -> RenderedPage? {
            var buffer = ByteBuffer(bytes: bytes)
            guard let compressed = try? buffer.compress(with: .gzip()) else { return nil }
            return RenderedPage(compressed.readableBytesView, contentType: "text/javascript; charset=utf-8")
        }
        plainGzip = gzipped(plainBytes)
        gpcGzip = gzipped(gpcBytes)
        stylesheet = RenderedPage(resources.snippetStylesheet, contentType: "text/css; charset=utf-8")
        // One digest for both variants and the stylesheet: any change to them is a new URL.
        var digest = SHA256()
        digest.update(data: plainBytes)
        digest.update(data: gpcBytes)
        digest.update(data: resources.snippetStylesheet)
        versionedPath = "/snippet/" + Hex.encode(digest.finalize().prefix(12)) + ".js"
    }

    /// The source without indentation, blank lines and whole-line comments: a third less to send, and nothing else
    /// changes (statements end with semicolons, no string or regular expression spans a line).
    static func compact(_ source: String) -> String {
        source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("//") }.joined(separator: "\n") + "\n"
    }

    /// What every page view needs: ids, categories, hosts, names and the notice's words. The items and purposes
    /// (the bulk of the text) come from `/api/v1/consent-config` when the notice is built, which keeps the snippet
    /// under 8 KB gzipped however long the operator's descriptions are.
    /// The declarations as a JSON object literal; JSON is valid JavaScript, so it is pasted in as it is.
    static func configuration(_ policy: Policy, resources: SiteResources, baseURL: String, gpc: Bool) -> String {
        func texts(_ language: Language) -> [String: String] {
            let strings = resources.text(language)
            var out: [String: String] = ["optout": strings.format("prefs_vendor_opt_out")]
            for (key, value) in strings where key.hasPrefix("snip_") { out[String(key.dropFirst("snip_".count))] = value }
            return out
        }
        let categories = VendorCategory.allCases.map { category -> [String: String] in
            [
                "id": category.rawValue, "ja": resources.text(.ja).format("cat_\(category.rawValue)"),
                "en": resources.text(.en).format("cat_\(category.rawValue)"),
            ]
        }
        let vendors = policy.vendors.map { vendor -> [String: Any] in
            var entry: [String: Any] = [
                "id": vendor.id, "cat": vendor.category.rawValue, "hosts": vendor.hosts,
                "name": ["ja": "\(vendor.company.ja) \(vendor.service.ja)", "en": "\(vendor.company.en) \(vendor.service.en)"],
            ]
            if let url = vendor.optOutURL { entry["optout"] = url }
            return entry
        }
        let body: [String: Any] = [
            "v": VendorList.version(of: policy), "policy": policy.version, "mode": policy.informativeData.consentMode.rawValue,
            "cookie": policy.informativeData.cookieName, "days": policy.informativeData.cookieLifetimeDays, "gpc": gpc,
            "base": baseURL, "vendors": vendors, "cats": categories, "t": ["ja": texts(.ja), "en": texts(.en)],
        ]
        // Only strings, numbers, booleans, arrays and dictionaries: serialisation cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
