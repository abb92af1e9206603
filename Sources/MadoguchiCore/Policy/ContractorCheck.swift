import Foundation

/// What is due about the contractors of a policy (R-OUT-1, R-OUT-2): an agreement that has expired or expires within
/// 30 days, and a supervision review older than a year. `madoguchi contractors check` prints these and exits 1 when
/// one is due; the console's policy page shows them.
public struct ContractorFinding: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// The confidentiality agreement has ended: nothing may be entrusted until it is renewed.
        case ndaExpired = "nda-expired"
        /// The agreement ends within 30 days.
        case ndaExpiring = "nda-expiring"
        /// No supervision review for more than a year.
        case reviewOverdue = "review-overdue"
        /// The latest assessment found its protection not suitable: nothing may be entrusted to it.
        case assessedUnsuitable = "assessed-unsuitable"
    }

    public let contractor: String
    public let kind: Kind
    /// The day that decides: the agreement's end, or the day the review fell due.
    public let day: LocalDate

    /// Expired agreements and overdue reviews are due now; an agreement about to end is a warning.
    public var isDue: Bool { kind != .ndaExpiring }

    public var text: LocalizedText {
        switch kind {
        case .ndaExpired:
            LocalizedText(ja: "\(contractor): 秘密保持契約が \(day) に終わっています", en: "\(contractor): the confidentiality agreement ended on \(day)")
        case .ndaExpiring:
            LocalizedText(ja: "\(contractor): 秘密保持契約が \(day) に終わります", en: "\(contractor): the confidentiality agreement ends on \(day)")
        case .reviewOverdue:
            LocalizedText(ja: "\(contractor): 監督のための見直しが \(day) から遅れています", en: "\(contractor): the supervision review is overdue since \(day)")
        case .assessedUnsuitable:
            LocalizedText(
                ja: "\(contractor): \(day) の評価で、安全管理が不適切とされています",
                en: "\(contractor): the assessment of \(day) found its protection not suitable"
            )
        }
    }
}

public enum ContractorCheck {
    /// A supervision review is due this long after the last one.
    public static let reviewIntervalDays = 365
    /// An agreement ending this soon is reported.
    public static let warningDays = 30

    /// Everything due or coming about `policy`'s contractors on `today`, in the policy's order, with the console's
    /// records (`ContractorRegister`) applied: a newer agreement or review moves the dates, an unsuitable assessment
    /// is due.
    public static func findings(_ policy: Policy, records: [ContractorRecord] = [], today: LocalDate) -> [ContractorFinding] {
        var findings: [ContractorFinding] = []
        for standing in ContractorRegister.standings(policy, records: records) {
            let id = standing.contractor.id
            if standing.ndaExpires < today {
                findings.append(ContractorFinding(contractor: id, kind: .ndaExpired, day: standing.ndaExpires))
            } else if standing.ndaExpires.dayNumber - today.dayNumber <= warningDays {
                findings.append(ContractorFinding(contractor: id, kind: .ndaExpiring, day: standing.ndaExpires))
            }
            let reviewDue = standing.lastReview.adding(days: reviewIntervalDays)
            if reviewDue < today { findings.append(ContractorFinding(contractor: id, kind: .reviewOverdue, day: reviewDue)) }
            if let assessment = standing.assessment, assessment.result == .unsuitable {
                findings.append(ContractorFinding(contractor: id, kind: .assessedUnsuitable, day: assessment.on))
            }
        }
        return findings
    }
}
