import Foundation

/// What happened to the data (APPI Art. 26: 漏えい、滅失若しくは毀損 — leak, loss or damage).
public enum IncidentKind: String, Sendable, Hashable, Codable, CaseIterable {
    case leak
    case loss
    case damage

    public var text: LocalizedText {
        switch self {
        case .leak: LocalizedText(ja: "漏えい", en: "Leak")
        case .loss: LocalizedText(ja: "滅失", en: "Loss")
        case .damage: LocalizedText(ja: "毀損", en: "Damage")
        }
    }
}

/// The items of a report to the Personal Information Protection Commission and of the register (Rules Art. 8(1)),
/// as staff enter them. The free texts describe the incident: people are linked separately (`IncidentRegister.link`),
/// never named here.
public struct IncidentReport: Sendable, Hashable, Codable {
    /// The day the operator became aware of it (当該事態を知った日); every deadline counts from it.
    public var foundOn: LocalDate
    public var occurredOn: LocalDate?
    public var kind: IncidentKind
    /// Only suspected so far (発生したおそれ); the duties apply all the same.
    public var suspected: Bool
    public var summary: String
    /// Policy field ids of the items concerned.
    public var items: [String]
    /// How many people are concerned (an estimate while it is being established).
    public var affected: Int
    public var cause: String
    public var secondaryHarm: String
    public var responseToPeople: String
    public var publication: String
    public var prevention: String
    public var other: String
    /// The cases that must be reported (Rules Art. 7): special-care data, possible financial harm, an unlawful
    /// purpose (an attack, theft by an insider…), more than 1,000 people.
    public var specialCare: Bool
    public var financialHarm: Bool
    public var unlawfulPurpose: Bool

    public var overThousand: Bool { affected > 1_000 }
    /// Whether the PPC must be told and the people notified (APPI Art. 26(1), (2)).
    public var reportable: Bool { specialCare || financialHarm || unlawfulPurpose || overThousand }

    /// The report deadlines, counted in calendar days from the day of awareness: the preliminary report
    /// "promptly" — shown as due from the 3rd to the 5th day — and the final report by the 30th day, the 60th for a
    /// case of unlawful purpose (Rules Art. 8(2)). Nil when the incident need not be reported.
    public var deadlines: IncidentDeadlines? {
        guard reportable else { return nil }
        return IncidentDeadlines(
            preliminaryFrom: foundOn.adding(days: 3),
            preliminaryBy: foundOn.adding(days: 5),
            finalBy: foundOn.adding(days: unlawfulPurpose ? 60 : 30)
        )
    }

    enum CodingKeys: String, CodingKey {
        case kind, suspected, summary, items, affected, cause, publication, prevention, other
        case foundOn = "found_on"
        case occurredOn = "occurred_on"
        case secondaryHarm = "secondary_harm"
        case responseToPeople = "response_to_people"
        case specialCare = "special_care"
        case financialHarm = "financial_harm"
        case unlawfulPurpose = "unlawful_purpose"
    }

    /// The longest free text accepted.
    public static let textLimit = 4_000
    public static let maximumAffected = 200_000_000
}

public struct IncidentDeadlines: Sendable, Hashable, Codable {
    public let preliminaryFrom: LocalDate
    public let preliminaryBy: LocalDate
    public let finalBy: LocalDate

    enum CodingKeys: String, CodingKey {
        case preliminaryFrom = "preliminary_from"
        case preliminaryBy = "preliminary_by"
        case finalBy = "final_by"
    }
}

/// A registered incident with what was done about it.
public struct Incident: Sendable, Hashable {
    public let id: String
    public let number: String
    public let report: IncidentReport
    public let preliminaryReportedOn: LocalDate?
    public let finalReportedOn: LocalDate?
    /// People linked to it, and how many of them were notified.
    public let linked: Int
    public let notified: Int
    public let createdBy: String
    public let createdAt: Date
    public let updatedAt: Date

