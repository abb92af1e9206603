import Foundation
import SQLKit

/// A record the privacy officer keeps about a contractor on the console (R-OUT-1): the assessment of its protection
/// before it was chosen, a confidentiality agreement signed (and when it ends), a supervision review and what it
/// found. The policy file declares each contractor and its first agreement and review; these records add to it.
public struct ContractorRecord: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case assessment
        case agreement
        case review

        public var text: LocalizedText {
            switch self {
            case .assessment: LocalizedText(ja: "選定前の評価", en: "Assessment before selection")
            case .agreement: LocalizedText(ja: "秘密保持契約", en: "Confidentiality agreement")
            case .review: LocalizedText(ja: "監督のための見直し", en: "Supervision review")
            }
        }
    }

    /// The outcome: for an assessment `suitable` or `unsuitable`, for a review `no-findings` or `findings`; an
    /// agreement has none.
    public enum Result: String, Sendable, Hashable, CaseIterable {
        case suitable
        case unsuitable
        case noFindings = "no-findings"
        case findings

        public var text: LocalizedText {
            switch self {
            case .suitable: LocalizedText(ja: "適切", en: "Suitable")
            case .unsuitable: LocalizedText(ja: "不適切", en: "Not suitable")
            case .noFindings: LocalizedText(ja: "指摘なし", en: "No findings")
            case .findings: LocalizedText(ja: "指摘あり", en: "Findings")
            }
        }
    }

    public let id: String
    public let contractorID: String
    public let kind: Kind
    /// The day of the assessment or review, or the day the agreement was signed.
    public let on: LocalDate
    /// The day an agreement ends.
    public let until: LocalDate?
    public let result: Result?
    public let notes: String
    public let recordedBy: String
    public let createdAt: Date
}

/// Why a contractor record was refused, in both languages.
public enum ContractorRecordError: BilingualError, Sendable, Hashable {
    case unknownContractor
    case kind
    case date
    case until
    case result
    case notesRequired
    case notesTooLong

    public var text: LocalizedText {
        switch self {
        case .unknownContractor: LocalizedText(ja: "その委託先はポリシーにありません", en: "there is no such contractor in the policy")
        case .kind: LocalizedText(ja: "記録の種類を選んでください", en: "choose what to record")
        case .date: LocalizedText(ja: "日付は、今日から 10 年前までの日(YYYY-MM-DD)にしてください", en: "the date must be a day within the last ten years (YYYY-MM-DD)")
        case .until:
            LocalizedText(
                ja: "契約の終わる日(YYYY-MM-DD)を、締結日より後の日で入力してください",
                en: "give the day the agreement ends (YYYY-MM-DD), after the day it was signed"
            )
        case .result: LocalizedText(ja: "結果を選んでください", en: "choose the result")
        case .notesRequired: LocalizedText(ja: "指摘の内容を記入してください", en: "describe the findings")
        case .notesTooLong: LocalizedText(ja: "メモは 4,000 文字以内にしてください", en: "notes can be at most 4,000 characters")
        }
    }
}

/// Where a contractor stands: the policy file's dates with the console's records on top.
public struct ContractorStanding: Sendable, Hashable {
    public let contractor: Contractor
    public let ndaSigned: LocalDate
    public let ndaExpires: LocalDate
    public let lastReview: LocalDate
    /// The latest assessment, if one was recorded.
    public let assessment: ContractorRecord?
    /// Every console record, newest first.
    public let records: [ContractorRecord]
}

