import Foundation
import SQLKit

/// What a campaign is: a mail magazine (news, offers, advertising included), a notice about a service, a survey
/// (questions the person may answer on a page of their own, `Survey`), or the notice of a change of purpose (R-VER-2):
/// it goes to the people whose data the change reaches and who have not answered under the current version, asking
/// them to give or refuse consent on `/me`.
public enum CampaignKind: String, Sendable, Hashable, Codable, CaseIterable {
    case magazine
    case notice
    case survey
    case changeNotice = "change-notice"
}

/// Where a campaign is: written, being sent, or done.
public enum CampaignStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case draft
    case sending
    case sent
}

/// Mail the operator sends to people who agreed to it (R-PUR-5, R-MAIL-1). Its audience is what the purpose guard
/// allows for its purpose — a purpose that needs consent — among the people who wrote to one of its services.
public struct Campaign: Sendable, Hashable {
    public let id: String
    public let kind: CampaignKind
    public let purposeID: String
    public let services: [String]
    public let subject: String
    public let body: String
    /// A survey's questions; empty for other kinds.
    public let questions: [SurveyQuestion]
    public let status: CampaignStatus
    public let createdBy: String
    public let createdAt: Date
}

/// How far a campaign's sending is.
public struct CampaignProgress: Sendable, Hashable {
    public var queued = 0
    /// Written into the outbox (being delivered, or delivered).
    public var sent = 0
    /// Withdrawn, suppressed, suspended or refused by the guard between the start and their turn.
    public var skipped = 0
    /// Of those sent, the messages the outbox gave up on (refused for good, or out of attempts).
    public var failed = 0

    public init(queued: Int = 0, sent: Int = 0, skipped: Int = 0, failed: Int = 0) {
        (self.queued, self.sent, self.skipped, self.failed) = (queued, sent, skipped, failed)
    }
}

/// Why a campaign could not be written or started, in both languages.
public enum CampaignError: BilingualError, Sendable, Hashable {
    case purposeNotConsentBased(String)
    /// A change notice names a purpose that the current version adds to items given under an older stored version.
    case purposeNotChanged(String)
    case noServices
    case unknownService(String)
    case subjectLength
    case bodyLength
    case notDraft
    /// A survey's answers are kept for the purpose `surveys`, which the policy must declare.
    case noSurveyPurpose
    case questions(SurveyError)

    public var text: LocalizedText {
        switch self {
        case let .purposeNotConsentBased(id):
            LocalizedText(
                ja: "利用目的 '\(id)' は、同意をいただいた方だけに使う目的(requires_consent)ではありません",
                en: "purpose '\(id)' is not one used only with consent (requires_consent)"
            )
        case let .purposeNotChanged(id):
            LocalizedText(
                ja: "利用目的 '\(id)' は、以前の版で集めた項目に対して現在の版で新しく加わった目的ではありません",
                en: "purpose '\(id)' is not one the current version adds to items collected under an earlier version"
            )
        case .noServices: LocalizedText(ja: "対象のサービスを一つ以上選んでください", en: "choose at least one service")
        case let .unknownService(id): LocalizedText(ja: "サービス '\(id)' はありません", en: "there is no service '\(id)'")
        case .subjectLength: LocalizedText(ja: "件名は 1〜200 文字にしてください", en: "the subject must be 1 to 200 characters")
        case .bodyLength: LocalizedText(ja: "本文は 1〜20,000 文字にしてください", en: "the body must be 1 to 20,000 characters")
        case .notDraft: LocalizedText(ja: "このキャンペーンはすでに送信を始めています", en: "this campaign has already started")
        case .noSurveyPurpose:
            LocalizedText(
                ja: "アンケートの回答は利用目的 '\(Survey.purposeID)' のために保存します。ポリシーファイルにこの目的を定めてください",
                en: "survey answers are kept for the purpose '\(Survey.purposeID)'; declare it in the policy file"
            )
        case let .questions(error): error.text
        }
    }
}

/// Writes, previews and starts campaigns; `CampaignDesk+Delivery` sends them and handles unsubscribes.
public struct CampaignDesk: Sendable {
    public let guardian: PurposeGuard
    public var database: Database { guardian.vault.database }

    public init(guardian: PurposeGuard) {
        self.guardian = guardian
    }

