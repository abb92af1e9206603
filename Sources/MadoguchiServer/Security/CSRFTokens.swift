import Crypto
import Foundation
import MadoguchiCore

/// Stateless CSRF protection for forms (R-SEC-2): a signed token in the form must match a nonce in a
/// `SameSite=Strict` cookie, and must be younger than `lifetime`.
struct CSRFTokens: Sendable {
    static let cookieName = "mdg_csrf"
    static let fieldName = "_csrf"
    let key: SymmetricKey
    var lifetime: TimeInterval = 2 * 60 * 60

    struct Issued: Sendable {
        let token: String
        let nonce: String
    }

    /// A new token; reuse `nonce` (from the person's cookie) so several open forms stay valid.
    func issue(nonce existing: String? = nil, at now: Date = Date()) -> Issued {
        let nonce = existing.flatMap { Self.isNonce($0) ? $0 : nil } ?? Self.randomNonce()
        let payload = "\(Int(now.timeIntervalSince1970)).\(nonce)"
        return Issued(token: "\(payload).\(signature(payload))", nonce: nonce)
    }

    /// True when `token` was issued by us, is fresh, and belongs to the cookie's `nonce`.
    func verify(token: String?, cookieNonce: String?, at now: Date = Date()) -> Bool {
        guard let token, let cookieNonce else { return false }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let issued = TimeInterval(parts[0]), String(parts[1]) == cookieNonce else { return false }
        let payload = "\(parts[0]).\(parts[1])"
        guard let given = Data(base64URL: String(parts[2])), let expected = Data(base64URL: signature(payload)),
            given.count == expected.count,
            HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data(payload.utf8), using: key)
        else { return false }
        let age = now.timeIntervalSince1970 - issued
        return age >= -60 && age <= lifetime
    }

    private func signature(_ payload: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)).base64URLEncoded
    }

    static func randomNonce() -> String {
        Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }).base64URLEncoded
    }

    /// The `Set-Cookie` value that carries a form's nonce (HttpOnly, SameSite=Strict, Secure on https).
    static func cookieHeader(nonce: String, secure: Bool) -> String {
        SiteCookie(name: cookieName, value: nonce).header(secure: secure)
    }

    static func isNonce(_ text: String) -> Bool {
        (22...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}
