import MadoguchiCore
import Testing

// R-DSR-3: due dates are counted on the Japanese business calendar.
@Suite("Japanese business calendar")
struct CalendarTests {
    func date(_ text: String) -> LocalDate { LocalDate(iso: text)! }

    func list(_ year: Int) -> [String] {
        JapaneseHolidays.holidays(in: year).map { "\($0.date) \($0.name.ja)" }
    }

    @Test(
        "R-DSR-3: the due dates of the issue: 3 business days after receipt, the day of receipt not counted",
        arguments: [
            ("2025-12-26", "2026-01-07"), ("2026-09-16", "2026-09-24"), ("2026-04-28", "2026-05-07"),
            ("2019-04-26", "2019-05-09"),
        ]
    )
    func dueDates(_ received: String, _ due: String) throws {
        #expect(try BusinessCalendar().due(received: date(received), businessDays: 3) == date(due))
    }

    @Test("R-DSR-3: the operator's extra closed days and the year-end closure are not business days")
    func closures() throws {
        let calendar = BusinessCalendar(closedDays: [date("2026-09-24")])
        #expect(try calendar.due(received: date("2026-09-16"), businessDays: 3) == date("2026-09-25"))
        #expect(calendar.closure(on: date("2026-12-29"))?.ja == "年末年始休業")
        #expect(calendar.closure(on: date("2027-01-04")) == nil, "1/4 is a working Monday")
        #expect(calendar.closure(on: date("2026-09-22"))?.ja == "国民の休日")
        #expect(calendar.closure(on: date("2026-11-28"))?.en == "Saturday")
        #expect(try calendar.due(received: date("2026-11-27"), businessDays: 0) == date("2026-11-27"))
        #expect(calendar.businessDays(after: date("2025-12-26"), through: date("2026-01-07")) == 3)
        #expect(calendar.businessDays(after: date("2026-01-07"), through: date("2025-12-26")) == 0)
        #expect(throws: CalendarError.outOfRange(2100)) { try calendar.due(received: date("2099-12-30"), businessDays: 3) }
        #expect(throws: CalendarError.negativeDays(-1)) { try calendar.due(received: date("2026-01-05"), businessDays: -1) }
    }