    /// Migration 15: campaigns, their recipients (a person's rows go with erasure) and the suppression list (by the
    /// keyed blind index of the address: an unsubscribe holds for that address, whatever it sends later).
    public static let migration = Migration(
        version: 15,
        name: "campaigns",
        portable: [
            """
            CREATE TABLE campaigns (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                purpose_id TEXT NOT NULL,
                services TEXT NOT NULL,
                subject TEXT NOT NULL,
                body TEXT NOT NULL,
                status TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at {timestamp} NOT NULL,
                started_at {timestamp},
                finished_at {timestamp}
            )
            """,
            """
            CREATE TABLE campaign_recipients (
                campaign_id TEXT NOT NULL REFERENCES campaigns (id),
                subject_id TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT,
                outbox_id TEXT,
                updated_at {timestamp} NOT NULL,
                PRIMARY KEY (campaign_id, subject_id)
            )
            """,
            "CREATE INDEX campaign_recipients_status ON campaign_recipients (campaign_id, status)",
            "CREATE INDEX campaign_recipients_subject ON campaign_recipients (subject_id)",
            """
            CREATE TABLE suppressions (
                email_index TEXT NOT NULL,
                purpose_id TEXT NOT NULL,
                source TEXT NOT NULL,
                created_at {timestamp} NOT NULL,
                PRIMARY KEY (email_index, purpose_id)
            )
            """,
        ]
    )

    /// Writes a draft after checking it against `policy`; audited.
    public func create(
        kind: CampaignKind,
        purposeID: String,
        services: [String],
        subject: String,
        body: String,
        questions: [SurveyQuestion] = [],
        by actor: String,
        policy: Policy,
        at now: Date = Date()
    ) async throws -> Campaign {
        if kind == .changeNotice {
            guard try await !changedFields(purposeID: purposeID, policy: policy).isEmpty else { throw CampaignError.purposeNotChanged(purposeID) }
        } else {
            guard let purpose = policy.purpose(id: purposeID), purpose.requiresConsent else {
                throw CampaignError.purposeNotConsentBased(purposeID)
            }
        }
        let services = Array(Set(services)).sorted()
        guard !services.isEmpty else { throw CampaignError.noServices }
        if let unknown = services.first(where: { policy.service(id: $0) == nil }) { throw CampaignError.unknownService(unknown) }
        let subject = subject.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(subject.count), !subject.contains(where: \.isNewline) else { throw CampaignError.subjectLength }
        guard (1...20_000).contains(body.count) else { throw CampaignError.bodyLength }
        if kind == .survey {
            guard policy.purpose(id: Survey.purposeID) != nil else { throw CampaignError.noSurveyPurpose }
            if let problem = Survey.problem(in: questions) { throw CampaignError.questions(problem) }
        } else if !questions.isEmpty {
            throw CampaignError.questions(.notASurvey)
        }
        let campaign = Campaign(
            id: RecordID.make(at: now),
            kind: kind,
            purposeID: purposeID,
            services: services,
            subject: subject,
            body: body,
            questions: questions,
            status: .draft,
            createdBy: actor,
            createdAt: now
        )
        var writes = WriteSet(at: now)
        writes.insert(
            into: "campaigns",
            columns: ["id", "kind", "purpose_id", "services", "subject", "body", "questions", "status", "created_by", "created_at"],
            values: [
                SQLBind(campaign.id), SQLBind(kind.rawValue), SQLBind(purposeID), SQLBind(services.joined(separator: ",")),
                SQLBind(subject), SQLBind(body), SQLBind(questions.isEmpty ? nil : try Survey.encode(questions)),
                SQLBind(CampaignStatus.draft.rawValue), SQLBind(actor), Timestamp.bind(now, database.kind),
            ]
        )
        writes.audit(
            AuditEvent(
                actor: actor,
                action: "campaign.create",
                record: "campaign:\(campaign.id)",
                purpose: purposeID,
                detail: "kind=\(kind.rawValue)"
            )
        )
        try await database.commit(writes)
        return campaign
    }

    /// Every campaign, newest first.
    public func list() async throws -> [Campaign] { try await Self.list(in: database) }

    /// Every campaign in `database`, newest first (at most 500).
    public static func list(in database: Database) async throws -> [Campaign] {
        let kind = database.kind
        return try await database.read { db in
            try await db.select().columns("*").from("campaigns").orderBy("created_at", .descending).orderBy("id", .descending)
                .limit(500).all().map { try Self.campaign(from: $0, kind) }
        }
    }

