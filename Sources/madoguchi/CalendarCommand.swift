import ArgumentParser
import Foundation
import MadoguchiCore

/// `madoguchi calendar`: the business calendar request due dates are counted on (R-DSR-3).
struct CalendarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "Japanese holidays and request due dates.",
        subcommands: [Holidays.self, Due.self])

    struct Holidays: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the national holidays of a year (1948–2099), one a line: ISO date and name.",
            discussion: "Includes substitute holidays (振替休日) and days between two holidays (国民の休日). The year-end closure and the policy file's closed days are not holidays and are not listed.")

        @Argument(help: "The year, 1948–2099.")
        var year: Int

        @Option(help: "ja or en.")
        var lang: Language = .ja

        func validate() throws {
            guard JapaneseHolidays.supportedYears.contains(year) else {
                throw Bilingual.refusal("\(year) 年は祝日表の対象(1948〜2099 年)の外です", "\(year) is outside the years the holiday table covers (1948–2099)")
            }
        }

        func run() async throws {
            for holiday in JapaneseHolidays.holidays(in: year) {
                print("\(holiday.date) \(holiday.name[lang])")
            }
        }
    }

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the day by which a request received on DATE must be answered.",
            discussion: "Counts business days from the day after DATE: weekends, national holidays, 12/29–1/3 and the policy file's requests.closed_days are skipped.")

        @Argument(help: "The day of receipt, YYYY-MM-DD.")
        var date: String

        @Option(help: "Business days to count. Default: the policy file's requests.answer_business_days")
        var days: Int?

        @Option(help: "The policy file (for its closed days and answer days). Env: MADOGUCHI_POLICY. Default: examples/policy.yaml")
        var policy: String?

        func run() async throws {
            guard let received = LocalDate(iso: date) else {
                throw Bilingual.refusal("'\(date)' は日付ではありません。YYYY-MM-DD の形で書いてください", "'\(date)' is not a date; write YYYY-MM-DD")
            }
            let loaded = try loadPolicy(policy)
            do {
                print(try loaded.requests.calendar.due(received: received, businessDays: days ?? loaded.requests.answerBusinessDays))
            } catch {
                throw ValidationError(error.description)
            }
        }
    }
}
