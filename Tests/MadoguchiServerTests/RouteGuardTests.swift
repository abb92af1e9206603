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

/// R-SEC-2: every state-changing route refuses a form without a valid CSRF token, and every `/console` route refuses
/// a visitor without a staff session. The routes come from the router itself, so a new route is checked by default;
/// the only routes without CSRF tokens are listed here, each with the reason.
@Suite("Route guards")
struct RouteGuardTests {
    /// State-changing routes that take no CSRF token, and why that is safe.
    static let withoutCSRF: [String: String] = [
        "/api/v1/inquiries":
            "JSON only (415 otherwise): a cross-site form cannot send application/json without a CORS preflight, which is never granted",
        "/api/v1/requests": "JSON only, as above",
        "/api/v1/requests/{number}/verify": "JSON only, as above; the one-time code is the proof",
        "/unsubscribe/{token}":
            "the one-click unsubscribe of RFC 8058, sent by mail clients that hold no token; the signed token in the path is the proof, and it can only stop mail for that person",
        "/api/v1/events":
            "the snippet's beacon on the operator's pages (another origin by design); it records a choice for the browser's own identifier and changes nothing else",
    ]
    /// `/console` routes open to visitors without a session: signing in and setting a password.
    static let consolePublic: Set<String> = ["/console/sign-in", "/console/setup", "/console"]

    @Test("R-SEC-2: every state-changing route refuses a missing or forged CSRF token; every /console route needs a session")
    func everyRouteGuarded() async throws {
        try await withServer { installation, client in
            let routes = buildRouter(installation).routes
            let number = try await submitInquiry(client, email: "guard@example.jp")
            let inquiry = try await inquiryID(number: number, installation)
            let request = try await RequestHTTPTests.openRequest(
                client,
                installation,
                #"{"type":"disclosure","email":"guard@example.jp","name":"山田 太郎"}"#
            )
            let me = try await SelfServiceTests.signIn(client, installation, email: "guard@example.jp")
            let staff = try await StaffBrowser.signIn(client, installation, email: "guard-admin@mirai-career.example", role: .admin)
            let form = try await FormSession.open(client)
            func concrete(_ template: String) -> String {
                template.replacingOccurrences(of: "{service}", with: "agent")
                    .replacingOccurrences(of: "{id}", with: template.contains("/requests/") ? request.id : inquiry)
                    .replacingOccurrences(of: "{number}", with: template.contains("/requests/") ? request.number : number)
            }
            let cookies = "\(form.cookie); \(me); \(staff.cookie)"
            var unguarded: [String] = []
            var checked = 0
            for route in routes where ![.get, .head, .options].contains(route.method) {
                let template = route.path.description
                if Self.withoutCSRF[template] != nil { continue }
                for token in ["", "forged", form.token + "x"] {
                    let response = try await client.execute(
                        uri: concrete(template),
                        method: route.method,
                        headers: [.contentType: "application/x-www-form-urlencoded", .cookie: cookies],
                        body: ByteBuffer(
                            string: formEncode([
                                "_csrf": token, "email": "guard@example.jp", "code": "123456", "confirm": "yes",
                                "reason": "x", "text": "x", "department": "agent-support", "status": "closed",
                            ])
                        )
                    )
                    if response.status != .forbidden {
                        unguarded.append("\(route.method) \(template) with token '\(token.prefix(8))' → \(response.status.code)")
                    }
                }
                checked += 1
            }
            #expect(checked >= 18, "the state-changing routes were found: \(checked)")
            #expect(unguarded.isEmpty, "state-changing routes that do not refuse a bad CSRF token: \(unguarded)")

            var open: [String] = []
            for route in routes where route.path.description.hasPrefix("/console") && !Self.consolePublic.contains(route.path.description) {
                let response = try await client.execute(
                    uri: concrete(route.path.description),
                    method: route.method,
                    headers: [.contentType: "application/x-www-form-urlencoded", .cookie: form.cookie],
                    body: ByteBuffer(string: formEncode(["_csrf": form.token]))
                )
                let toSignIn = response.status == .seeOther && response.headers[.location]?.hasPrefix("/console/sign-in") == true
                if !toSignIn && response.status != .unauthorized && response.status != .forbidden {
                    open.append("\(route.method) \(route.path) → \(response.status.code)")
                }
            }
            #expect(open.isEmpty, "/console routes that answer without a session: \(open)")
        }
    }

    @Test("R-SEC-2: every state-changing route a visitor can reach without a session is rate-limited per client")
    func everyPublicRouteLimited() async throws {
        try await withServer(configure: {
            $0.submissionLimit = (2, 600)
            $0.eventLimit = (2, 600)
        }) { installation, client in
            let routes = buildRouter(installation).routes.filter { ![.get, .head, .options].contains($0.method) }
            var unlimited: [String] = []
            var limited = 0
            for route in routes {
                let (method, path) = (route.method, route.path.description)
                let uri = path.replacingOccurrences(of: "{service}", with: "agent")
                    .replacingOccurrences(of: "{number}", with: "Q2026-0000000001").replacingOccurrences(of: "{id}", with: "x")
                var statuses: [HTTPResponse.Status] = []
                for _ in 0..<3 {
                    let response = try await client.execute(
                        uri: uri,
                        method: method,
                        headers: [.contentType: "application/x-www-form-urlencoded"],
                        body: ByteBuffer(string: "_csrf=x")
                    )
                    statuses.append(response.status)
                }
                // Routes behind a session send a visitor to sign in before anything else; they are limited by it.
                if statuses[0] == .seeOther { continue }
                if !statuses.contains(.tooManyRequests) {
                    unlimited.append("\(method) \(path): \(statuses.map(\.code))")
                }
                limited += 1
            }
            #expect(limited >= 10, "the public state-changing routes were found: \(limited)")
            #expect(unlimited.isEmpty, "public state-changing routes without a rate limit: \(unlimited)")
        }
    }
}