/// The console's records about contractors (R-OUT-1), audited, and what they change in the standing of each.
public struct ContractorRegister: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    public static let migration = Migration(
        version: 22,
        name: "contractor records",
        portable: [
            """
            CREATE TABLE contractor_records (
                id TEXT PRIMARY KEY,
                contractor_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                on_date TEXT NOT NULL,
                until_date TEXT,
                result TEXT,
                notes TEXT NOT NULL,
                recorded_by TEXT NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX contractor_records_contractor ON contractor_records (contractor_id, on_date)",
        ]
    )

    public static let notesLimit = 4_000

    /// Records what the form says about `contractorID`: `kind`, `on`, `until` (agreements), `result` (assessments,
    /// reviews) and `notes` (required when a review has findings).
    public func record(
        contractorID: String,
        kind kindText: String,
        on onText: String,
        until untilText: String,
        result resultText: String,
        notes: String,
        policy: Policy,
        actor: String,
        at now: Date = Date()
    ) async throws -> ContractorRecord {
        guard policy.contractors.contains(where: { $0.id == contractorID }) else { throw ContractorRecordError.unknownContractor }
        guard let kind = ContractorRecord.Kind(rawValue: kindText) else { throw ContractorRecordError.kind }
        let today = LocalDate(japanAt: now)
        guard let on = LocalDate(iso: onText.trimmingCharacters(in: .whitespaces)), on <= today, on >= today.adding(years: -10) else {
            throw ContractorRecordError.date
        }
        var until: LocalDate?
        var result: ContractorRecord.Result?
        switch kind {
        case .agreement:
            guard let end = LocalDate(iso: untilText.trimmingCharacters(in: .whitespaces)), end > on else { throw ContractorRecordError.until }
            until = end
        case .assessment:
            guard let value = ContractorRecord.Result(rawValue: resultText), value == .suitable || value == .unsuitable else {
                throw ContractorRecordError.result
            }
            result = value
        case .review:
            guard let value = ContractorRecord.Result(rawValue: resultText), value == .noFindings || value == .findings else {
                throw ContractorRecordError.result
            }
            result = value
        }
        let text = notes.trimmingCharacters(in: .whitespacesAndNewlines)
        if result == .findings && text.isEmpty { throw ContractorRecordError.notesRequired }
        if text.count > Self.notesLimit { throw ContractorRecordError.notesTooLong }
        let record = ContractorRecord(
            id: RecordID.make(at: now),
            contractorID: contractorID,
            kind: kind,
            on: on,
            until: until,
            result: result,
            notes: text,
            recordedBy: actor,
            createdAt: now
        )
        let dbKind = database.kind
        let (ends, outcome) = (until, result)
        try await database.transaction { db in
            try await db.insert(into: "contractor_records")
                .columns("id", "contractor_id", "kind", "on_date", "until_date", "result", "notes", "recorded_by", "created_at")
                .values(
                    SQLBind(record.id),
                    SQLBind(contractorID),
                    SQLBind(kind.rawValue),
                    SQLBind(on.description),
                    SQLBind(ends?.description),
                    SQLBind(outcome?.rawValue),
                    SQLBind(text),
                    SQLBind(actor),
                    Timestamp.bind(now, dbKind)
                )
                .run()
            try await AuditLog.append(
                [
                    (
                        AuditEvent(
                            actor: actor,
                            action: "contractor.record",
                            record: "contractor:\(contractorID)",
                            detail: "kind=\(kind.rawValue) on=\(on)" + (ends.map { " until=\($0)" } ?? "")
                                + (outcome.map { " result=\($0.rawValue)" } ?? "")
                        ), now
                    )
                ],
                in: db,
                kind: dbKind
            )
        }
        return record
    }

    /// Every record, newest first.
    public func records() async throws -> [ContractorRecord] {
        let kind = database.kind
        return try await database.read { db in
            try await db.select().columns("*").from("contractor_records").orderBy("on_date", .descending).orderBy("created_at", .descending).all()
                .compactMap { row in
                    guard let recordKind = ContractorRecord.Kind(rawValue: try row.decode(column: "kind", as: String.self)),
                        let on = LocalDate(iso: try row.decode(column: "on_date", as: String.self))
                    else { return nil }
                    return ContractorRecord(
                        id: try row.decode(column: "id", as: String.self),
                        contractorID: try row.decode(column: "contractor_id", as: String.self),
                        kind: recordKind,
                        on: on,
                        until: try row.decode(column: "until_date", as: String?.self).flatMap(LocalDate.init(iso:)),
                        result: try row.decode(column: "result", as: String?.self).flatMap(ContractorRecord.Result.init(rawValue:)),
                        notes: try row.decode(column: "notes", as: String.self),
                        recordedBy: try row.decode(column: "recorded_by", as: String.self),
                        createdAt: try Timestamp.decode(row, column: "created_at", kind)
                    )
                }
        }
    }

    /// Each contractor of `policy` with the records about it applied.
    public static func standings(_ policy: Policy, records: [ContractorRecord]) -> [ContractorStanding] {
        policy.contractors.map { contractor in
            let own = records.filter { $0.contractorID == contractor.id }.sorted { $0.on != $1.on ? $0.on > $1.on : $0.createdAt > $1.createdAt }
            let agreement = own.first { $0.kind == .agreement && $0.on >= contractor.ndaSigned }
            let review = own.first { $0.kind == .review }
            return ContractorStanding(
                contractor: contractor,
                ndaSigned: agreement?.on ?? contractor.ndaSigned,
                ndaExpires: agreement?.until ?? contractor.ndaExpires,
                lastReview: max(review?.on ?? contractor.lastReview, contractor.lastReview),
                assessment: own.first { $0.kind == .assessment },
                records: own
            )
        }
    }
}
