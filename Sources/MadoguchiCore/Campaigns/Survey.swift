import Crypto
import Foundation
import SQLKit

/// One question of a survey campaign.
public struct SurveyQuestion: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// One of the choices.
        case single
        /// Any of the choices.
        case multiple
        /// Free text.
        case text
    }

    public let kind: Kind
    public let text: String
    /// The choices of a `single` or `multiple` question; empty for `text`.
    public let choices: [String]

    public init(kind: Kind, text: String, choices: [String] = []) {
        self.kind = kind
        self.text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        self.choices = choices.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}

/// A person's answer to one question: the indices of the choices they picked, or their text.
public struct SurveyResponse: Sendable, Hashable {
    public let selected: [Int]
    public let text: String

    public init(selected: [Int] = [], text: String = "") {
        self.selected = selected
        self.text = text
    }

    var isEmpty: Bool { selected.isEmpty && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
}

/// Why a survey's questions or a person's answers were refused, in both languages.
public enum SurveyError: BilingualError, Sendable, Hashable {
    case notASurvey
    /// A question slot with text but no form chosen.
    case questionKind(Int)
    case noQuestions
    case tooManyQuestions
    case questionText(Int)
    case choiceCount(Int)
    case choiceText(Int)
    case textHasChoices(Int)
    /// Answers: nothing answered, a choice that is not one, too long a text.
    case nothingAnswered
    case badChoice(Int)
    case textLength(Int)
    /// The person had the use of their data for surveys (or every use) stopped.
    case suspended

    public var text: LocalizedText {
        switch self {
        case .notASurvey: LocalizedText(ja: "質問を付けられるのはアンケートだけです", en: "only a survey can carry questions")
        case let .questionKind(n):
            LocalizedText(ja: "質問 \(n) の形式(一つ選ぶ・いくつでも選ぶ・自由記述)を選んでください", en: "choose the form of question \(n) (pick one, pick any, free text)")
        case .noQuestions: LocalizedText(ja: "アンケートには質問を一つ以上入れてください", en: "a survey needs at least one question")
        case .tooManyQuestions:
            LocalizedText(ja: "質問は \(Survey.maxQuestions) 問までです", en: "a survey has at most \(Survey.maxQuestions) questions")
        case let .questionText(n):
            LocalizedText(ja: "質問 \(n) の文は 1〜200 文字にしてください", en: "question \(n) must be 1 to 200 characters")
        case let .choiceCount(n):
            LocalizedText(
                ja: "質問 \(n) の選択肢は 2〜\(Survey.maxChoices) 個にしてください(1 行に 1 つ)",
                en: "question \(n) needs 2 to \(Survey.maxChoices) choices (one per line)"
            )
        case let .choiceText(n):
            LocalizedText(
                ja: "質問 \(n) の選択肢は、それぞれ 100 文字以内にし、重複させないでください",
                en: "each choice of question \(n) must be at most 100 characters and different from the others"
            )
        case let .textHasChoices(n):
            LocalizedText(ja: "質問 \(n) は自由記述なので、選択肢は入れないでください", en: "question \(n) is free text and takes no choices")
        case .nothingAnswered: LocalizedText(ja: "少なくとも一つの質問にお答えください", en: "please answer at least one question")
        case let .badChoice(n):
            LocalizedText(ja: "質問 \(n) の回答が選択肢にありません", en: "the answer to question \(n) is not one of its choices")
        case let .textLength(n):
            LocalizedText(
                ja: "質問 \(n) の回答は \(Survey.maxTextLength) 文字以内にしてください",
                en: "the answer to question \(n) must be at most \(Survey.maxTextLength) characters"
            )
        case .suspended:
            LocalizedText(
                ja: "ご請求により、アンケートのための個人データの利用を停止しているため、回答をお受けできません",
                en: "You asked us to stop using your data for surveys, so we cannot take answers from you"
            )
        }
    }
}

/// Surveys (R-PUR-5): a campaign of kind `survey` carries questions; each recipient's mail links a page of their own
/// (a signed token, like the unsubscribe link); the answers are kept sealed under the person's key for the purpose
/// `surveys`, appear in their disclosure and go with their erasure. Staff see counts per choice (`survey_tallies`,
/// kept in the same transaction as the answer, naming no one); free text only through the purpose guard.
public enum Survey {
    /// The purpose a survey's answers are kept and used for; the policy must declare it to send a survey.
    public static let purposeID = "surveys"
    public static let maxQuestions = 5
    public static let maxChoices = 10
    public static let maxTextLength = 1_000

