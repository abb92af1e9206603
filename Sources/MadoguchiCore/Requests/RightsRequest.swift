import Crypto
import Foundation
import SQLKit

/// The requests a person can make about their data (R-DSR-1).
public enum RightsRequestType: String, Sendable, Hashable, Codable, CaseIterable {
    /// 開示: everything held about the person.
    case disclosure
    /// 訂正・追加・削除: correct, add to or delete part of what is held.
    case correction
    /// 利用停止: stop using the data for some purposes or for all.
    case suspension
    /// 消去: erase everything.
    case erasure
    /// 第三者提供の停止: stop providing the data to third parties.
    case stopProvision = "stop-provision"
    /// 第三者提供記録の開示: the records of provision to third parties.
    case provisionRecords = "provision-records"

    public var name: LocalizedText {
        switch self {
        case .disclosure: LocalizedText(ja: "開示", en: "Disclosure")
        case .correction: LocalizedText(ja: "訂正・追加・削除", en: "Correction, addition or deletion")
        case .suspension: LocalizedText(ja: "利用停止", en: "Suspension of use")
        case .erasure: LocalizedText(ja: "消去", en: "Erasure")
        case .stopProvision: LocalizedText(ja: "第三者提供の停止", en: "Stop of provision to third parties")
        case .provisionRecords: LocalizedText(ja: "第三者提供記録の開示", en: "Disclosure of provision records")
        }
    }
}

/// How a disclosure is delivered.
public enum DisclosureFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case json
    case csv
}

/// What a person sends to start a request, before validation.
public struct RightsRequestSubmission: Sendable, Hashable {
    public var type: String
    public var email: String
    public var name: String
    public var phone: String?
    public var details: String?
    public var purposes: [String]?
    public var delivery: String?
    /// The browser's site identifier, if it sent one: linked to the person once the request is verified (R-INF-1).
    public var identifier: String?

    public init(
        type: String,
        email: String,
        name: String,
        phone: String? = nil,
        details: String? = nil,
        purposes: [String]? = nil,
        delivery: String? = nil,
        identifier: String? = nil
    ) {
        self.type = type
        self.email = email
        self.name = name
        self.phone = phone
        self.details = details
        self.purposes = purposes
        self.delivery = delivery
        self.identifier = identifier
    }
}

/// The sealed content of a request.
public struct RightsRequestContent: Sendable, Hashable, Codable {
    public var email: String
    public var name: String
    public var phone: String?
    public var details: String?
    public var purposes: [String]
    public var delivery: DisclosureFormat
    public var identifier: String?
}

extension RightsRequestContent {
    /// The content sealed in a request row.
    static func open(_ sealed: Data, key: SymmetricKey, requestID: String, for use: DataUse) throws -> RightsRequestContent {
        try JSONDecoder().decode(
            RightsRequestContent.self,
            from: Data(try SealedField.open(sealed, key: key, context: "request/\(requestID)", for: use).utf8)
        )
    }
}

/// A request that passed validation.
public struct ValidatedRightsRequest: Sendable, Hashable {
    public let type: RightsRequestType
    public let content: RightsRequestContent
}

/// The problems that stop a request submission, one per field.
public struct RightsRequestProblems: Error, Sendable, Hashable {
    public let problems: [FieldProblem]
}

/// Validates request submissions with the same field rules as inquiries (R-REQ-1).
public enum RightsRequestForm {
    public static let detailsLimit = 4_000

