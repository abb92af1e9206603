import Foundation

/// A day off named by the Act on National Holidays (国民の祝日に関する法律, in force 1948-07-20) or by a special act.
public struct Holiday: Sendable, Hashable, Comparable {
    public let date: LocalDate
    public let name: LocalizedText
    public let kind: Kind

    public enum Kind: String, Sendable, Hashable {
        /// A national holiday (国民の祝日), including the days special acts made holidays.
        case national
        /// 振替休日: the day after a national holiday on a Sunday (1973-04-12 on), or the next day that is not a
        /// holiday (2007 on).
        case substitute
        /// 国民の休日: a day between two national holidays (1986 on).
        case sandwiched
    }

    public static func < (lhs: Holiday, rhs: Holiday) -> Bool { lhs.date < rhs.date }
}

/// The Japanese national holidays of 1948–2099: fixed days with their historical changes, Happy-Monday days, the
/// equinoxes by the standard formula (with the dates officially announced taking precedence), substitute and
/// sandwiched days, the special days of 1959, 1989, 1990, 1993 and 2019, and the days moved for 2020 and 2021.
public enum JapaneseHolidays {
    public static let supportedYears = 1948...2099

    /// The holidays of `year` in date order; empty outside `supportedYears`.
    public static func holidays(in year: Int) -> [Holiday] {
        table[year] ?? []
    }

    /// The holiday on `date`, if it is one.
    public static func holiday(on date: LocalDate) -> Holiday? {
        byDate[date]
    }

    private static let table: [Int: [Holiday]] = Dictionary(uniqueKeysWithValues: supportedYears.map { ($0, compute($0)) })
    private static let byDate: [LocalDate: Holiday] = Dictionary(uniqueKeysWithValues: table.values.joined().map { ($0.date, $0) })

    // MARK: - The rules

    /// Equinox days the National Astronomical Observatory announced (暦要項, published each February for the next
    /// year). They win over the formula; add a year here when its announcement differs from the formula.
    static let announcedEquinoxes: [Int: (vernal: Int, autumnal: Int)] = [
        2024: (20, 22), 2025: (20, 23), 2026: (20, 23), 2027: (21, 23),
    ]

    /// The day in March of the vernal equinox, by the standard approximation (valid 1900–2099).
    static func vernalEquinoxDay(_ year: Int) -> Int {
        if let announced = announcedEquinoxes[year] { return announced.vernal }
        return equinox(year, base1900: 20.8357, base1980: 20.8431)
    }

    /// The day in September of the autumnal equinox.
    static func autumnalEquinoxDay(_ year: Int) -> Int {
        if let announced = announcedEquinoxes[year] { return announced.autumnal }
        return equinox(year, base1900: 23.2588, base1980: 23.2488)
    }

    private static func equinox(_ year: Int, base1900: Double, base1980: Double) -> Int {
        let drift = 0.242194 * Double(year - 1980)
        // Integer division truncates toward zero, as the formula is defined.
        if year < 1980 { return Int(base1900 + drift - Double((year - 1983) / 4)) }
        return Int(base1980 + drift - Double((year - 1980) / 4))
    }

    /// The `nth` Monday of `month`.
    static func monday(_ nth: Int, of month: Int, _ year: Int) -> LocalDate {
        let first = LocalDate(year: year, month: month, day: 1)!
        let offset = (8 - first.weekday) % 7  // days from the 1st to the first Monday
        return first.adding(days: offset + 7 * (nth - 1))
    }

    private static func named(_ ja: String, _ en: String) -> LocalizedText { LocalizedText(ja: ja, en: en) }