    /// Migration 16: the questions of a campaign, the sealed answers (one per person and survey) and the counts.
    public static let migration = Migration(
        version: 16,
        name: "surveys",
        portable: [
            "ALTER TABLE campaigns ADD COLUMN questions TEXT",
            """
            CREATE TABLE survey_answers (
                campaign_id TEXT NOT NULL REFERENCES campaigns (id),
                subject_id TEXT NOT NULL,
                sealed {bytes} NOT NULL,
                policy_version TEXT NOT NULL,
                created_at {timestamp} NOT NULL,
                PRIMARY KEY (campaign_id, subject_id)
            )
            """,
            "CREATE INDEX survey_answers_subject ON survey_answers (subject_id)",
            """
            CREATE TABLE survey_tallies (
                campaign_id TEXT NOT NULL REFERENCES campaigns (id),
                question INTEGER NOT NULL,
                choice INTEGER NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (campaign_id, question, choice)
            )
            """,
        ]
    )

    /// The first thing wrong with `questions` as a survey's, or nil.
    public static func problem(in questions: [SurveyQuestion]) -> SurveyError? {
        guard !questions.isEmpty else { return .noQuestions }
        guard questions.count <= maxQuestions else { return .tooManyQuestions }
        for (index, question) in questions.enumerated() {
            let n = index + 1
            guard (1...200).contains(question.text.count) else { return .questionText(n) }
            switch question.kind {
            case .text:
                guard question.choices.isEmpty else { return .textHasChoices(n) }
            case .single, .multiple:
                guard (2...maxChoices).contains(question.choices.count) else { return .choiceCount(n) }
                guard question.choices.allSatisfy({ $0.count <= 100 }), Set(question.choices).count == question.choices.count else {
                    return .choiceText(n)
                }
            }
        }
        return nil
    }

    /// The first thing wrong with `responses` as answers to `questions`, or nil.
    public static func problem(in responses: [SurveyResponse], to questions: [SurveyQuestion]) -> SurveyError? {
        guard responses.count == questions.count, responses.contains(where: { !$0.isEmpty }) else { return .nothingAnswered }
        for (index, (question, response)) in zip(questions, responses).enumerated() {
            let n = index + 1
            switch question.kind {
            case .text:
                guard response.selected.isEmpty else { return .badChoice(n) }
                guard response.text.count <= maxTextLength else { return .textLength(n) }
            case .single, .multiple:
                guard response.text.isEmpty, response.selected.allSatisfy({ question.choices.indices.contains($0) }),
                    Set(response.selected).count == response.selected.count,
                    question.kind == .multiple || response.selected.count <= 1
                else { return .badChoice(n) }
            }
        }
        return nil
    }