    public static func validate(_ submission: RightsRequestSubmission, policy: Policy) -> Result<ValidatedRightsRequest, RightsRequestProblems> {
        var problems: [FieldProblem] = []
        let type = RightsRequestType(rawValue: submission.type)
        if type == nil { problems.append(FieldProblem(field: "type", code: submission.type.isEmpty ? .missing : .invalidChoice)) }
        func check(_ id: String, _ raw: String?, _ fieldType: FieldType, required: Bool, limit: Int) -> String? {
            let field = Field(
                id: id,
                label: LocalizedText(id),
                type: fieldType,
                required: required,
                purposes: [],
                maxLength: limit,
                choices: [],
                services: []
            )
            guard let raw, !raw.isEmpty else {
                if required { problems.append(FieldProblem(field: id, code: .missing)) }
                return nil
            }
            switch FieldRules.normalise(raw, for: field) {
            case let .success(value):
                if value.isEmpty, required { problems.append(FieldProblem(field: id, code: .missing)) }
                return value.isEmpty ? nil : value
            case let .failure(problem):
                problems.append(problem)
                return nil
            }
        }
        let email = check("email", submission.email, .email, required: true, limit: 254)
        let name = check("name", submission.name, .name, required: true, limit: 100)
        let phone = check("phone", submission.phone, .phone, required: false, limit: 30)
        let details = check("details", submission.details, .textarea, required: type == .correction, limit: detailsLimit)
        var purposes: [String] = []
        if type == .suspension {
            let asked = submission.purposes ?? []
            if asked.isEmpty {
                problems.append(FieldProblem(field: "purposes", code: .missing))
            } else if asked.contains(SubjectRights.allPurposes) {
                purposes = [SubjectRights.allPurposes]
            } else if asked.allSatisfy({ policy.purpose(id: $0) != nil }), Set(asked).count == asked.count {
                purposes = asked
            } else {
                problems.append(FieldProblem(field: "purposes", code: .invalidChoice))
            }
        } else if let asked = submission.purposes, !asked.isEmpty {
            problems.append(FieldProblem(field: "purposes", code: .unknownField))
        }
        var delivery = DisclosureFormat.json
        if let asked = submission.delivery, !asked.isEmpty {
            if let format = DisclosureFormat(rawValue: asked), type == .disclosure || type == .provisionRecords {
                delivery = format
            } else {
                problems.append(FieldProblem(field: "delivery", code: DisclosureFormat(rawValue: asked) == nil ? .invalidChoice : .unknownField))
            }
        }
        guard problems.isEmpty, let type, let email, let name else { return .failure(RightsRequestProblems(problems: problems)) }
        return .success(
            ValidatedRightsRequest(
                type: type,
                content: RightsRequestContent(
                    email: email,
                    name: name,
                    phone: phone,
                    details: details,
                    purposes: purposes,
                    delivery: delivery,
                    identifier: submission.identifier.flatMap { ConsentEvent.isIdentifier($0) ? $0 : nil }
                )
            )
        )
    }
}

/// Where a request stands.
public enum RightsRequestStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting for the person to enter the code sent to their address.
    case unverified
    /// Verified and waiting for staff; the due date runs.
    case open
    /// Carried out.
    case completed
    /// Refused with a reason that was sent to the person (APPI Art. 33(3), 36).
    case refused
    /// Never verified, or the code was tried too often.
    case lapsed
}

/// What a person is told after sending a request: the same whether or not their address is known (R-DSR-2).
public struct RightsRequestReceipt: Sendable, Hashable {
    public let id: String
    public let number: String
    /// The one-time code, to be mailed — never shown in a response.
    public let code: String
    public let expiresAt: Date
}

/// The outcome of entering a code.
public enum VerificationOutcome: Sendable, Hashable {
    /// Verified; the request is open and must be answered by `due`.
    case verified(number: String, due: LocalDate, known: Bool)
    /// Wrong code; this many attempts are left.
    case wrongCode(attemptsLeft: Int)
    /// The code is no longer valid (expired, used up, or the request is not waiting for one).
    case notValid
    /// The code was right but the name or phone does not match what is held; the request lapses.
    case itemMismatch
}

/// A request opened by staff: its content decrypted (audited).
public struct RightsRequestDetail: Sendable, Hashable {
    public let entry: RightsRequestDesk.QueueEntry
    public let content: RightsRequestContent
    /// The person the request was matched to on verification ("" when the address is unknown).
    public let subjectID: String
    /// The person's inquiry numbers, for corrections.
    public let inquiryNumbers: [String]
    /// For a request staff entered: how they checked the requester's identity.
    public var identityCheck: String? = nil
}

/// Why staff could not carry out a request.
public enum RightsRequestError: Error, Sendable, Hashable {
    case notOpen
    case unknownField(String)
    case unknownInquiry(String)
    case invalidValue(FieldProblem)
    case reasonMissing
    /// The new e-mail address is already another person's (their blind index): the change is refused.
    case emailInUse
}
