import Foundation

/// The operator's working days: Monday to Friday, except national holidays, the year-end closure (12/29–1/3) and
/// the extra closed days of the policy file. Due dates of requests are counted on it (R-DSR-3).
public struct BusinessCalendar: Sendable, Hashable {
    /// Extra days the operator is closed (the policy file's `requests.closed_days`).
    public var closedDays: Set<LocalDate>

    public init(closedDays: some Sequence<LocalDate> = []) {
        self.closedDays = Set(closedDays)
    }

    /// Why `date` is not a business day, or nil when it is one.
    public func closure(on date: LocalDate) -> LocalizedText? {
        if date.weekday == 0 { return LocalizedText(ja: "日曜日", en: "Sunday") }
        if date.weekday == 6 { return LocalizedText(ja: "土曜日", en: "Saturday") }
        if let holiday = JapaneseHolidays.holiday(on: date) { return holiday.name }
        if (date.month == 12 && date.day >= 29) || (date.month == 1 && date.day <= 3) {
            return LocalizedText(ja: "年末年始休業", en: "Year-end closure")
        }
        if closedDays.contains(date) { return LocalizedText(ja: "休業日", en: "Closed day") }
        return nil
    }

    public func isBusinessDay(_ date: LocalDate) -> Bool {
        closure(on: date) == nil
    }

    /// The `days`-th business day after `received` (the day of receipt itself never counts): the day by which a
    /// request received on `received` must be answered. Throws outside the years the holiday table covers.
    public func due(received: LocalDate, businessDays days: Int) throws(CalendarError) -> LocalDate {
        guard days >= 0 else { throw .negativeDays(days) }
        var date = received
        var counted = 0
        while counted < days {
            date = date.adding(days: 1)
            guard JapaneseHolidays.supportedYears.contains(date.year) else { throw .outOfRange(date.year) }
            if isBusinessDay(date) { counted += 1 }
        }
        guard JapaneseHolidays.supportedYears.contains(received.year) else { throw .outOfRange(received.year) }
        return date
    }

    /// Business days from the day after `start` up to and including `end` (0 when `end` is not after `start`).
    public func businessDays(after start: LocalDate, through end: LocalDate) -> Int {
        guard start < end else { return 0 }
        return (1...(end.dayNumber - start.dayNumber)).count { isBusinessDay(start.adding(days: $0)) }
    }
}

/// A date the calendar cannot count.
public enum CalendarError: Error, Sendable, Hashable, CustomStringConvertible {
    case outOfRange(Int)
    case negativeDays(Int)

    public var description: String {
        switch self {
        case let .outOfRange(year):
            "\(year) is outside the years the holiday table covers (\(JapaneseHolidays.supportedYears.lowerBound)–\(JapaneseHolidays.supportedYears.upperBound))"
        case let .negativeDays(days):
            "the number of business days must not be negative (got \(days))"
        }
    }
}
