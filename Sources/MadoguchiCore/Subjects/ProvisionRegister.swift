import Foundation
import SQLKit

/// A ground of APPI Art. 27(1) on which personal data may be provided to a third party without the person's consent.
public enum LegalGround: String, Sendable, Hashable, Codable, CaseIterable {
    case lawsAndRegulations = "laws-and-regulations"
    case protectionOfLife = "protection-of-life"
    case publicHealth = "public-health"
    case stateAffairs = "state-affairs"
    case academicResearch = "academic-research"

    public var text: LocalizedText {
        switch self {
        case .lawsAndRegulations: LocalizedText(ja: "法令に基づく場合(第27条第1項第1号)", en: "Required by laws and regulations (Art. 27(1)(i))")
        case .protectionOfLife:
            LocalizedText(
                ja: "人の生命・身体・財産の保護に必要で、本人の同意を得ることが困難な場合(同第2号)",
                en: "Needed to protect a life, body or property when consent is hard to obtain (Art. 27(1)(ii))"
            )
        case .publicHealth:
            LocalizedText(
                ja: "公衆衛生の向上・児童の健全な育成に特に必要な場合(同第3号)",
                en: "Especially needed for public health or the sound growth of children (Art. 27(1)(iii))"
            )
        case .stateAffairs:
            LocalizedText(
                ja: "国の機関・地方公共団体などの法令の定める事務への協力(同第4号)",
                en: "Cooperation with a state or local body carrying out duties set by law (Art. 27(1)(iv))"
            )
        case .academicResearch:
            LocalizedText(ja: "学術研究機関等への提供・学術研究目的(同第5〜7号)", en: "Academic research (Art. 27(1)(v)–(vii))")
        }
    }
}

/// On what a provision rests: the person's consent (a granted answer in `consents`, by its id) or a legal ground.
public enum ProvisionBasis: Sendable, Hashable {
    case consent(String)
    case legal(LegalGround)

    /// `consent:ID` or `legal:GROUND`, as forms and the database carry it.
    public var code: String {
        switch self {
        case let .consent(id): "consent:\(id)"
        case let .legal(ground): "legal:\(ground.rawValue)"
        }
    }

    public init?(code: String) {
        if code.hasPrefix("consent:"), code.count > 8, code.count <= 80 {
            self = .consent(String(code.dropFirst(8)))
        } else if code.hasPrefix("legal:"), let ground = LegalGround(rawValue: String(code.dropFirst(6))) {
            self = .legal(ground)
        } else {
            return nil
        }
    }
}

/// A provision of a person's data to a third party, as recorded (APPI Art. 29, Rules Art. 19–21).
public struct ProvisionRecord: Sendable, Hashable {
    public let id: String
    public let subjectID: String
    public let recipient: String
    public let providedOn: LocalDate
    /// Policy field ids of the items provided.
    public let items: [String]
    public let basis: ProvisionBasis
    public let recordedBy: String
    public let createdAt: Date
    /// The record is kept until this day (three years from the provision, Rules Art. 21).
    public let keepUntil: LocalDate
}

/// Why a provision could not be recorded, in both languages.
public enum ProvisionError: BilingualError, Sendable, Hashable {
    case recipient
    case noItems
    case unknownItem(String)
    case date
    case unknownPerson
    /// The consent named is not a granted answer of this person, or was withdrawn since.
    case consentNotGranted
    /// The person had provision (or every use) stopped: nothing may be provided.
    case stopped

