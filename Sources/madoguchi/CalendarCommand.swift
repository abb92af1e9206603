import ArgumentParser
import Foundation
import MadoguchiCore

/// `madoguchi calendar`: the business calendar request due dates are counted on (R-DSR-3).
struct CalendarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "日本の祝日と請求の回答期限。 / Japanese holidays and request due dates.",
        subcommands: [Holidays.self, Due.self]
    )

    struct Holidays: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ある年(1948〜2099)の祝日を 1 行に一つ、ISO の日付と名前で挙げます。 / List the national holidays of a year (1948–2099), one a line: ISO date and name.",
            discussion:
                "振替休日と国民の休日を含みます。年末年始の休業とポリシーファイルの休業日は祝日ではないので挙げません。\nIncludes substitute holidays (振替休日) and days between two holidays (国民の休日). The year-end closure and the policy file's closed days are not holidays and are not listed."
        )

        @Argument(help: "年(1948〜2099)。\nThe year, 1948–2099.")
        var year: Int

        @Option(help: "ja か en。\nja or en.")
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
            abstract: "DATE に受け付けた請求の回答期限の日を出します。 / Print the day by which a request received on DATE must be answered.",
            discussion:
                "DATE の翌日から営業日を数えます。土日・祝日・12/29〜1/3 とポリシーファイルの requests.closed_days は数えません。\nCounts business days from the day after DATE: weekends, national holidays, 12/29–1/3 and the policy file's requests.closed_days are skipped."
        )

        @Argument(help: "受け付けた日(YYYY-MM-DD)。\nThe day of receipt, YYYY-MM-DD.")
        var date: String

        @Option(
            help:
                "数える営業日数。既定: ポリシーファイルの requests.answer_business_days\nBusiness days to count. Default: the policy file's requests.answer_business_days"
        )
        var days: Int?

        @Option(
            help:
                "ポリシーファイル(休業日と回答日数のため)。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file (for its closed days and answer days). Env: MADOGUCHI_POLICY. Default: examples/policy.yaml"
        )
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
