import Crypto
import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-PUR-5: surveys — questions checked when written, one answer per recipient through their own signed link, kept
/// sealed for the purpose `surveys`, counted without naming anyone, disclosed to the person and erased with them.
@Suite("Surveys")
struct SurveyTests {
    static let key = SymmetricKey(size: .bits256)
    static let questions = [
        SurveyQuestion(kind: .single, text: "ご満足いただけましたか", choices: ["はい", "いいえ"]),
        SurveyQuestion(kind: .multiple, text: "使ったサービス", choices: ["面談", "求人紹介", "書類添削"]),
        SurveyQuestion(kind: .text, text: "ご意見"),
    ]

    /// Creates, starts and delivers a survey to the people who consented; returns it with each recipient's token.
    static func sent(_ fixture: VaultFixture, emails: [String]) async throws -> (Campaign, [String: String]) {
        var people: [String] = []
        for email in emails {
            people.append(try await fixture.submitConfirmed(fixture.submission(email: email, consent: true)).subjectID)
        }
        let desk = CampaignDesk(guardian: fixture.guardian)
        let campaign = try await desk.create(
            kind: .survey,
            purposeID: "marketing",
            services: ["agent"],
            subject: "アンケートのお願い",
            body: "ご意見をお聞かせください。",
            questions: questions,
            by: "staff:1",
            policy: fixture.policy
        )
        _ = try await desk.start(id: campaign.id, by: "staff:1")
        _ = try await desk.deliver(limit: 100, policy: fixture.policy, unsubscribeKey: key, compose: CampaignTests.compose)
        var tokens: [String: String] = [:]
        for subjectID in people { tokens[subjectID] = Survey.token(campaignID: campaign.id, subjectID: subjectID, key: key) }
        return (campaign, tokens)
    }