    /// The campaign `id`, or nil.
    public func campaign(id: String) async throws -> Campaign? { try await Self.campaign(id: id, in: database) }

    /// The campaign `id` in `database`, or nil.
    public static func campaign(id: String, in database: Database) async throws -> Campaign? {
        let kind = database.kind
        return try await database.read { db in
            try await db.select().columns("*").from("campaigns").where("id", .equal, id).first().map { try Self.campaign(from: $0, kind) }
        }
    }

    /// The people a campaign for `purposeID` and `services` reaches now: their latest answer for the purpose is
    /// consent, they confirmed an inquiry to one of the services, they have not had it (or every use) stopped, and
    /// their address is not suppressed for it. Erased people have no subject left. The purpose guard checks each one
    /// again when their mail is written.
    ///
    /// Driven from the granted answers (an anti-join: no later answer for the same purpose) rather than from every
    /// subject with a "latest answer" subquery each — on PostgreSQL the correlated form ran once per subject, 3.4 ×
    /// slower over a million people (README, campaign audience).
    public func audience(purposeID: String, services: [String]) async throws -> [String] {
        guard !services.isEmpty else { return [] }
        return try await database.read { db in
            try await db.raw(
                """
                SELECT s.id AS id FROM consents c
                JOIN subjects s ON s.id = c.subject_id
                WHERE c.purpose_id = \(bind: purposeID) AND c.granted = \(bind: true as Bool)
                AND \(unsafeRaw: PurposeConsents.isLatestAnswer("c"))
                AND EXISTS (
                    SELECT 1 FROM inquiries i
                    WHERE i.subject_id = s.id AND i.confirmed_at IS NOT NULL AND i.service_id IN (\(binds: services))
                )
                AND NOT EXISTS (
                    SELECT 1 FROM suspensions p
                    WHERE p.subject_id = s.id AND (p.purpose_id = \(bind: purposeID) OR p.purpose_id = \(bind: SubjectRights.allPurposes))
                )
                AND NOT EXISTS (
                    SELECT 1 FROM suppressions x WHERE x.email_index = s.email_index AND x.purpose_id = \(bind: purposeID)
                )
                ORDER BY s.id
                """
            ).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// The people `campaign` reaches now: the consenting audience of its purpose, or for a change notice the people
    /// the change reaches.
    public func audience(of campaign: Campaign) async throws -> [String] {
        campaign.kind == .changeNotice
            ? try await changeAudience(purposeID: campaign.purposeID, services: campaign.services)
            : try await audience(purposeID: campaign.purposeID, services: campaign.services)
    }

    /// The purposes of `policy` that a change notice can be about.
    public func changedPurposes(policy: Policy) async throws -> [String] {
        var changed: [String] = []
        for purpose in policy.purposes where try await !changedFields(purposeID: purpose.id, policy: policy).isEmpty {
            changed.append(purpose.id)
        }
        return changed
    }

    /// Per older stored version, the items given under it that the current version (`policy`) newly uses for
    /// `purposeID` — a change of purpose for data collected under that version. Empty when there is none.
    func changedFields(purposeID: String, policy: Policy) async throws -> [String: [String]] {
        var changed: [String: [String]] = [:]
        for version in try await guardian.versions.versions() where version.id != policy.version {
            guard let older = try await guardian.versions.policy(version: version.id) else { continue }
            if let change = PolicyDiff.between(older, policy).purposeChanges.first(where: { $0.purpose == purposeID }), !change.fields.isEmpty {
                changed[version.id] = change.fields
            }
        }
        return changed
    }

    /// The people a notice of the change of `purposeID` is for: they confirmed an inquiry to one of the services under
    /// an older version, with an item the current version newly uses for the purpose; they have not answered about it
    /// under the current version; they have not had it (or every use) stopped, and their address is not suppressed.
    func changeAudience(purposeID: String, services: [String]) async throws -> [String] {
        let changed = try await changedFields(purposeID: purposeID, policy: guardian.current)
        guard !changed.isEmpty else { return [] }
        let current = guardian.current.version
        return try await database.read { db in
            var reached: Set<String> = []
            for (version, fields) in changed {
                let ids = try await db.raw(
                    """
                    SELECT DISTINCT s.id AS id FROM subjects s
                    JOIN inquiries i ON i.subject_id = s.id
                    JOIN inquiry_fields f ON f.inquiry_id = i.id
                    WHERE i.confirmed_at IS NOT NULL AND i.service_id IN (\(binds: services))
                    AND i.policy_version = \(bind: version) AND f.field_id IN (\(binds: fields))
                    AND NOT EXISTS (
                        SELECT 1 FROM consents c
                        WHERE c.subject_id = s.id AND c.purpose_id = \(bind: purposeID) AND c.policy_version = \(bind: current)
                    )
                    AND NOT EXISTS (
                        SELECT 1 FROM suspensions p
                        WHERE p.subject_id = s.id AND (p.purpose_id = \(bind: purposeID) OR p.purpose_id = \(bind: SubjectRights.allPurposes))
                    )
                    AND NOT EXISTS (
                        SELECT 1 FROM suppressions x WHERE x.email_index = s.email_index AND x.purpose_id = \(bind: purposeID)
                    )
                    """
                ).all().map { try $0.decode(column: "id", as: String.self) }
                reached.formUnion(ids)
            }
            return reached.sorted()
        }
    }

    /// Starts sending a draft: its audience as of now is queued, in one transaction with the status change (a second
    /// start, from anyone, finds it started). Returns how many were queued.
    public func start(id: String, by actor: String, at now: Date = Date()) async throws -> Int {
        guard let campaign = try await campaign(id: id) else { throw CampaignError.notDraft }
        let audience = try await audience(of: campaign)
        let kind = database.kind
        return try await database.transaction { db in
            guard
                try await db.update("campaigns").set("status", to: CampaignStatus.sending.rawValue)
                    .set("started_at", to: Timestamp.bind(now, kind))
                    .where("id", .equal, id).where("status", .equal, CampaignStatus.draft.rawValue).returning("id").first() != nil
            else { throw CampaignError.notDraft }
            for chunk in stride(from: 0, to: audience.count, by: 500) {
                var insert = db.insert(into: "campaign_recipients").columns("campaign_id", "subject_id", "status", "updated_at")
                for subjectID in audience[chunk..<min(chunk + 500, audience.count)] {
                    insert = insert.values(SQLBind(id), SQLBind(subjectID), SQLBind("queued"), Timestamp.bind(now, kind))
                }
                try await insert.run()
            }
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: "campaign.start",
                    record: "campaign:\(id)",
                    purpose: campaign.purposeID,
                    detail: "queued=\(audience.count)"
                ),
                in: db,
                kind: kind
            )
            return audience.count
        }
    }