    /// The national holidays of the year (Article 2 and the special acts), before substitutes and sandwiched days.
    static func nationalHolidays(_ year: Int) -> [(LocalDate, LocalizedText)] {
        var days: [(LocalDate, LocalizedText)] = []
        func add(_ month: Int, _ day: Int, _ name: LocalizedText) {
            let date = LocalDate(year: year, month: month, day: day)!
            // The act came into force on 1948-07-20.
            if date >= LocalDate(year: 1948, month: 7, day: 20)! { days.append((date, name)) }
        }
        func add(_ date: LocalDate, _ name: LocalizedText) { add(date.month, date.day, name) }

        add(1, 1, named("元日", "New Year's Day"))
        if year <= 1999 { add(1, 15, named("成人の日", "Coming of Age Day")) } else { add(monday(2, of: 1, year), named("成人の日", "Coming of Age Day")) }
        if year >= 1967 { add(2, 11, named("建国記念の日", "National Foundation Day")) }
        if year >= 2020 { add(2, 23, named("天皇誕生日", "The Emperor's Birthday")) }
        add(3, vernalEquinoxDay(year), named("春分の日", "Vernal Equinox Day"))
        switch year {
        case ...1988: add(4, 29, named("天皇誕生日", "The Emperor's Birthday"))
        case 1989...2006: add(4, 29, named("みどりの日", "Greenery Day"))
        default: add(4, 29, named("昭和の日", "Showa Day"))
        }
        add(5, 3, named("憲法記念日", "Constitution Memorial Day"))
        if year >= 2007 { add(5, 4, named("みどりの日", "Greenery Day")) }
        add(5, 5, named("こどもの日", "Children's Day"))
        let marine = named("海の日", "Marine Day")
        switch year {
        case 1996...2002: add(7, 20, marine)
        case 2003...2019, 2022...: add(monday(3, of: 7, year), marine)
        case 2020: add(7, 23, marine)
        case 2021: add(7, 22, marine)
        default: break
        }
        let mountain = named("山の日", "Mountain Day")
        switch year {
        case 2016...2019, 2022...: add(8, 11, mountain)
        case 2020: add(8, 10, mountain)
        case 2021: add(8, 8, mountain)
        default: break
        }
        let aged = named("敬老の日", "Respect for the Aged Day")
        if (1966...2002).contains(year) { add(9, 15, aged) } else if year >= 2003 { add(monday(3, of: 9, year), aged) }
        add(9, autumnalEquinoxDay(year), named("秋分の日", "Autumnal Equinox Day"))
        let health = named("体育の日", "Health and Sports Day")
        let sports = named("スポーツの日", "Sports Day")
        switch year {
        case 1966...1999: add(10, 10, health)
        case 2000...2019: add(monday(2, of: 10, year), health)
        case 2020: add(7, 24, sports)
        case 2021: add(7, 23, sports)
        case 2022...: add(monday(2, of: 10, year), sports)
        default: break
        }
        add(11, 3, named("文化の日", "Culture Day"))
        add(11, 23, named("勤労感謝の日", "Labour Thanksgiving Day"))
        if (1989...2018).contains(year) { add(12, 23, named("天皇誕生日", "The Emperor's Birthday")) }

        // Days made holidays by special acts.
        switch year {
        case 1959: add(4, 10, named("皇太子明仁親王の結婚の儀", "Wedding of Crown Prince Akihito"))
        case 1989: add(2, 24, named("昭和天皇の大喪の礼", "State Funeral of Emperor Showa"))
        case 1990: add(11, 12, named("即位礼正殿の儀", "Enthronement Ceremony"))
        case 1993: add(6, 9, named("皇太子徳仁親王の結婚の儀", "Wedding of Crown Prince Naruhito"))
        case 2019:
            add(5, 1, named("天皇の即位の日", "Day of the Emperor's Enthronement"))
            add(10, 22, named("即位礼正殿の儀", "Enthronement Ceremony"))
        default: break
        }
        return days.sorted { $0.0 < $1.0 }
    }

    static func compute(_ year: Int) -> [Holiday] {
        let national = nationalHolidays(year)
        let nationalDates = Set(national.map(\.0))
        var holidays = national.map { Holiday(date: $0.0, name: $0.1, kind: .national) }
        var taken = nationalDates

        // 振替休日
        let substituteFrom = LocalDate(year: 1973, month: 4, day: 12)!
        for (date, _) in national where date.weekday == 0 && date >= substituteFrom {
            var candidate = date.adding(days: 1)
            if year >= 2007 {
                while taken.contains(candidate) { candidate = candidate.adding(days: 1) }
            } else if taken.contains(candidate) {
                continue
            }
            guard candidate.year == year else { continue }
            taken.insert(candidate)
            holidays.append(Holiday(date: candidate, name: named("振替休日", "Substitute holiday"), kind: .substitute))
        }

        // 国民の休日 (in force 1985-12-27): a day between two national holidays that is not one itself. Until 2006 the
        // act also left out Sundays and substitute holidays.
        if year >= 1986 {
            for (date, _) in national {
                let between = date.adding(days: 1)
                guard nationalDates.contains(between.adding(days: 1)), !nationalDates.contains(between), between.year == year else { continue }
                if taken.contains(between) { continue }
                if year <= 2006 && between.weekday == 0 { continue }
                taken.insert(between)
                holidays.append(Holiday(date: between, name: named("国民の休日", "Citizens' holiday"), kind: .sandwiched))
            }
        }
        return holidays.sorted()
    }
}
