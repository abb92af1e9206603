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
        }
    }
}

public enum ContractorCheck {
    /// A supervision review is due this long after the last one.
    public static let reviewIntervalDays = 365
    /// An agreement ending this soon is reported.
    public static let warningDays = 30

    /// Everything due or coming about `policy`'s contractors on `today`, in the policy's order.
    public static func findings(_ policy: Policy, today: LocalDate) -> [ContractorFinding] {
        var findings: [ContractorFinding] = []
        for contractor in policy.contractors {
            if contractor.ndaExpires < today {
                findings.append(ContractorFinding(contractor: contractor.id, kind: .ndaExpired, day: contractor.ndaExpires))
            } else if contractor.ndaExpires.dayNumber - today.dayNumber <= warningDays {
                findings.append(ContractorFinding(contractor: contractor.id, kind: .ndaExpiring, day: contractor.ndaExpires))
            }
            let reviewDue = contractor.lastReview.adding(days: reviewIntervalDays)
            if reviewDue < today { findings.append(ContractorFinding(contractor: contractor.id, kind: .reviewOverdue, day: reviewDue)) }
        }
        return findings
    }
}