    public init(
        id: String,
        number: String,
        report: IncidentReport,
        preliminaryReportedOn: LocalDate?,
        finalReportedOn: LocalDate?,
        linked: Int,
        notified: Int,
        createdBy: String,
        createdAt: Date,
        updatedAt: Date
    ) {
        (self.id, self.number, self.report) = (id, number, report)
        (self.preliminaryReportedOn, self.finalReportedOn) = (preliminaryReportedOn, finalReportedOn)
        (self.linked, self.notified, self.createdBy, self.createdAt, self.updatedAt) = (linked, notified, createdBy, createdAt, updatedAt)
    }

    /// What is late or due on `today`; empty when nothing is.
    public func flags(today: LocalDate) -> [IncidentFlag] {
        guard let deadlines = report.deadlines else { return [] }
        var flags: [IncidentFlag] = []
        // A final report filed at once covers the preliminary one.
        let preliminaryDone = preliminaryReportedOn != nil || finalReportedOn != nil
        if !preliminaryDone {
            if today > deadlines.preliminaryBy {
                flags.append(.preliminaryOverdue)
            } else if today >= deadlines.preliminaryFrom {
                flags.append(.preliminaryDue)
            }
        }
        if finalReportedOn == nil, today > deadlines.finalBy { flags.append(.finalOverdue) }
        if linked > notified { flags.append(.peopleNotNotified) }
        return flags
    }
}

public enum IncidentFlag: String, Sendable, Hashable, CaseIterable {
    case preliminaryDue = "preliminary-due"
    case preliminaryOverdue = "preliminary-overdue"
    case finalOverdue = "final-overdue"
    case peopleNotNotified = "people-not-notified"

    public var text: LocalizedText {
        switch self {
        case .preliminaryDue: LocalizedText(ja: "速報の期限が近づいています", en: "The preliminary report is due")
        case .preliminaryOverdue: LocalizedText(ja: "速報の期限を過ぎています", en: "The preliminary report is overdue")
        case .finalOverdue: LocalizedText(ja: "確報の期限を過ぎています", en: "The final report is overdue")
        case .peopleNotNotified: LocalizedText(ja: "通知していない本人がいます", en: "Some people have not been notified")
        }
    }
}

/// A problem with what was entered, by form field.
public struct IncidentProblem: Sendable, Hashable {
    public let field: String
    public let text: LocalizedText

    public init(field: String, text: LocalizedText) {
        (self.field, self.text) = (field, text)
    }
}

/// Why an action on an incident was refused.
public enum IncidentError: BilingualError, Sendable, Hashable {
    case notFound
    case invalid([IncidentProblem])
    case unknownInquiries([String])
    case reportDate
    case noInquiries

    public var text: LocalizedText {
        switch self {
        case .notFound: LocalizedText(ja: "その事案は登録されていません", en: "no such incident is registered")
        case let .invalid(problems):
            LocalizedText(ja: problems.map(\.text.ja).joined(separator: "。"), en: problems.map(\.text.en).joined(separator: "; "))
        case let .unknownInquiries(numbers):
            LocalizedText(
                ja: "受付番号 \(numbers.joined(separator: ", ")) のお問い合わせはありません",
                en: "there is no inquiry numbered \(numbers.joined(separator: ", "))"
            )
        case .reportDate:
            LocalizedText(
                ja: "報告日は、事態を知った日から今日までの日付(YYYY-MM-DD)にしてください",
                en: "the report date must be a day from the day of awareness to today (YYYY-MM-DD)"
            )
        case .noInquiries:
            LocalizedText(ja: "受付番号を 1 行に 1 つ、500 件まで入力してください", en: "give one inquiry number per line, at most 500")
        }
    }
}

