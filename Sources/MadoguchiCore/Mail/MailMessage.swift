import Foundation

/// An e-mail ready for a transport: one plain-text UTF-8 part, headers that cannot be injected.
public struct MailMessage: Sendable, Hashable {
    public var from: String
    public var to: String
    public var subject: String
    public var body: String
    public var messageID: String
    public var date: Date

    public init(from: String, to: String, subject: String, body: String, messageID: String, date: Date) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.messageID = messageID
        self.date = date
    }

    /// The message in RFC 5322 form with CRLF line ends: encoded-word subject, base64 body.
    /// Throws when an address could smuggle a header (CR, LF or other control characters).
    public func rendered() throws(MailError) -> String {
        for (name, address) in [("From", from), ("To", to)] {
            guard EmailAddress.isValid(address) else { throw MailError.invalidAddress(name) }
        }
        guard !messageID.contains(where: { $0.isNewline || $0 == "<" || $0 == ">" }) else { throw MailError.invalidAddress("Message-ID") }
        var lines = [
            "Date: \(Self.rfc5322Date(date))",
            "From: \(from)",
            "To: \(to)",
            "Subject: \(Self.encodedWords(subject))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        let normalised = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let encoded = Data(normalised.utf8).base64EncodedString()
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 2047 encoded words, each at most 75 characters, folded onto continuation lines.
    static func encodedWords(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.allSatisfy({ $0.isASCII && !$0.isNewline }) && clean.count <= 70 { return clean }
        var words: [String] = []
        var chunk = ""
        for character in clean {
            // 42 bytes of UTF-8 become 56 base64 characters: with "Subject: =?UTF-8?B?" and "?=" a line stays under 78.
            if (chunk + String(character)).utf8.count > 42 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Tokyo")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}

/// A message that cannot be sent as it is.
public enum MailError: Error, Sendable, Hashable {
    case invalidAddress(String)
}

/// Sends rendered mail. Transports: a folder of `.eml` files (the embedded default) — SMTP is a planned transport.
public protocol Mailer: Sendable {
    func send(_ message: MailMessage) async throws
}

/// Writes each message as `<message id>.eml` into a folder, atomically: the embedded default, and what tests read.
public struct FileOutboxMailer: Mailer {
    public let directory: URL

    public init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    public func send(_ message: MailMessage) async throws {
        let text = try message.rendered()
        let name = message.messageID.replacingOccurrences(of: "@", with: "_").filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
        let url = directory.appendingPathComponent("\(name).eml")
        try Data(text.utf8).write(to: url, options: [.atomic])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}

/// The e-mail address rule shared by policy files, forms and mail headers: ASCII, one `@`, a dotted domain,
/// nothing that could end a header line.
public enum EmailAddress {
    public static func isValid(_ address: String) -> Bool { PolicyReader.isEmailAddress(address) }
}
