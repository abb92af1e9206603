import Foundation
import SQLKit

/// Everything held about one person, as disclosed to them (R-DSR-4). The JSON form is documented in
/// `docs/disclosure-schema.json`; the CSV form has one row per value (`section,record,field,value`).
public struct DisclosureDocument: Sendable, Hashable, Codable {
    public static let schema = "madoguchi.disclosure.v1"

    public struct Inquiry: Sendable, Hashable, Codable {
        public var number: String
        public var service: String
        public var status: String
        public var policyVersion: String
        public var createdAt: String
        /// Field id → the value the person sent.
        public var fields: [String: String]
        public var answers: [Answer]
        /// Forwarding inside the operator (R-TPP-1): to which department, which items, when.
        public var forwards: [Forward]

        enum CodingKeys: String, CodingKey {
            case number, service, status, fields, answers, forwards
            case policyVersion = "policy_version"
            case createdAt = "created_at"
        }
    }

    public struct Answer: Sendable, Hashable, Codable {
        public var createdAt: String
        public var text: String
        enum CodingKeys: String, CodingKey {
            case text
            case createdAt = "created_at"
        }
    }

    public struct Forward: Sendable, Hashable, Codable {
        public var createdAt: String
        public var department: String
        public var items: [String]
        enum CodingKeys: String, CodingKey {
            case department, items
            case createdAt = "created_at"
        }
    }

    public struct Consent: Sendable, Hashable, Codable {
        public var purpose: String
        public var granted: Bool
        public var policyVersion: String
        public var source: String
        public var createdAt: String
        /// The words the person was shown when answering (absent for answers recorded before they were kept).
        public var shownText: String? = nil
        enum CodingKeys: String, CodingKey {
            case purpose, granted, source
            case policyVersion = "policy_version"
            case createdAt = "created_at"
            case shownText = "shown_text"
        }
    }

    public struct Suspension: Sendable, Hashable, Codable {
        public var purpose: String
        public var source: String
        public var createdAt: String
        enum CodingKeys: String, CodingKey {
            case purpose, source
            case createdAt = "created_at"
        }
    }

    /// The person's answers to one survey (R-PUR-5), kept for the purpose `surveys`.
    public struct SurveyAnswers: Sendable, Hashable, Codable {
        public var survey: String
        public var subject: String
        public var createdAt: String
        public var answers: [Survey.AnswerItem]
        enum CodingKeys: String, CodingKey {
            case survey, subject, answers
            case createdAt = "created_at"
        }
    }

    public struct Request: Sendable, Hashable, Codable {
        public var number: String
        public var type: String
        public var status: String
        public var dueOn: String?
        enum CodingKeys: String, CodingKey {
            case number, type, status
            case dueOn = "due_on"
        }
    }

    public var schema: String
    public var generatedAt: String
    public var subjectID: String
    public var inquiries: [Inquiry]
    public var consents: [Consent]
    public var suspensions: [Suspension]
    public var requests: [Request]
    /// Their answers to surveys.
    public var surveys: [SurveyAnswers] = []
    /// Records of provision to third parties (APPI Art. 29, R-TPP-2): recipient, provided_on, items, basis.
    public var provisionRecords: [[String: String]]
    /// Leak incidents their data was concerned in (R-BRE-1): number, kind, found_on, notified_at.
    public var incidents: [[String: String]] = []
    /// Site identifiers linked to the person and their events (R-INF-2): identifier, event, vendors, gpc, created_at.
    public var informativeData: [[String: String]]

    enum CodingKeys: String, CodingKey {
        case schema, inquiries, consents, suspensions, requests, surveys, incidents
        case generatedAt = "generated_at"
        case subjectID = "subject_id"
        case provisionRecords = "provision_records"
        case informativeData = "informative_data"
    }

