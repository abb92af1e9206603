import Foundation
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL

/// Where and how to reach the SMTP server: `smtp://[user:password@]host[:port][?security=none|starttls]` or
/// `smtps://…` (TLS from the first byte, port 465).
public struct SMTPConfiguration: Sendable, Hashable, CustomStringConvertible {
    public enum Security: String, Sendable, Hashable {
        case none
        case startTLS = "starttls"
        case implicitTLS = "tls"
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// The name this client gives in EHLO.
    public var heloName: String
    /// Verify the server's certificate (turn off only for a test server with a self-signed certificate).
    public var verifyCertificate = true
    /// The envelope sender (`MAIL FROM`), where bounces go; the message's From when nil. A mailbox of its own keeps
    /// delivery failures out of the privacy desk's inbox.
    public var bounceAddress: String?

    /// True for a name a server accepts in EHLO: a host name of letters, digits and hyphens in dot-separated labels
    /// (nothing that could end the command line early).
    public static func isValidHeloName(_ name: String) -> Bool {
        guard (1...253).contains(name.utf8.count) else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        }
    }

    public init(url text: String, heloName: String = "madoguchi.localhost") throws(MailConfigurationError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "smtp" || scheme == "smtps", let host = components.host, !host.isEmpty
        else {
            throw MailConfigurationError(
                ja: "SMTP の URL は smtp://ユーザー:パスワード@ホスト:587?security=starttls の形で書いてください",
                en: "the SMTP URL must look like smtp://user:password@host:587?security=starttls"
            )
        }
        self.host = host
        security = scheme == "smtps" ? .implicitTLS : .startTLS
        for item in components.queryItems ?? [] {
            guard item.name == "security", let value = item.value, let parsed = Security(rawValue: value) else {
                throw MailConfigurationError(
                    ja: "SMTP の URL のオプション '\(item.name)=\(item.value ?? "")' は使えません。security=none|starttls|tls を使ってください",
                    en: "unknown SMTP URL option '\(item.name)=\(item.value ?? "")'; use security=none|starttls|tls"
                )
            }
            security = parsed
        }
        port = components.port ?? (security == .implicitTLS ? 465 : 587)
        username = components.user?.removingPercentEncoding
        password = components.password?.removingPercentEncoding
        if username != nil, security == .none {
            throw MailConfigurationError(
                ja: "TLS なしで SMTP のパスワードは送りません。security=starttls か smtps:// を使ってください",
                en: "refusing to send an SMTP password without TLS; use security=starttls or smtps://"
            )
        }
        self.heloName = heloName
    }

    /// Never shows the password.
    public var description: String { "smtp://\(username.map { "\($0)@" } ?? "")\(host):\(port) (\(security.rawValue))" }
}

/// An SMTP configuration that cannot be used.
public struct MailConfigurationError: BilingualError, Sendable {
    public var text: LocalizedText
    public init(ja: String, en: String) { text = LocalizedText(ja: ja, en: en) }
}

/// The server refused a step of the conversation.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    public let step: String
    public let code: Int
    public var description: String { "SMTP \(step) refused with \(code)" }

    public init(step: String, code: Int) {
        (self.step, self.code) = (step, code)
    }

    /// A 5xx reply to this message's recipient or content (RFC 5321 §4.2.1): sending it again cannot succeed. A 5xx
    /// to the greeting, TLS, authentication or the sender is the server's or our configuration's, not the message's,
    /// and is retried like any outage.
    public var refusesMessageForGood: Bool {
        (500..<600).contains(code) && (step == "RCPT TO" || step == "message")
    }
}

/// Sends mail to an SMTP server over SwiftNIO: EHLO, STARTTLS, AUTH PLAIN or LOGIN, MAIL/RCPT/DATA with dot-stuffing.
public struct SMTPMailer: Mailer {
    public let configuration: SMTPConfiguration
    public var timeout: Duration = .seconds(30)

    public init(configuration: SMTPConfiguration) {
        self.configuration = configuration
    }

