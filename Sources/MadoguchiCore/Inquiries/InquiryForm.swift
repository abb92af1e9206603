import Foundation

/// What a person sent through an inquiry form or the API, before any check.
public struct InquirySubmission: Sendable, Hashable {
    public var serviceID: String
    /// Field id → the value as sent.
    public var values: [String: String]
    /// The separate, unticked consent to the purposes that need it (mail magazines, DM, surveys).
    public var consentToOptionalPurposes: Bool

    public init(serviceID: String, values: [String: String], consentToOptionalPurposes: Bool = false) {
        self.serviceID = serviceID
        self.values = values
        self.consentToOptionalPurposes = consentToOptionalPurposes
    }
}

/// Why one field was refused (R-REQ-1). The server words it in Japanese and English.
public struct FieldProblem: Error, Sendable, Hashable, Codable {
    public enum Code: String, Sendable, Hashable, Codable {
        case missing
        case tooLong = "too-long"
        case invalidEmail = "invalid-email"
        case invalidPhone = "invalid-phone"
        case invalidChoice = "invalid-choice"
        case controlCharacter = "control-character"
        case multipleLines = "multiple-lines"
        case unknownField = "unknown-field"
    }

    public var field: String
    public var code: Code
    /// The maximum length, for `tooLong`.
    public var limit: Int?

    public init(field: String, code: Code, limit: Int? = nil) {
        self.field = field
        self.code = code
        self.limit = limit
    }
}

/// A submission that passed every check: values normalised, one per declared field of the service.
public struct ValidatedInquiry: Sendable, Hashable {
    public let service: Service
    /// Field id → normalised value; optional fields left empty are absent.
    public let values: [String: String]
    public let email: String
    public let consentToOptionalPurposes: Bool
    public let policyVersion: String
}

extension Policy {
    /// The fields the form of `service` asks for, in declaration order.
    public func fields(for service: Service) -> [Field] {
        fields.filter { $0.services.isEmpty || $0.services.contains(service.id) }
    }

    /// The purposes a person must opt in to separately.
    public var optionalPurposes: [Purpose] { purposes.filter(\.requiresConsent) }

    /// Checks a submission against the service's declared fields. Nothing is stored unless this succeeds.
    public func validate(_ submission: InquirySubmission, allowUnknownFields: Bool = false) -> Result<ValidatedInquiry, InquiryRejection> {
        guard let service = service(id: submission.serviceID) else { return .failure(.unknownService(submission.serviceID)) }
        let fields = fields(for: service)
        var problems: [FieldProblem] = []
        if !allowUnknownFields {
            let known = Set(fields.map(\.id))
            for name in submission.values.keys.sorted() where !known.contains(name) {
                problems.append(FieldProblem(field: name, code: .unknownField))
            }
        }
        var values: [String: String] = [:]
        for field in fields {
            let raw = submission.values[field.id] ?? ""
            switch FieldRules.normalise(raw, for: field) {
            case let .success(value):
                if value.isEmpty {
                    if field.required { problems.append(FieldProblem(field: field.id, code: .missing)) }
                } else {
                    values[field.id] = value
                }
            case let .failure(problem):
                problems.append(problem)
            }
        }
        guard problems.isEmpty else { return .failure(.invalidFields(problems)) }
        // Validation guarantees a required e-mail field asked on every service (PolicyReader).
        let email = fields.first { $0.type == .email && $0.required }.flatMap { values[$0.id] } ?? ""
        return .success(
            ValidatedInquiry(
                service: service,
                values: values,
                email: email,
                consentToOptionalPurposes: submission.consentToOptionalPurposes,
                policyVersion: version
            )
        )
    }
}

/// Why a submission was refused as a whole.
public enum InquiryRejection: Error, Sendable, Hashable {
    case unknownService(String)
    case invalidFields([FieldProblem])
}

/// How each field type is checked and normalised.
enum FieldRules {
    static func normalise(_ raw: String, for field: Field) -> Result<String, FieldProblem> {
        func problem(_ code: FieldProblem.Code, _ limit: Int? = nil) -> Result<String, FieldProblem> {
            .failure(FieldProblem(field: field.id, code: code, limit: limit))
        }
        let value = trimmed(unixLines(raw))
        if field.type != .textarea, value.utf8.contains(UInt8(ascii: "\n")) { return problem(.multipleLines) }
        // Control characters, bidirectional overrides and unassigned code points have no place in a name or a
        // message; joiners stay (emoji and some scripts need them). Line breaks survive only in a textarea.
        let forbidden = value.unicodeScalars.contains { scalar in
            if scalar == "\n" || scalar == "\t" { return false }
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
                return true
            case .format:
                return scalar.value != 0x200C && scalar.value != 0x200D
            default:
                return false
            }
        }
        if forbidden { return problem(.controlCharacter) }
        if value.count > field.maxLength { return problem(.tooLong, field.maxLength) }
        if value.isEmpty { return .success("") }
        switch field.type {
        case .email:
            // Full-width letters and the ideographic space typed on Japanese keyboards become ASCII (NFKC).
            let normal = trimmed(compatibilityNormalised(value))
            guard PolicyReader.isEmailAddress(normal) else { return problem(.invalidEmail) }
            return .success(normal)
        case .phone:
            let normal = compatibilityNormalised(value)
            var digits = 0
            for byte in normal.utf8 {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
                case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: " "): continue
                default: return problem(.invalidPhone)
                }
            }
            guard (10...15).contains(digits) else { return problem(.invalidPhone) }
            return .success(normal)
        case .choice:
            guard field.choices.contains(where: { $0.id == value }) else { return problem(.invalidChoice) }
            return .success(value)
        case .name, .text, .textarea:
            return .success(value)
        }
    }

    /// CRLF and lone CR become LF.
    static func unixLines(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "\r")) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var previousWasCR = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\r") {
                bytes.append(UInt8(ascii: "\n"))
                previousWasCR = true
                continue
            }
            if !(byte == UInt8(ascii: "\n") && previousWasCR) { bytes.append(byte) }
            previousWasCR = false
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Without leading and trailing white space (Unicode White_Space: spaces of every width, tabs, line ends).
    static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return text }
        return String(scalars[first...last])
    }

    /// NFKC; ASCII text is already in that form.
    static func compatibilityNormalised(_ text: String) -> String {
        text.utf8.allSatisfy { $0 < 0x80 } ? text : text.precomposedStringWithCompatibilityMapping
    }
}

extension EmailAddress {
    /// An address as a person typed it, checked and normalised by the form rules (full-width → ASCII, trimmed), or
    /// nil when it is not one.
    public static func normalised(_ raw: String) -> String? {
        let field = Field(
            id: "email",
            label: LocalizedText("email"),
            type: .email,
            required: true,
            purposes: [],
            maxLength: 254,
            choices: [],
            services: []
        )
        guard case let .success(value) = FieldRules.normalise(raw, for: field), !value.isEmpty else { return nil }
        return value
    }
}