    static func encode(_ questions: [SurveyQuestion]) throws -> String {
        String(decoding: try JSONEncoder().encode(questions), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> [SurveyQuestion] {
        try JSONDecoder().decode([SurveyQuestion].self, from: Data(text.utf8))
    }

    /// A person's answers as kept (sealed): each question with the words of the choices they picked or their text,
    /// so that their disclosure reads on its own.
    public struct AnswerItem: Sendable, Hashable, Codable {
        public let question: String
        public let choices: [String]
        public let text: String?
    }

    static func items(_ responses: [SurveyResponse], to questions: [SurveyQuestion]) -> [AnswerItem] {
        zip(questions, responses).map { question, response in
            AnswerItem(
                question: question.text,
                choices: response.selected.sorted().map { question.choices[$0] },
                text: question.kind == .text && !response.isEmpty ? response.text : nil
            )
        }
    }

    static func sealContext(campaignID: String, subjectID: String) -> String { "survey/\(campaignID)/\(subjectID)" }

    /// The token of a recipient's survey link, signed like the unsubscribe link under its own label.
    public static func token(campaignID: String, subjectID: String, key: SymmetricKey) -> String {
        CampaignDesk.signedToken(label: "survey", campaignID: campaignID, subjectID: subjectID, key: key)
    }

    /// The campaign and person a survey token names, when this server made it.
    public static func verify(token: String, key: SymmetricKey) -> (campaignID: String, subjectID: String)? {
        CampaignDesk.verify(token: token, label: "survey", key: key)
    }
}

/// The person's side of a survey: the page their link opens and their answer.
public struct SurveyDesk: Sendable {
    public let guardian: PurposeGuard
    public var database: Database { guardian.vault.database }

    public init(guardian: PurposeGuard) {
        self.guardian = guardian
    }

    /// What a survey link opens.
    public struct Invitation: Sendable, Hashable {
        public let campaign: Campaign
        public let subjectID: String
        /// When the person answered, if they have.
        public let answeredAt: Date?
    }

    /// The survey and person `token` names — a survey this server mailed to that person, who is still there — or nil.
    public func invitation(token: String, key: SymmetricKey) async throws -> Invitation? {
        guard let (campaignID, subjectID) = Survey.verify(token: token, key: key),
            let campaign = try await CampaignDesk.campaign(id: campaignID, in: database), campaign.kind == .survey
        else { return nil }
        let kind = database.kind
        let row = try await database.read { db in
            try await db.raw(
                """
                SELECT (SELECT COUNT(*) FROM subjects s WHERE s.id = r.subject_id) AS present,
                       (SELECT a.created_at FROM survey_answers a WHERE a.campaign_id = r.campaign_id AND a.subject_id = r.subject_id) AS answered_at
                FROM campaign_recipients r
                WHERE r.campaign_id = \(bind: campaignID) AND r.subject_id = \(bind: subjectID) AND r.status = 'sent'
                """
            ).first()
        }
        guard let row, try row.decode(column: "present", as: Int.self) > 0 else { return nil }
        return Invitation(campaign: campaign, subjectID: subjectID, answeredAt: try Timestamp.decodeIfPresent(row, column: "answered_at", kind))
    }

    /// What happened to an answer.
    public enum Outcome: Sendable, Hashable {
        case recorded
        /// The person had answered this survey already (at that time); nothing changed.
        case alreadyAnswered
    }

    /// Keeps the person's answers to the survey of `invitation`: sealed under their key for the purpose `surveys`,
    /// with the counts of each choice, once per person (a second answer changes nothing), audited — one transaction.
    public func answer(_ responses: [SurveyResponse], to invitation: Invitation, policy: Policy, at now: Date = Date()) async throws -> Outcome {
        let campaign = invitation.campaign
        guard policy.purpose(id: Survey.purposeID) != nil else { throw CampaignError.noSurveyPurpose }
        if let problem = Survey.problem(in: responses, to: campaign.questions) { throw problem }
        let suspended = try await SubjectRights.suspendedPurposes(subjectID: invitation.subjectID, in: database)
        guard !suspended.contains(Survey.purposeID), !suspended.contains(SubjectRights.allPurposes) else { throw SurveyError.suspended }
        guard let key = try await guardian.vault.keys.key(subjectID: invitation.subjectID) else { return .alreadyAnswered }
        let sealed = try SealedField.seal(
            String(decoding: try JSONEncoder().encode(Survey.items(responses, to: campaign.questions)), as: UTF8.self),
            key: key,
            context: Survey.sealContext(campaignID: campaign.id, subjectID: invitation.subjectID)
        )
        let kind = database.kind
        return try await database.transaction { db in
            guard
                try await db.raw(
                    """
                    INSERT INTO survey_answers (campaign_id, subject_id, sealed, policy_version, created_at)
                    VALUES (\(bind: campaign.id), \(bind: invitation.subjectID), \(bind: sealed), \(bind: policy.version), \(Timestamp.bind(now, kind)))
                    ON CONFLICT (campaign_id, subject_id) DO NOTHING
                    RETURNING subject_id
                    """
                ).first() != nil
            else { return .alreadyAnswered }
            for (question, response) in zip(campaign.questions.indices, responses) where !response.isEmpty {
                // A text answer counts as choice 0 ("answered").
                for choice in response.selected.isEmpty ? [0] : response.selected {
                    try await db.raw(
                        """
                        INSERT INTO survey_tallies (campaign_id, question, choice, n)
                        VALUES (\(bind: campaign.id), \(bind: question), \(bind: choice), 1)
                        ON CONFLICT (campaign_id, question, choice) DO UPDATE SET n = survey_tallies.n + 1
                        """
                    ).run()
                }
            }
            try await AuditLog.append(
                AuditEvent(
                    actor: "person",
                    action: "survey.answer",
                    subjectID: invitation.subjectID,
                    record: "campaign:\(campaign.id)",
                    purpose: Survey.purposeID
                ),
                in: db,
                kind: kind
            )
            return .recorded
        }
    }

    /// How a survey was answered: how many people, and per question the count of each choice (for a free-text
    /// question, how many wrote something). Counts name no one and read nothing sealed.
    public struct Results: Sendable, Hashable {
        public let answered: Int
        /// Per question, per choice (a text question has one count).
        public let counts: [[Int]]

        public init(answered: Int, counts: [[Int]]) {
            self.answered = answered
            self.counts = counts
        }
    }

    public func results(of campaign: Campaign) async throws -> Results {
        let (answered, rows) = try await database.read { db in
            let answered =
                try await db.raw("SELECT COUNT(*) AS n FROM survey_answers WHERE campaign_id = \(bind: campaign.id)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            let rows = try await db.select().columns("question", "choice", "n").from("survey_tallies").where("campaign_id", .equal, campaign.id).all()
            return (answered, rows)
        }
        var counts = campaign.questions.map { question in Array(repeating: 0, count: question.kind == .text ? 1 : question.choices.count) }
        for row in rows {
            let (question, choice) = (try row.decode(column: "question", as: Int.self), try row.decode(column: "choice", as: Int.self))
            guard counts.indices.contains(question), counts[question].indices.contains(choice) else { continue }
            counts[question][choice] = try row.decode(column: "n", as: Int.self)
        }
        return Results(answered: answered, counts: counts)
    }
}