    @Test("R-DSR-3: 2019, the year of the enthronement: special days, sandwiched days, substitutes, no Emperor's Birthday")
    func year2019() {
        #expect(
            list(2019) == [
                "2019-01-01 元日", "2019-01-14 成人の日", "2019-02-11 建国記念の日", "2019-03-21 春分の日", "2019-04-29 昭和の日",
                "2019-04-30 国民の休日", "2019-05-01 天皇の即位の日", "2019-05-02 国民の休日", "2019-05-03 憲法記念日",
                "2019-05-04 みどりの日", "2019-05-05 こどもの日", "2019-05-06 振替休日", "2019-07-15 海の日", "2019-08-11 山の日",
                "2019-08-12 振替休日", "2019-09-16 敬老の日", "2019-09-23 秋分の日", "2019-10-14 体育の日", "2019-10-22 即位礼正殿の儀",
                "2019-11-03 文化の日", "2019-11-04 振替休日", "2019-11-23 勤労感謝の日",
            ]
        )
    }

    @Test("R-DSR-3: 2020 and 2021, the years of the moved Olympic holidays")
    func olympicYears() {
        #expect(
            list(2020) == [
                "2020-01-01 元日", "2020-01-13 成人の日", "2020-02-11 建国記念の日", "2020-02-23 天皇誕生日", "2020-02-24 振替休日",
                "2020-03-20 春分の日", "2020-04-29 昭和の日", "2020-05-03 憲法記念日", "2020-05-04 みどりの日", "2020-05-05 こどもの日",
                "2020-05-06 振替休日", "2020-07-23 海の日", "2020-07-24 スポーツの日", "2020-08-10 山の日", "2020-09-21 敬老の日",
                "2020-09-22 秋分の日", "2020-11-03 文化の日", "2020-11-23 勤労感謝の日",
            ]
        )
        #expect(
            list(2021) == [
                "2021-01-01 元日", "2021-01-11 成人の日", "2021-02-11 建国記念の日", "2021-02-23 天皇誕生日", "2021-03-20 春分の日",
                "2021-04-29 昭和の日", "2021-05-03 憲法記念日", "2021-05-04 みどりの日", "2021-05-05 こどもの日", "2021-07-22 海の日",
                "2021-07-23 スポーツの日", "2021-08-08 山の日", "2021-08-09 振替休日", "2021-09-20 敬老の日", "2021-09-23 秋分の日",
                "2021-11-03 文化の日", "2021-11-23 勤労感謝の日",
            ]
        )
    }

    @Test("R-DSR-3: 2026, with a Sunday Constitution Day and a September sandwiched day")
    func year2026() {
        #expect(
            list(2026) == [
                "2026-01-01 元日", "2026-01-12 成人の日", "2026-02-11 建国記念の日", "2026-02-23 天皇誕生日", "2026-03-20 春分の日",
                "2026-04-29 昭和の日", "2026-05-03 憲法記念日", "2026-05-04 みどりの日", "2026-05-05 こどもの日", "2026-05-06 振替休日",
                "2026-07-20 海の日", "2026-08-11 山の日", "2026-09-21 敬老の日", "2026-09-22 国民の休日", "2026-09-23 秋分の日",
                "2026-10-12 スポーツの日", "2026-11-03 文化の日", "2026-11-23 勤労感謝の日",
            ]
        )
    }

    @Test("R-DSR-3: the act's first year, the pre-2007 rules and the special days of the Showa and Heisei eras")
    func history() {
        #expect(list(1948) == ["1948-09-23 秋分の日", "1948-11-03 文化の日", "1948-11-23 勤労感謝の日"], "in force from 1948-07-20")
        #expect(list(1959).contains("1959-04-10 皇太子明仁親王の結婚の儀"))
        #expect(!list(1972).contains { $0.hasSuffix("振替休日") }, "no substitute holidays before 1973-04-12")
        #expect(list(1973).contains("1973-04-30 振替休日"), "the first substitute holiday")
        #expect(list(1988).contains("1988-05-04 国民の休日"), "pre-2007 sandwiched day")
        #expect(list(1987).contains("1987-05-04 振替休日"), "5/3 on a Sunday: a substitute, not a sandwiched day")
        #expect(!list(1986).contains("1986-05-04 国民の休日"), "a Sunday 5/4 was not a holiday before 2007")
        #expect(list(1989).contains("1989-02-24 昭和天皇の大喪の礼"))
        #expect(list(1989).contains("1989-04-29 みどりの日") && list(1989).contains("1989-12-23 天皇誕生日"))
        #expect(list(1990).contains("1990-11-12 即位礼正殿の儀"))
        #expect(list(1993).contains("1993-06-09 皇太子徳仁親王の結婚の儀"))
        #expect(list(1999).contains("1999-01-15 成人の日") && list(2000).contains("2000-01-10 成人の日"), "Happy Monday from 2000")
        #expect(list(2002).contains("2002-07-20 海の日") && list(2003).contains("2003-07-21 海の日"))
        #expect(list(2008).contains("2008-05-06 振替休日"), "2007 rule: the next day that is not a holiday")
        #expect(list(2009).contains("2009-09-22 国民の休日"))
        #expect(list(2018).contains("2018-12-23 天皇誕生日") && list(2018).contains("2018-12-24 振替休日"))
        #expect(list(2032).contains("2032-09-21 国民の休日"))
        #expect(list(2099).count >= 16)
        #expect(JapaneseHolidays.holidays(in: 1947).isEmpty && JapaneseHolidays.holidays(in: 2100).isEmpty)
    }

    @Test("dates count days and weekdays across centuries")
    func dateArithmetic() {
        #expect(date("1970-01-01").dayNumber == 0)
        #expect(date("1970-01-01").weekday == 4)
        #expect(date("2026-11-29").weekday == 0)
        #expect(date("2000-02-28").adding(days: 1) == date("2000-02-29"))
        #expect(date("2100-02-28").adding(days: 1) == date("2100-03-01"))
        #expect(date("1948-07-20").adding(days: -1) == date("1948-07-19"))
        for text in ["1900-03-01", "1948-07-20", "1999-12-31", "2024-02-29", "2099-12-31"] {
            #expect(LocalDate(dayNumber: date(text).dayNumber) == date(text))
        }
    }
}
