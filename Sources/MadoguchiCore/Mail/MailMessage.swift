import Foundation

/// An e-mail ready for a transport: one plain-text UTF-8 part, headers that cannot be injected.
public struct MailMessage: Sendable, Hashable {
    public var from: String
    public var to: String
    public var subject: String
    public var body: String
    public var messageID: String
    public var date: Date
    /// An https address for one-click unsubscribe: written as `List-Unsubscribe` with `List-Unsubscribe-Post`
    /// (RFC 8058), so mail clients offer it and can use it without opening a page.
    public var listUnsubscribe: String?

    public init(from: String, to: String, subject: String, body: String, messageID: String, date: Date, listUnsubscribe: String? = nil) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.messageID = messageID
        self.date = date
        self.listUnsubscribe = listUnsubscribe
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
        ]
        if let listUnsubscribe {
            guard listUnsubscribe.hasPrefix("https://") || listUnsubscribe.hasPrefix("http://"),
                !listUnsubscribe.contains(where: { $0.isNewline || $0.isWhitespace || $0 == "<" || $0 == ">" || ($0.asciiValue ?? 32) < 32 })
            else { throw MailError.invalidAddress("List-Unsubscribe") }
            lines += ["List-Unsubscribe: <\(listUnsubscribe)>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]
        }
        lines += [
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        let encoded = Data(Self.crlfLines(body)).base64EncodedString()
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The body's UTF-8 with every line end (LF, CRLF or a lone CR) written as CRLF.
    static func crlfLines(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 64)
        var previousWasCR = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\r"):
                bytes.append(contentsOf: [13, 10])
                previousWasCR = true
                continue
            case UInt8(ascii: "\n"):
                if !previousWasCR { bytes.append(contentsOf: [13, 10]) }
            default:
                bytes.append(byte)
            }
            previousWasCR = false
        }
        return bytes
    }

    /// RFC 2047 encoded words, each at most 75 characters, folded onto continuation lines.
    static func encodedWords(_ text: String) -> String {
        let clean = String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
        if clean.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && clean.utf8.count <= 70 { return clean }
        var words: [String] = []
        var chunk = ""
        var chunkBytes = 0
        for character in clean {
            // 42 bytes of UTF-8 become 56 base64 characters: with "Subject: =?UTF-8?B?" and "?=" a line stays under 78.
            // Whole characters only, so no word ends inside a character.
            let size = character.utf8.count
            if chunkBytes + size > 42, !chunk.isEmpty {
                words.append(chunk)
                chunk = ""
                chunkBytes = 0
            }
            chunk.append(character)
            chunkBytes += size
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The date in Japan Standard Time (UTC+9, no daylight saving), e.g. `Thu, 01 Jan 1970 09:00:00 +0900`.
    static func rfc5322Date(_ date: Date) -> String {
        let parts = utc.dateComponents(
            [.year, .month, .day, .hour, .minute, .second, .weekday],
            from: date.addingTimeInterval(9 * 3_600)
        )
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(weekdays[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0900"
    }
}

/// A message that cannot be sent as it is.
public enum MailError: Error, Sendable, Hashable {
    case invalidAddress(String)
}

/// Sends rendered mail. Transports: a folder of `.eml` files (`FileOutboxMailer`, the embedded default) and SMTP
/// (`SMTPMailer`).
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
        let name = message.messageID.replacingOccurrences(of: "@", with: "_").filter {
            $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "."
        }
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
