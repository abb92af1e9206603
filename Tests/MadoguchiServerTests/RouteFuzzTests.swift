import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import NIOCore
import Testing

/// R-SEC-3: every route of the router, with hostile numbers, tokens, ids and bodies, as an anonymous visitor, as a
/// visitor with a valid form token and as a signed-in administrator. A trap anywhere ends the test process (and
/// would end the server for everyone); every answer must be below 500.
///
/// The run is bounded: a fixed list of values, each route tried with each value in each place once (about 4,000
/// requests in-process, a few seconds). The routes come from the router itself, so a new route is fuzzed by default.
@Suite("Hostile input on every route")
struct RouteFuzzTests {
    static let hostileValues: [String] = [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999999999", "-1", "0",
        "1e309", "-1e309", "nan", "inf", "0x7fffffffffffffff", "9223372036854775807.x", "1.2.3",
        "", " ", "%00", "\u{0}", "../../etc/passwd", "//evil.example/x", "<script>alert(1)</script>", "' OR 1=1 --",
        "あ", "\u{202E}", "🙂", String(repeating: "9", count: 5_000), String(repeating: "a", count: 9_000),
    ]
    /// The names of the query parameters and form fields the routes read.
    static let names = [
        "token", "ticket", "after", "id", "number", "code", "format", "lang", "email", "name", "phone", "message",
        "topic", "type", "details", "purposes", "delivery", "password", "reason", "department", "status", "value",
        "field", "inquiry", "confirm", "vendors", "state", "gpc", "consent", "service", "page", "filter", "q",
    ]

    @Test("R-SEC-3: no request to any route, however hostile, is answered with 5xx or ends the process")
    func everyRoute() async throws {
        try await withServer { installation, client in
            let routes = buildRouter(installation).routes
            #expect(routes.count > 30, "the router's routes are enumerated")
            let admin = try await StaffBrowser.signIn(client, installation, email: "fuzz-admin@mirai-career.example", role: .admin)
            _ = try await submitInquiry(client)
            let form = try await FormSession.open(client)
            let consolePage = try await admin.get(client, "/console/inquiries").text
            let marker = "name=\"_csrf\" value=\""
            let consoleToken = consolePage.range(of: marker).map { String(consolePage[$0.upperBound...].prefix { $0 != "\"" }) } ?? ""

            var failures: [String] = []
            func check(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws {
                let response = try await client.execute(
                    uri: uri,
                    method: method,
                    headers: headers,
                    body: body.map { ByteBuffer(string: $0) }
                )
                if response.status.code >= 500 { failures.append("\(method) \(uri.prefix(120)) → \(response.status.code)") }
            }
            func encoded(_ text: String) -> String {
                text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            }
            for route in routes {
                let method = route.method
                let template = route.path.description
                for value in Self.hostileValues {
                    // The value in every captured path component.
                    let path = template.split(separator: "/").map { part in
                        part.hasPrefix("{") || part.hasPrefix(":") || part == "*" ? encoded(value) : String(part)
                    }.joined(separator: "/")
                    let query = Self.names.map { "\($0)=\(encoded(value))" }.joined(separator: "&")
                    let uri = "/" + path + "?" + query
                    switch method {
                    case .get, .head:
                        try await check(method, uri)
                        try await check(method, uri, headers: [.cookie: admin.cookie])
                    default:
                        var fields = Dictionary(uniqueKeysWithValues: Self.names.map { ($0, value) })
                        fields["_csrf"] = form.token
                        try await check(
                            method,
                            uri,
                            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: form.cookie],
                            body: formEncode(fields)
                        )
                        fields["_csrf"] = consoleToken
                        // Signing the administrator out would leave the rest of the run anonymous.
                        if !template.hasSuffix("sign-out") {
                            try await check(
                                method,
                                uri,
                                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: admin.cookie],
                                body: formEncode(fields)
                            )
                        }
                        let json =
                            "{"
                            + Self.names.map {
                                "\"\($0)\":\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
                            }
                            .joined(separator: ",") + "}"
                        try await check(method, uri, headers: [.contentType: "application/json"], body: json)
                        let number = value.allSatisfy(\.isNumber) && !value.isEmpty ? value : "1e999"
                        try await check(
                            method,
                            uri,
                            headers: [.contentType: "application/json"],
                            body: "{\"vendors\":{\"x\":\(number)},\"created\":\(number),\"id\":\(number)}"
                        )
                    }
                }
                // Bodies that are not what the route expects at all.
                if method != .get, method != .head {
                    for body in ["{", "[]", "null", "\u{FEFF}{}", String(repeating: "[", count: 10_000), "a=%ZZ&b", "%", "=&=&="] {
                        try await check(
                            method,
                            "/"
                                + template.split(separator: "/").map { $0.hasPrefix("{") ? "x" : String($0) }
                                .joined(separator: "/"),
                            headers: [.contentType: "application/json"],
                            body: body
                        )
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.count) answers of 500 or more: \(failures.prefix(20))")
        }
    }
}