    /// Queued, sent and skipped recipients of `id`.
    public func progress(id: String) async throws -> CampaignProgress { try await Self.progress(id: id, in: database) }

    /// Queued, sent and skipped recipients of `id` in `database`.
    public static func progress(id: String, in database: Database) async throws -> CampaignProgress {
        let rows = try await database.read { db in
            try await db.raw(
                """
                SELECT r.status AS status, COUNT(*) AS n, SUM(CASE WHEN o.status = 'failed' THEN 1 ELSE 0 END) AS failed
                FROM campaign_recipients r LEFT JOIN outbox o ON o.id = r.outbox_id
                WHERE r.campaign_id = \(bind: id) GROUP BY r.status
                """
            ).all()
        }
        var progress = CampaignProgress()
        for row in rows {
            let count = try row.decode(column: "n", as: Int.self)
            switch try row.decode(column: "status", as: String.self) {
            case "queued": progress.queued = count
            case "sent":
                progress.sent = count
                progress.failed = try row.decode(column: "failed", as: Int.self)
            default: progress.skipped += count
            }
        }
        return progress
    }

    static func campaign(from row: any SQLRow, _ kind: SQLDialectKind) throws -> Campaign {
        Campaign(
            id: try row.decode(column: "id", as: String.self),
            kind: CampaignKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .magazine,
            purposeID: try row.decode(column: "purpose_id", as: String.self),
            services: try row.decode(column: "services", as: String.self).split(separator: ",").map(String.init),
            subject: try row.decode(column: "subject", as: String.self),
            body: try row.decode(column: "body", as: String.self),
            questions: try row.decode(column: "questions", as: String?.self).map(Survey.decode) ?? [],
            status: CampaignStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .draft,
            createdBy: try row.decode(column: "created_by", as: String.self),
            createdAt: try Timestamp.decode(row, column: "created_at", kind)
        )
    }
}