    /// The document for a person about whom nothing is held.
    public static func empty(at now: Date = Date()) -> DisclosureDocument {
        DisclosureDocument(
            schema: schema,
            generatedAt: now.formatted(.iso8601),
            subjectID: "",
            inquiries: [],
            consents: [],
            suspensions: [],
            requests: [],
            provisionRecords: [],
            informativeData: []
        )
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// RFC 4180 CSV, one row per value: `section,record,field,value`.
    public func csv() -> String {
        var rows: [[String]] = [
            ["section", "record", "field", "value"], ["document", "", "schema", schema],
            ["document", "", "generated_at", generatedAt], ["document", "", "subject_id", subjectID],
        ]
        for inquiry in inquiries {
            let record = inquiry.number
            rows += [
                ["inquiry", record, "service", inquiry.service], ["inquiry", record, "status", inquiry.status],
                ["inquiry", record, "policy_version", inquiry.policyVersion], ["inquiry", record, "created_at", inquiry.createdAt],
            ]
            rows += inquiry.fields.keys.sorted().map { ["inquiry", record, "field." + $0, inquiry.fields[$0]!] }
            for (index, answer) in inquiry.answers.enumerated() {
                rows += [
                    ["answer", "\(record)#\(index + 1)", "created_at", answer.createdAt], ["answer", "\(record)#\(index + 1)", "text", answer.text],
                ]
            }
            for (index, forward) in inquiry.forwards.enumerated() {
                let id = "\(record)#\(index + 1)"
                rows += [
                    ["forward", id, "created_at", forward.createdAt], ["forward", id, "department", forward.department],
                    ["forward", id, "items", forward.items.joined(separator: " ")],
                ]
            }
        }
        for (index, consent) in consents.enumerated() {
            let id = "\(index + 1)"
            rows += [
                ["consent", id, "purpose", consent.purpose], ["consent", id, "granted", consent.granted ? "true" : "false"],
                ["consent", id, "policy_version", consent.policyVersion], ["consent", id, "source", consent.source],
                ["consent", id, "created_at", consent.createdAt],
            ]
            if let shown = consent.shownText { rows.append(["consent", id, "shown_text", shown]) }
        }
        for (index, suspension) in suspensions.enumerated() {
            rows += [
                ["suspension", "\(index + 1)", "purpose", suspension.purpose], ["suspension", "\(index + 1)", "created_at", suspension.createdAt],
            ]
        }
        for request in requests {
            rows += [["request", request.number, "type", request.type], ["request", request.number, "status", request.status]]
            if let due = request.dueOn { rows.append(["request", request.number, "due_on", due]) }
        }
        for (index, survey) in surveys.enumerated() {
            let id = "\(index + 1)"
            rows += [
                ["survey", id, "survey", survey.survey], ["survey", id, "subject", survey.subject], ["survey", id, "created_at", survey.createdAt],
            ]
            for (number, item) in survey.answers.enumerated() {
                let answer = item.text ?? item.choices.joined(separator: " / ")
                rows.append(["survey", id, "q\(number + 1)", item.question + ": " + answer])
            }
        }
        for (index, entry) in provisionRecords.enumerated() {
            rows += entry.keys.sorted().map { ["provision_record", "\(index + 1)", $0, entry[$0]!] }
        }
        for (index, entry) in incidents.enumerated() {
            rows += entry.keys.sorted().map { ["incident", "\(index + 1)", $0, entry[$0]!] }
        }
        for (index, entry) in informativeData.enumerated() {
            rows += entry.keys.sorted().map { ["informative_data", "\(index + 1)", $0, entry[$0]!] }
        }
        return rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    /// Quotes a field when it holds a comma, quote or line break; a leading `=`, `+`, `-`, `@`, tab or carriage return
    /// (their full-width forms too) is prefixed with `'` so that spreadsheet programs never run a person's text as a
    /// formula (OWASP's CSV injection list).
    static func csvField(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+-@\t\r＝＋－＠".unicodeScalars.contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension SubjectRights {
    /// Everything held about the person, decrypted for them, audited as a disclosure (R-DSR-4). Nil when the person
    /// is not known (never was, or was erased).
    public func disclosure(subjectID: String, actor: String, source: String, at now: Date = Date()) async throws -> DisclosureDocument? {
        let database = vault.database
        let kind = database.kind
        guard let key = try await vault.keys.key(subjectID: subjectID) else { return nil }
        func time(_ row: any SQLRow, _ column: String) throws -> String {
            try Timestamp.decode(row, column: column, kind).formatted(.iso8601)
        }
        let (inquiryRows, fieldRows, answerRows, forwardRows, consentRows, suspensionRows, requestRows, linkedRows, surveyRows) =
            try await database.read { db in
                let inquiries = try await db.select().columns("id", "number", "service_id", "status", "policy_version", "created_at")
                    .from("inquiries").where("subject_id", .equal, subjectID).orderBy("created_at").all()
                let fields = try await db.raw(
                    """
                    SELECT f.inquiry_id AS inquiry_id, f.field_id AS field_id, f.sealed AS sealed
                    FROM inquiry_fields f JOIN inquiries i ON i.id = f.inquiry_id WHERE i.subject_id = \(bind: subjectID)
                    """
                ).all()
                let answers = try await db.raw(
                    """
                    SELECT a.id AS id, a.inquiry_id AS inquiry_id, a.sealed AS sealed, a.created_at AS created_at
                    FROM inquiry_answers a JOIN inquiries i ON i.id = a.inquiry_id WHERE i.subject_id = \(bind: subjectID)
                    ORDER BY a.created_at
                    """
                ).all()
                let forwards = try await db.raw(
                    """
                    SELECT w.inquiry_id AS inquiry_id, w.department_id AS department_id, w.items AS items, w.created_at AS created_at
                    FROM inquiry_forwards w JOIN inquiries i ON i.id = w.inquiry_id WHERE i.subject_id = \(bind: subjectID)
                    ORDER BY w.created_at
                    """
                ).all()
                let consents = try await db.select().columns("purpose_id", "granted", "policy_version", "source", "shown_text", "created_at")
                    .from("consents").where("subject_id", .equal, subjectID).orderBy("created_at").all()
                let suspensions = try await db.select().columns("purpose_id", "source", "created_at")
                    .from("suspensions").where("subject_id", .equal, subjectID).orderBy("created_at").all()
                let requests = try await db.select().columns("number", "type", "status", "due_on")
                    .from("requests").where("subject_id", .equal, subjectID).orderBy("created_at").all()
                let linked = try await db.raw(
                    """
                    SELECT e.identifier AS identifier, e.kind AS kind, e.vendors AS vendors, e.gpc AS gpc, e.created_at AS created_at
                    FROM consent_events e JOIN identifier_links l ON l.identifier = e.identifier
                    WHERE l.subject_id = \(bind: subjectID) ORDER BY e.created_at
                    """
                ).all()
                let surveys = try await db.raw(
                    """
                    SELECT a.campaign_id AS campaign_id, c.subject AS subject, a.sealed AS sealed, a.created_at AS created_at
                    FROM survey_answers a JOIN campaigns c ON c.id = a.campaign_id WHERE a.subject_id = \(bind: subjectID)
                    ORDER BY a.created_at
                    """
                ).all()
                return (inquiries, fields, answers, forwards, consents, suspensions, requests, linked, surveys)
            }
        var fields: [String: [String: String]] = [:]
        for row in fieldRows {
            let inquiryID = try row.decode(column: "inquiry_id", as: String.self)
            let fieldID = try row.decode(column: "field_id", as: String.self)
            fields[inquiryID, default: [:]][fieldID] = try SealedField.open(
                try row.decode(column: "sealed", as: Data.self),
                key: key,
                context: "inquiry/\(inquiryID)/\(fieldID)",
                for: .personalAccess
            )
        }
        var answers: [String: [DisclosureDocument.Answer]] = [:]
        for row in answerRows {
            let id = try row.decode(column: "id", as: String.self)
            answers[try row.decode(column: "inquiry_id", as: String.self), default: []].append(
                DisclosureDocument.Answer(
                    createdAt: try time(row, "created_at"),
                    text: try SealedField.open(
                        try row.decode(column: "sealed", as: Data.self),
                        key: key,
                        context: "answer/\(id)",
                        for: .personalAccess
                    )
                )
            )
        }
        var forwards: [String: [DisclosureDocument.Forward]] = [:]
        for row in forwardRows {
            forwards[try row.decode(column: "inquiry_id", as: String.self), default: []].append(
                DisclosureDocument.Forward(
                    createdAt: try time(row, "created_at"),
                    department: try row.decode(column: "department_id", as: String.self),
                    items: try row.decode(column: "items", as: String.self).split(separator: ",").map(String.init)
                )
            )
        }
        let surveys = try surveyRows.map { row in
            let campaignID = try row.decode(column: "campaign_id", as: String.self)
            let json = try SealedField.open(
                try row.decode(column: "sealed", as: Data.self),
                key: key,
                context: Survey.sealContext(campaignID: campaignID, subjectID: subjectID),
                for: .personalAccess
            )
            return DisclosureDocument.SurveyAnswers(
                survey: campaignID,
                subject: try row.decode(column: "subject", as: String.self),
                createdAt: try time(row, "created_at"),
                answers: try JSONDecoder().decode([Survey.AnswerItem].self, from: Data(json.utf8))
            )
        }
        let document = DisclosureDocument(
            schema: DisclosureDocument.schema,
            generatedAt: now.formatted(.iso8601),
            subjectID: subjectID,
            inquiries: try inquiryRows.map { row in
                let id = try row.decode(column: "id", as: String.self)
                return DisclosureDocument.Inquiry(
                    number: try row.decode(column: "number", as: String.self),
                    service: try row.decode(column: "service_id", as: String.self),
                    status: try row.decode(column: "status", as: String.self),
                    policyVersion: try row.decode(column: "policy_version", as: String.self),
                    createdAt: try time(row, "created_at"),
                    fields: fields[id] ?? [:],
                    answers: answers[id] ?? [],
                    forwards: forwards[id] ?? []
                )
            },
            consents: try consentRows.map { row in
                DisclosureDocument.Consent(
                    purpose: try row.decode(column: "purpose_id", as: String.self),
                    granted: try row.decode(column: "granted", as: Bool.self),
                    policyVersion: try row.decode(column: "policy_version", as: String.self),
                    source: try row.decode(column: "source", as: String.self),
                    createdAt: try time(row, "created_at"),
                    shownText: try row.decode(column: "shown_text", as: String?.self)
                )
            },
            suspensions: try suspensionRows.map { row in
                DisclosureDocument.Suspension(
                    purpose: try row.decode(column: "purpose_id", as: String.self),
                    source: try row.decode(column: "source", as: String.self),
                    createdAt: try time(row, "created_at")
                )
            },
            requests: try requestRows.map { row in
                DisclosureDocument.Request(
                    number: try row.decode(column: "number", as: String.self),
                    type: try row.decode(column: "type", as: String.self),
                    status: try row.decode(column: "status", as: String.self),
                    dueOn: try row.decode(column: "due_on", as: String?.self)
                )
            },
            surveys: surveys,
            provisionRecords: try await ProvisionRegister(database: database).records(subjectID: subjectID).map { record in
                [
                    "recipient": record.recipient, "provided_on": record.providedOn.description, "items": record.items.joined(separator: " "),
                    "basis": record.basis.code,
                ]
            },
            incidents: try await IncidentRegister.disclosed(subjectID: subjectID, in: database),
            informativeData: try linkedRows.map { row in
                [
                    "identifier": try row.decode(column: "identifier", as: String.self), "event": try row.decode(column: "kind", as: String.self),
                    "vendors": try row.decode(column: "vendors", as: String.self),
                    "gpc": try row.decode(column: "gpc", as: Bool.self) ? "true" : "false", "created_at": try time(row, "created_at"),
                ]
            }
        )
        try await AuditLog.record(
            AuditEvent(
                actor: actor,
                action: "subject.disclose",
                subjectID: subjectID,
                detail: "source=\(source) inquiries=\(document.inquiries.count)"
            ),
            in: database,
            at: now
        )
        return document
    }
}