extension IncidentReport {
    /// The report from a submitted form: every problem named by its field, nothing half-read.
    /// Fields: `found_on`, `occurred_on`, `kind`, `suspected`, `summary`, `item_<field id>`, `affected`, `cause`,
    /// `secondary_harm`, `response`, `publication`, `prevention`, `other`, `special_care`, `financial_harm`,
    /// `unlawful_purpose`.
    public static func from(form: [String: String], policy: Policy, today: LocalDate) -> Result<IncidentReport, IncidentError> {
        var problems: [IncidentProblem] = []
        func problem(_ field: String, ja: String, en: String) { problems.append(IncidentProblem(field: field, text: LocalizedText(ja: ja, en: en))) }
        func value(_ name: String) -> String { (form[name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        func date(_ name: String, label: LocalizedText, required: Bool) -> LocalDate? {
            let raw = value(name)
            if raw.isEmpty {
                if required { problem(name, ja: "\(label.ja)を入力してください", en: "enter \(label.en)") }
                return nil
            }
            guard let day = LocalDate(iso: raw), day <= today, day >= today.adding(years: -10) else {
                problem(
                    name,
                    ja: "\(label.ja)は、今日から 10 年前までの日付(YYYY-MM-DD)にしてください",
                    en: "\(label.en) must be a day within the last ten years (YYYY-MM-DD)"
                )
                return nil
            }
            return day
        }
        func text(_ name: String, label: LocalizedText, required: Bool = false) -> String {
            let raw = value(name)
            if required && raw.isEmpty { problem(name, ja: "\(label.ja)を入力してください", en: "enter \(label.en)") }
            if raw.count > textLimit {
                problem(name, ja: "\(label.ja)は \(textLimit) 文字以内にしてください", en: "\(label.en) can be at most \(textLimit) characters")
            }
            return raw
        }
        func flag(_ name: String) -> Bool { isChecked(form[name]) }

        let found = date("found_on", label: LocalizedText(ja: "事態を知った日", en: "the day of awareness"), required: true)
        let occurred = date("occurred_on", label: LocalizedText(ja: "発生日", en: "the day it happened"), required: false)
        if let found, let occurred, occurred > found {
            problem("occurred_on", ja: "発生日は事態を知った日より後にはできません", en: "it cannot have happened after the day of awareness")
        }
        let kind = IncidentKind(rawValue: value("kind"))
        if kind == nil { problem("kind", ja: "事態の種類を選んでください", en: "choose what happened") }
        let summary = text("summary", label: LocalizedText(ja: "概要", en: "a summary"), required: true)
        let items = policy.fields.map(\.id).filter { flag("item_\($0)") }
        if items.isEmpty { problem("items", ja: "対象の項目を一つ以上選んでください", en: "choose at least one item concerned") }
        let affectedText = value("affected")
        var affected = 0
        if let count = Int(affectedText), (0...maximumAffected).contains(count) {
            affected = count
        } else {
            problem(
                "affected",
                ja: "本人の数は 0 から \(maximumAffected) までの整数で入力してください",
                en: "give the number of people as a whole number from 0 to \(maximumAffected)"
            )
        }
        let report = IncidentReport(
            foundOn: found ?? today,
            occurredOn: occurred,
            kind: kind ?? .leak,
            suspected: flag("suspected"),
            summary: summary,
            items: items,
            affected: affected,
            cause: text("cause", label: LocalizedText(ja: "原因", en: "the cause")),
            secondaryHarm: text("secondary_harm", label: LocalizedText(ja: "二次被害", en: "secondary harm")),
            responseToPeople: text("response", label: LocalizedText(ja: "本人への対応", en: "the response to the people")),
            publication: text("publication", label: LocalizedText(ja: "公表", en: "publication")),
            prevention: text("prevention", label: LocalizedText(ja: "再発防止策", en: "prevention")),
            other: text("other", label: LocalizedText(ja: "その他", en: "other matters")),
            specialCare: flag("special_care"),
            financialHarm: flag("financial_harm"),
            unlawfulPurpose: flag("unlawful_purpose")
        )
        return problems.isEmpty ? .success(report) : .failure(.invalid(problems))
    }

    /// Whether a checkbox's value means ticked.
    public static func isChecked(_ value: String?) -> Bool {
        ["on", "true", "1", "yes"].contains((value ?? "").trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// The report as form values, to fill the edit form.
    public var form: [String: String] {
        var form = [
            "found_on": foundOn.description, "occurred_on": occurredOn?.description ?? "", "kind": kind.rawValue,
            "summary": summary, "affected": String(affected), "cause": cause, "secondary_harm": secondaryHarm,
            "response": responseToPeople, "publication": publication, "prevention": prevention, "other": other,
        ]
        for (name, on) in [
            ("suspected", suspected), ("special_care", specialCare), ("financial_harm", financialHarm), ("unlawful_purpose", unlawfulPurpose),
        ]
        where on {
            form[name] = "on"
        }
        for item in items { form["item_\(item)"] = "on" }
        return form
    }
}
