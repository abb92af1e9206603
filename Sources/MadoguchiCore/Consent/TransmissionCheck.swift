import Foundation

/// One consent state a page is loaded in by the transmission scanner (R-EXT-2): what the browser holds, and which
/// vendors may then receive data.
public struct ScanState: Sendable, Hashable {
    /// A short name for reports: `first-visit`, `first-visit-gpc`, `all-refused`, `all-allowed`.
    public let name: String
    /// The state cookie's value to set before loading, or nil for a browser that has chosen nothing.
    public let cookie: String?
    /// Send `Sec-GPC: 1` and expose `navigator.globalPrivacyControl`.
    public let gpc: Bool
    /// Vendor id → may receive data in this state.
    public let allowed: [String: Bool]

    /// The states every page is checked in: a first visit (with and without GPC), everything refused, everything allowed.
    public static func all(for policy: Policy) -> [ScanState] {
        let list = VendorList.version(of: policy)
        let everyone = Dictionary(uniqueKeysWithValues: policy.vendors.map { ($0.id, true) })
        let nobody = everyone.mapValues { _ in false }
        return [
            ScanState(name: "first-visit", cookie: nil, gpc: false, allowed: ConsentCookie.defaults(policy, gpc: false)),
            ScanState(name: "first-visit-gpc", cookie: nil, gpc: true, allowed: ConsentCookie.defaults(policy, gpc: true)),
            ScanState(
                name: "all-refused",
                cookie: ConsentCookie(allowed: nobody, explicit: true).value(policy, vendorList: list),
                gpc: false,
                allowed: nobody
            ),
            ScanState(
                name: "all-allowed",
                cookie: ConsentCookie(allowed: everyone, explicit: true).value(policy, vendorList: list),
                gpc: false,
                allowed: everyone
            ),
        ]
    }
}

/// What the scanner found wrong on a page in one state.
public enum TransmissionFinding: Sendable, Hashable, CustomStringConvertible {
    /// A host that no declared vendor names (and that is neither the page's own nor allowed by the operator).
    case undeclared(host: String)
    /// A declared vendor's host, contacted although the state forbids every vendor that names it.
    case againstChoice(host: String, vendors: [String])

    public var description: String {
        switch self {
        case let .undeclared(host): "undeclared host \(host)"
        case let .againstChoice(host, vendors): "\(vendors.joined(separator: ", ")) contacted against the choice (\(host))"
        }
    }
}

/// Compares the hosts a page contacted with the policy's declarations (R-EXT-2).
public enum TransmissionCheck {
    /// Madoguchi's own endpoints: the host that serves them is the operator's, not a vendor.
    static let madoguchiPaths = ["/snippet.js", "/snippet.css", "/api/v1/events", "/api/v1/consent-config"]

    /// The findings for a page at `page` that requested `urls` in `state`, one per host, sorted by host.
    /// - Parameters:
    ///   - alsoAllowed: hosts the operator names as its own (a CDN, a second domain); the page's host always is.
    public static func findings(
        page: URL,
        requested urls: [String],
        state: ScanState,
        policy: Policy,
        alsoAllowed: [String] = []
    ) -> [TransmissionFinding] {
        var own = Set(alsoAllowed.map { $0.lowercased() })
        if let host = page.host?.lowercased() { own.insert(host) }
        var hosts = Set<String>()
        for text in urls {
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https", "ws", "wss"].contains(scheme),
                let host = url.host?.lowercased()
            else { continue }
            if madoguchiPaths.contains(url.path) || url.path.hasPrefix("/snippet/") { own.insert(host) }
            hosts.insert(host)
        }
        var result: [TransmissionFinding] = []
        for host in hosts.sorted() where !own.contains(host) {
            let owners = HostPattern.owners(of: host, in: policy)
            if owners.isEmpty {
                result.append(.undeclared(host: host))
            } else if !owners.contains(where: { state.allowed[$0.id] == true }) {
                result.append(.againstChoice(host: host, vendors: owners.map(\.id)))
            }
        }
        return result
    }
}