    @Test("R-PUR-5: a survey's questions are checked when it is written, by name, and it needs the purpose `surveys`")
    func questionsChecked() async throws {
        try await VaultFixture.with(.sqlite) { fixture in
            let desk = CampaignDesk(guardian: fixture.guardian)
            func create(_ questions: [SurveyQuestion], kind: CampaignKind = .survey, policy: Policy? = nil) async throws {
                _ = try await desk.create(
                    kind: kind,
                    purposeID: "marketing",
                    services: ["agent"],
                    subject: "件名",
                    body: "本文",
                    questions: questions,
                    by: "staff:1",
                    policy: policy ?? fixture.policy
                )
            }
            let one = SurveyQuestion(kind: .single, text: "Q", choices: ["a", "b"])
            await #expect(throws: CampaignError.questions(.noQuestions)) { try await create([]) }
            await #expect(throws: CampaignError.questions(.tooManyQuestions)) { try await create(Array(repeating: one, count: 6)) }
            await #expect(throws: CampaignError.questions(.questionText(2))) {
                try await create([one, SurveyQuestion(kind: .text, text: "  ")])
            }
            await #expect(throws: CampaignError.questions(.questionText(1))) {
                try await create([SurveyQuestion(kind: .text, text: String(repeating: "問", count: 201))])
            }
            await #expect(throws: CampaignError.questions(.choiceCount(1))) {
                try await create([SurveyQuestion(kind: .single, text: "Q", choices: ["only"])])
            }
            await #expect(throws: CampaignError.questions(.choiceCount(1))) {
                try await create([SurveyQuestion(kind: .multiple, text: "Q", choices: (1...11).map { "c\($0)" })])
            }
            await #expect(throws: CampaignError.questions(.choiceText(1))) {
                try await create([SurveyQuestion(kind: .single, text: "Q", choices: ["same", "same"])])
            }
            await #expect(throws: CampaignError.questions(.textHasChoices(1))) {
                try await create([SurveyQuestion(kind: .text, text: "Q", choices: ["a"])])
            }
            await #expect(throws: CampaignError.questions(.notASurvey)) { try await create([one], kind: .magazine) }
            var withoutSurveys = fixture.policy
            withoutSurveys.purposes.removeAll { $0.id == Survey.purposeID }
            await #expect(throws: CampaignError.noSurveyPurpose) { try await create([one], policy: withoutSurveys) }

            try await create([one])
            let stored = try #require(try await desk.list().first)
            #expect(stored.kind == .survey && stored.questions == [one], "the questions are kept with the campaign")
        }
    }

    @Test(
        "R-PUR-5: a recipient answers once by their link; answers are sealed, counted, disclosed to them, read by staff only through the guard, and erased with them",
        arguments: TestDatabase.available
    )
    func answering(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let (campaign, tokens) = try await Self.sent(fixture, emails: ["a@example.jp", "b@example.jp"])
            let surveys = SurveyDesk(guardian: fixture.guardian)
            let (alice, bob) = (tokens.keys.sorted()[0], tokens.keys.sorted()[1])
            let aliceToken = try #require(tokens[alice])
            let bobToken = try #require(tokens[bob])

            // Links: only this server's, only for a survey mailed to that person.
            #expect(try await surveys.invitation(token: "nonsense", key: Self.key) == nil)
            #expect(try await surveys.invitation(token: aliceToken, key: SymmetricKey(size: .bits256)) == nil)
            let unsubscribe = CampaignDesk.unsubscribeToken(campaignID: campaign.id, subjectID: alice, key: Self.key)
            #expect(try await surveys.invitation(token: unsubscribe, key: Self.key) == nil, "an unsubscribe token opens no survey")
            let stranger = try await fixture.submitConfirmed(fixture.submission(email: "late@example.jp", consent: true)).subjectID
            #expect(
                try await surveys.invitation(token: Survey.token(campaignID: campaign.id, subjectID: stranger, key: Self.key), key: Self.key) == nil,
                "not a recipient"
            )
            let invitation = try #require(try await surveys.invitation(token: aliceToken, key: Self.key))
            #expect(invitation.answeredAt == nil && invitation.campaign.questions == Self.questions)

            // Bad answers are refused by question; nothing is kept.
            func answer(_ responses: [SurveyResponse], _ invitation: SurveyDesk.Invitation) async throws -> SurveyDesk.Outcome {
                try await surveys.answer(responses, to: invitation, policy: fixture.policy)
            }
            await #expect(throws: SurveyError.nothingAnswered) {
                _ = try await answer([SurveyResponse(), SurveyResponse(), SurveyResponse()], invitation)
            }
            await #expect(throws: SurveyError.nothingAnswered) { _ = try await answer([SurveyResponse(selected: [0])], invitation) }
            await #expect(throws: SurveyError.badChoice(1)) {
                _ = try await answer([SurveyResponse(selected: [0, 1]), SurveyResponse(), SurveyResponse()], invitation)
            }
            await #expect(throws: SurveyError.badChoice(1)) {
                _ = try await answer([SurveyResponse(selected: [-1]), SurveyResponse(), SurveyResponse()], invitation)
            }
            await #expect(throws: SurveyError.badChoice(2)) {
                _ = try await answer([SurveyResponse(), SurveyResponse(selected: [3]), SurveyResponse()], invitation)
            }
            await #expect(throws: SurveyError.badChoice(2)) {
                _ = try await answer([SurveyResponse(), SurveyResponse(selected: [1, 1]), SurveyResponse()], invitation)
            }
            await #expect(throws: SurveyError.textLength(3)) {
                _ = try await answer([SurveyResponse(), SurveyResponse(), SurveyResponse(text: String(repeating: "あ", count: 1_001))], invitation)
            }
            #expect(try await surveys.results(of: campaign).answered == 0)

            let secret = "担当の方がとても親切でした"
            let alicesAnswer = [SurveyResponse(selected: [0]), SurveyResponse(selected: [0, 2]), SurveyResponse(text: secret)]
            #expect(try await answer(alicesAnswer, invitation) == .recorded)
            #expect(try await answer(alicesAnswer, invitation) == .alreadyAnswered, "once per person")
            #expect(try await surveys.invitation(token: aliceToken, key: Self.key)?.answeredAt != nil)
            let bobs = try #require(try await surveys.invitation(token: bobToken, key: Self.key))
            #expect(try await answer([SurveyResponse(selected: [1]), SurveyResponse(selected: [0]), SurveyResponse()], bobs) == .recorded)

            // Counts, naming no one; the stored answer is sealed.
            let results = try await surveys.results(of: campaign)
            #expect(results == SurveyDesk.Results(answered: 2, counts: [[1, 1], [2, 0, 1], [1]]))
            let stored = try await fixture.data.read { db in
                try await db.select().column("sealed").from("survey_answers").all(decodingColumn: "sealed", as: Data.self)
            }
            #expect(stored.count == 2 && stored.allSatisfy { !String(decoding: $0, as: UTF8.self).contains("親切") })

            // Staff read free text only through the guard, for the purpose `surveys`, each read audited.
            let texts = try await fixture.guardian.surveyTexts(campaign: campaign, actor: "staff:1")
            #expect(texts.map(\.text) == [secret] && texts.first?.question == 2)
            // Each person's answer opened is a read of their data (Bob's too, though he wrote nothing).
            let reads = try await AuditLog.entries(in: fixture.data).filter { $0.event.action == "survey.read" }
            #expect(Set(reads.compactMap(\.event.subjectID)) == [alice, bob] && reads.allSatisfy { $0.event.purpose == Survey.purposeID })
            let rights = SubjectRights(vault: fixture.vault)
            try await rights.suspend(subjectID: alice, purpose: Survey.purposeID, actor: "test", source: "test")
            #expect(try await fixture.guardian.surveyTexts(campaign: campaign, actor: "staff:1").isEmpty, "a stopped use is not opened")
            var withoutSurveys = fixture.policy
            withoutSurveys.purposes.removeAll { $0.id == Survey.purposeID }
            let laterGuard = PurposeGuard(vault: fixture.vault, versions: fixture.guardian.versions, current: withoutSurveys)
            await #expect(throws: PurposeRefused.self) { _ = try await laterGuard.surveyTexts(campaign: campaign, actor: "staff:1") }

            // The person's disclosure has their answers, in words.
            let disclosure = try #require(try await rights.disclosure(subjectID: alice, actor: "person", source: "test"))
            #expect(disclosure.surveys.count == 1)
            let answers = try #require(disclosure.surveys.first).answers
            #expect(answers.map(\.choices) == [["はい"], ["面談", "書類添削"], []] && answers.last?.text == secret)
            #expect(disclosure.csv().contains(secret))

            // Erasure takes the answer; the counts stay, naming no one; the link opens nothing.
            _ = try await rights.erase(subjectID: alice, actor: "test", source: "test")
            let left = try await fixture.data.read { db in
                try await db.select().column("subject_id").from("survey_answers").all(decodingColumn: "subject_id", as: String.self)
            }
            #expect(left == [bob])
            #expect(try await surveys.results(of: campaign).counts == [[1, 1], [2, 0, 1], [1]])
            #expect(try await surveys.invitation(token: aliceToken, key: Self.key) == nil)
        }
    }

    @Test("R-PUR-5: answers sent twice at once are kept once and counted once", arguments: TestDatabase.available)
    func concurrentAnswers(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let (campaign, tokens) = try await Self.sent(fixture, emails: ["a@example.jp"])
            let surveys = SurveyDesk(guardian: fixture.guardian)
            let token = try #require(tokens.values.first)
            let invitation = try #require(try await surveys.invitation(token: token, key: Self.key))
            let responses = [SurveyResponse(selected: [1]), SurveyResponse(), SurveyResponse()]
            let outcomes = try await withThrowingTaskGroup(of: SurveyDesk.Outcome.self) { group in
                for _ in 0..<8 { group.addTask { try await surveys.answer(responses, to: invitation, policy: fixture.policy) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .recorded }.count == 1 && outcomes.count == 8)
            #expect(try await surveys.results(of: campaign) == SurveyDesk.Results(answered: 1, counts: [[0, 1], [0, 0, 0], [0]]))
        }
    }
}
