/// Every `Set-Cookie` the site sends, built one way: `name=value; Path; [HttpOnly;] SameSite; [Max-Age;] [Secure]`.
struct SiteCookie: Sendable {
    enum SameSite: String, Sendable {
        /// The site's own cookies (CSRF nonce, sessions): never sent with a request from another site.
        case strict = "Strict"
        /// The informative-data cookies the snippet shares with the operator's pages.
        case lax = "Lax"
    }

    var name: String
    var value: String
    var path: String = "/"
    /// Seconds; nil for a cookie that ends with the browser session, 0 to delete it.
    var maxAge: Int? = nil
    /// False only for cookies the snippet reads in the browser.
    var httpOnly = true
    var sameSite = SameSite.strict

    /// The header value; `Secure` when the site is served over https.
    func header(secure: Bool) -> String {
        var text = "\(name)=\(value); Path=\(path)"
        if httpOnly { text += "; HttpOnly" }
        text += "; SameSite=\(sameSite.rawValue)"
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        if secure { text += "; Secure" }
        return text
    }
}