    public var text: LocalizedText {
        switch self {
        case .recipient: LocalizedText(ja: "提供先を 1〜200 文字で入力してください", en: "give the recipient in 1 to 200 characters")
        case .noItems: LocalizedText(ja: "提供した項目を一つ以上選んでください", en: "choose at least one item provided")
        case let .unknownItem(id): LocalizedText(ja: "項目 '\(id)' はポリシーにありません", en: "there is no item '\(id)' in the policy")
        case .date:
            LocalizedText(ja: "提供日は、今日から 3 年前までの日付(YYYY-MM-DD)にしてください", en: "the date must be a day within the last three years (YYYY-MM-DD)")
        case .unknownPerson: LocalizedText(ja: "この方の記録はありません", en: "there is no record of this person")
        case .consentNotGranted:
            LocalizedText(
                ja: "選んだ同意は、この方の有効な同意ではありません(撤回されたか、別の方のものです)",
                en: "the consent chosen is not a standing consent of this person (withdrawn, or someone else's)"
            )
        case .stopped:
            LocalizedText(
                ja: "この方からは第三者提供の停止(または利用停止)のご請求を受けているため、提供できません",
                en: "this person had provision to third parties (or every use) stopped: nothing may be provided"
            )
        }
    }
}

/// The register of provisions to third parties (R-TPP-2): each one recorded with recipient, date, person, items and
/// its basis — a standing consent or a named legal ground — and refused (and audited) for a person who had provision
/// or every use stopped. Records are kept three years (Rules Art. 21(3)), past the person's erasure (they name no
/// content), appear in the person's disclosure and in a "disclosure of provision records" request, and are removed
/// by housekeeping when their time is over.
public struct ProvisionRegister: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Migration 18.
    public static let migration = Migration(
        version: 18,
        name: "provision-records",
        portable: [
            """
            CREATE TABLE provision_records (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                recipient TEXT NOT NULL,
                provided_on TEXT NOT NULL,
                items TEXT NOT NULL,
                basis TEXT NOT NULL,
                recorded_by TEXT NOT NULL,
                created_at {timestamp} NOT NULL,
                keep_until TEXT NOT NULL
            )
            """,
            "CREATE INDEX provision_records_subject ON provision_records (subject_id)",
            "CREATE INDEX provision_records_keep ON provision_records (keep_until)",
        ]
    )

    /// How long a record is kept after the provision.
    public static let keptYears = 3

    /// Records a provision of `subjectID`'s `items` to `recipient` on `providedOn`, after checking it; audited. A
    /// person who had provision (or every use) stopped is refused, and the refusal is audited too.
    public func record(
        subjectID: String,
        recipient: String,
        providedOn: LocalDate,
        items: [String],
        basis: ProvisionBasis,
        by actor: String,
        policy: Policy,
        today: LocalDate,
        at now: Date = Date()
    ) async throws -> ProvisionRecord {
        let recipient = recipient.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(recipient.count), !recipient.contains(where: \.isNewline) else { throw ProvisionError.recipient }
        let items = Array(Set(items)).sorted()
        guard !items.isEmpty else { throw ProvisionError.noItems }
        if let unknown = items.first(where: { policy.field(id: $0) == nil }) { throw ProvisionError.unknownItem(unknown) }
        guard providedOn.dayNumber <= today.dayNumber, providedOn.dayNumber >= today.dayNumber - 3 * 366 else { throw ProvisionError.date }
        let kind = database.kind
        let record = ProvisionRecord(
            id: RecordID.make(at: now),
            subjectID: subjectID,
            recipient: recipient,
            providedOn: providedOn,
            items: items,
            basis: basis,
            recordedBy: actor,
            createdAt: now,
            keepUntil: providedOn.adding(years: Self.keptYears)
        )
        let refused: Bool = try await database.transaction { db in
            guard try await db.select().column("id").from("subjects").where("id", .equal, subjectID).first() != nil else {
                throw ProvisionError.unknownPerson
            }
            let stopped =
                try await db.select().column("purpose_id").from("suspensions").where("subject_id", .equal, subjectID)
                .where("purpose_id", .in, [SubjectRights.provisionPurpose, SubjectRights.allPurposes]).first() != nil
            if stopped { return true }
            if case let .consent(consentID) = basis {
                // The answer named must be this person's, granted, and still their latest for its purpose.
                let row = try await db.raw(
                    """
                    SELECT c.granted AS granted FROM consents c
                    WHERE c.id = \(bind: consentID) AND c.subject_id = \(bind: subjectID)
                    AND \(unsafeRaw: PurposeConsents.isLatestAnswer("c"))
                    """
                ).first()
                guard let row, try row.decode(column: "granted", as: Bool.self) else { throw ProvisionError.consentNotGranted }
            }
            try await db.insert(into: "provision_records")
                .columns("id", "subject_id", "recipient", "provided_on", "items", "basis", "recorded_by", "created_at", "keep_until")
                .values(
                    SQLBind(record.id),
                    SQLBind(subjectID),
                    SQLBind(recipient),
                    SQLBind(providedOn.description),
                    SQLBind(items.joined(separator: ",")),
                    SQLBind(basis.code),
                    SQLBind(actor),
                    Timestamp.bind(now, kind),
                    SQLBind(record.keepUntil.description)
                ).run()
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: "provision.record",
                    subjectID: subjectID,
                    record: "provision:\(record.id)",
                    purpose: SubjectRights.provisionPurpose,
                    detail: "basis=\(basis.code) items=\(items.joined(separator: ","))"
                ),
                in: db,
                kind: kind,
                at: now
            )
            return false
        }
        if refused {
            try await AuditLog.record(
                AuditEvent(
                    actor: actor,
                    action: "provision.refused",
                    subjectID: subjectID,
                    purpose: SubjectRights.provisionPurpose,
                    detail: "stopped"
                ),
                in: database,
                at: now
            )
            throw ProvisionError.stopped
        }
        return record
    }

    /// The person an inquiry is from, or nil when there is no such inquiry.
    public func subjectID(ofInquiry id: String) async throws -> String? {
        try await database.read { db in
            try await db.select().column("subject_id").from("inquiries").where("id", .equal, id).first(decodingColumn: "subject_id", as: String.self)
        }
    }

    /// The person's provision records, oldest first.
    public func records(subjectID: String) async throws -> [ProvisionRecord] {
        let kind = database.kind
        return try await database.read { db in
            try await db.select().columns("*").from("provision_records").where("subject_id", .equal, subjectID)
                .orderBy("provided_on").orderBy("id").all()
                .map { try Self.record(from: $0, kind) }
        }
    }

    /// The person's standing consents (their latest answer for a purpose, granted), which a provision may rest on.
    public func standingConsents(subjectID: String) async throws -> [(id: String, purpose: String, givenAt: Date)] {
        let kind = database.kind
        return try await database.read { db in
            try await db.raw(
                """
                SELECT c.id AS id, c.purpose_id AS purpose_id, c.created_at AS created_at FROM consents c
                WHERE c.subject_id = \(bind: subjectID) AND c.granted = \(bind: true as Bool)
                AND \(unsafeRaw: PurposeConsents.isLatestAnswer("c"))
                ORDER BY c.purpose_id
                """
            ).all().map {
                (
                    try $0.decode(column: "id", as: String.self), try $0.decode(column: "purpose_id", as: String.self),
                    try Timestamp.decode($0, column: "created_at", kind)
                )
            }
        }
    }

    static func record(from row: any SQLRow, _ kind: SQLDialectKind) throws -> ProvisionRecord {
        let basisCode = try row.decode(column: "basis", as: String.self)
        guard let providedOn = LocalDate(iso: try row.decode(column: "provided_on", as: String.self)),
            let keepUntil = LocalDate(iso: try row.decode(column: "keep_until", as: String.self)),
            let basis = ProvisionBasis(code: basisCode)
        else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "a provision record is malformed")) }
        return ProvisionRecord(
            id: try row.decode(column: "id", as: String.self),
            subjectID: try row.decode(column: "subject_id", as: String.self),
            recipient: try row.decode(column: "recipient", as: String.self),
            providedOn: providedOn,
            items: try row.decode(column: "items", as: String.self).split(separator: ",").map(String.init),
            basis: basis,
            recordedBy: try row.decode(column: "recorded_by", as: String.self),
            createdAt: try Timestamp.decode(row, column: "created_at", kind),
            keepUntil: keepUntil
        )
    }
}
