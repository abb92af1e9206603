import ArgumentParser
import Foundation
import MadoguchiCore

/// `madoguchi requests`: the request queue for operators and cron (R-DSR-3).
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "Work with requests about personal data.",
        subcommands: [Due.self])

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List open requests that are overdue or due today, the most urgent first.",
            discussion: "One line each: due date, overdue|due-today, number, type. With --check, exits 2 when any request is overdue (for cron and monitoring).")

        @Option(help: "Count as of this day (YYYY-MM-DD). Default: today in Japan")
        var today: String?

        @Flag(help: "Exit 2 when any request is overdue.")
        var check = false

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let day: LocalDate
            if let today {
                guard let parsed = LocalDate(iso: today) else {
                    throw Bilingual.refusal("--today: '\(today)' は日付ではありません。YYYY-MM-DD の形で書いてください",
                                            "--today: '\(today)' is not a date; write YYYY-MM-DD")
                }
                day = parsed
            } else {
                day = LocalDate(japanAt: Date())
            }
            let queue = try await Database.using(try database.location(), logger: try logging.makeLogger(label: "madoguchi.requests")) {
                try await RequestDesk.queue(in: $0)
            }
            let urgent = queue.filter { [.overdue, .dueToday].contains($0.urgency(on: day)) }
            if urgent.isEmpty {
                Bilingual.say("\(day) に期限切れ・期限当日の請求はありません", "no requests overdue or due on \(day)")
            }
            for entry in urgent {
                print("\(entry.due.map(\.description) ?? "-") \(entry.urgency(on: day).rawValue) \(entry.number) \(entry.type.rawValue)")
            }
            if check && urgent.contains(where: { $0.urgency(on: day) == .overdue }) { throw ExitCode(2) }
        }
    }
}