    public func send(_ message: MailMessage) async throws {
        let rendered = try message.rendered()
        let configuration = configuration
        let tls = try Self.tlsContext(configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: configuration.host, port: configuration.port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if configuration.security == .implicitTLS {
                                try channel.pipeline.syncOperations.addHandler(
                                    try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(configuration.host))
                                )
                            }
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                            return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
                try await channel.executeThenClose { inbound, outbound in
                    var conversation = Conversation(lines: inbound.makeAsyncIterator(), outbound: outbound)
                    try await conversation.expect(220, "greeting")
                    var capabilities = try await conversation.command("EHLO \(configuration.heloName)", expect: 250, "EHLO")
                    if configuration.security == .startTLS {
                        guard capabilities.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                            throw SMTPError(step: "STARTTLS (not offered)", code: 0)
                        }
                        _ = try await conversation.command("STARTTLS", expect: 220, "STARTTLS")
                        // TLS goes in front of the line decoder; the server sends nothing until the client hello.
                        let underlying = channel.channel
                        try await underlying.eventLoop.submit {
                            try underlying.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(configuration.host)),
                                position: .first
                            )
                        }.get()
                        capabilities = try await conversation.command("EHLO \(configuration.heloName)", expect: 250, "EHLO")
                    }
                    if let user = configuration.username {
                        let password = configuration.password ?? ""
                        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
                        switch Self.authMechanism(capabilities) {
                        case .plain:
                            _ = try await conversation.command("AUTH PLAIN \(base64("\u{0}\(user)\u{0}\(password)"))", expect: 235, "AUTH PLAIN")
                        case .login:
                            _ = try await conversation.command("AUTH LOGIN", expect: 334, "AUTH LOGIN")
                            _ = try await conversation.command(base64(user), expect: 334, "AUTH LOGIN (user name)")
                            _ = try await conversation.command(base64(password), expect: 235, "AUTH LOGIN (password)")
                        case nil:
                            throw SMTPError(step: "AUTH (the server offers neither PLAIN nor LOGIN)", code: 0)
                        }
                    }
                    _ = try await conversation.command("MAIL FROM:<\(configuration.bounceAddress ?? message.from)>", expect: 250, "MAIL FROM")
                    _ = try await conversation.command("RCPT TO:<\(message.to)>", expect: 250, "RCPT TO", alsoAccept: 251)
                    _ = try await conversation.command("DATA", expect: 354, "DATA")
                    _ = try await conversation.command(Self.dotStuffed(rendered) + ".", expect: 250, "message")
                    _ = try? await conversation.command("QUIT", expect: 221, "QUIT")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SMTPError(step: "conversation (timed out)", code: 0)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Lines that start with a dot get a second one (RFC 5321 §4.5.2); the body already ends with CRLF.
    public static func dotStuffed(_ text: String) -> String {
        text.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
            .joined(separator: "\r\n")
    }

    enum AuthMechanism: Equatable {
        case plain, login
    }

    /// PLAIN when the server lists it (or lists no AUTH line at all), else LOGIN when listed.
    static func authMechanism(_ capabilities: [String]) -> AuthMechanism? {
        let auth = capabilities.compactMap { line -> [String]? in
            let words = line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            return words.first == "AUTH" ? Array(words.dropFirst()) : nil
        }
        guard !auth.isEmpty else { return .plain }
        let offered = Set(auth.joined())
        if offered.contains("PLAIN") { return .plain }
        if offered.contains("LOGIN") { return .login }
        return nil
    }

    static func sniName(_ host: String) -> String? {
        host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : host
    }

    static func tlsContext(_ configuration: SMTPConfiguration) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        if !configuration.verifyCertificate { tls.certificateVerification = .none }
        return try NIOSSLContext(configuration: tls)
    }

    /// One SMTP conversation: commands out, replies (possibly multi-line) in.
    struct Conversation {
        var lines: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

        /// Reads one reply; returns its code and the text of its lines.
        mutating func reply() async throws -> (code: Int, lines: [String]) {
            var texts: [String] = []
            while let buffer = try await lines.next() {
                var line = String(buffer: buffer)
                if line.hasSuffix("\r") { line.removeLast() }
                guard line.count >= 3, let code = Int(line.prefix(3)) else { throw SMTPError(step: "reply (malformed)", code: 0) }
                texts.append(String(line.dropFirst(4)))
                if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return (code, texts) }
            }
            throw SMTPError(step: "reply (connection closed)", code: 0)
        }

        mutating func expect(_ code: Int, _ step: String) async throws {
            let answer = try await reply()
            guard answer.code == code else { throw SMTPError(step: step, code: answer.code) }
        }

        @discardableResult
        mutating func command(_ text: String, expect code: Int, _ step: String, alsoAccept other: Int? = nil) async throws -> [String] {
            try await outbound.write(ByteBuffer(string: text + "\r\n"))
            let answer = try await reply()
            guard answer.code == code || answer.code == other else { throw SMTPError(step: step, code: answer.code) }
            return answer.lines
        }
    }
}
