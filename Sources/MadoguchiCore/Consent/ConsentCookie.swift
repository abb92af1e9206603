/// The browser's own record of its choice, read and written alike by the site snippet, `/preferences` and the
/// transmission scanner: `VENDORLIST.BITS.E` — the vendor-list version it was made against, one `0`/`1` per declared
/// vendor in the policy file's order, and `1` when the person chose (`0`: the notice was only acknowledged, so GPC
/// still turns advertising off). A value made against another vendor list is no choice at all: the person is asked again.
public struct ConsentCookie: Sendable, Hashable {
    public var allowed: [String: Bool]
    public var explicit: Bool

    public init(allowed: [String: Bool], explicit: Bool) {
        self.allowed = allowed
        self.explicit = explicit
    }

    /// The cookie's name: the identifier cookie's name with `_c`.
    public static func name(_ policy: Policy) -> String { policy.informativeData.cookieName + "_c" }

    /// The cookie value for `policy`; a vendor missing from `allowed` is off.
    public func value(_ policy: Policy, vendorList: String) -> String {
        vendorList + "." + String(policy.vendors.map { allowed[$0.id] == true ? "1" : "0" }) + "." + (explicit ? "1" : "0")
    }

    /// Reads a value; nil when it is malformed or was made against another vendor list.
    public static func parse(_ value: String, policy: Policy, vendorList: String) -> ConsentCookie? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == vendorList, parts[1].count == policy.vendors.count,
            parts[1].allSatisfy({ $0 == "0" || $0 == "1" }), parts[2] == "0" || parts[2] == "1"
        else { return nil }
        var allowed: [String: Bool] = [:]
        for (vendor, bit) in zip(policy.vendors, parts[1]) { allowed[vendor.id] = bit == "1" }
        return ConsentCookie(allowed: allowed, explicit: parts[2] == "1")
    }

    /// What a browser that has made no choice gets: in notice mode every vendor but advertising under GPC (R-OPT-4),
    /// in opt-in mode none.
    public static func defaults(_ policy: Policy, gpc: Bool) -> [String: Bool] {
        var allowed: [String: Bool] = [:]
        for vendor in policy.vendors {
            allowed[vendor.id] = policy.informativeData.consentMode == .notice && !(gpc && vendor.category == .advertising)
        }
        return allowed
    }
}

/// Host patterns as the policy file declares them: `*.example.com` stands for every subdomain of example.com (not
/// example.com itself); anything else for exactly that host. The snippet applies the same rule.
public enum HostPattern {
    public static func matches(_ host: String, _ pattern: String) -> Bool {
        let host = host.lowercased()
        let pattern = pattern.lowercased()
        if pattern.hasPrefix("*.") { return host.hasSuffix(pattern.dropFirst()) }
        return host == pattern
    }

    /// The declared vendors whose hosts include `host`.
    public static func owners(of host: String, in policy: Policy) -> [Vendor] {
        policy.vendors.filter { vendor in vendor.hosts.contains { matches(host, $0) } }
    }
}
