import ArgumentParser
import Foundation
import MadoguchiCore

/// `madoguchi contractors check`: the contractors' agreements and reviews, for cron and CI (R-OUT-1, R-OUT-2).
struct ContractorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contractors",
        abstract: "委託先を確かめます。 / Check the contractors.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "秘密保持契約の期限と監督の見直しを確かめます。 / Check the contractors' confidentiality agreements and supervision reviews.",
            discussion:
                "終わった契約か、1 年を過ぎた見直し、不適切とされた評価があれば終了コード 1(30 日以内に終わる契約は表示だけ)。--database(または MADOGUCHI_DATABASE_URL)を指定すると、管理画面で記録した契約・見直し・評価も加えて確かめます。\nExits 1 when an agreement has ended, a review is more than a year old or an assessment found a contractor not suitable (an agreement ending within 30 days is shown only). With --database (or MADOGUCHI_DATABASE_URL) the agreements, reviews and assessments recorded on the console count too."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        @Option(
            help: "ポリシーファイル。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file. Env: MADOGUCHI_POLICY. Default: examples/policy.yaml"
        )
        var policy: String?

        @Option(help: "この日の時点で確かめます(YYYY-MM-DD)。既定: 日本時間の今日\nCheck as of this day (YYYY-MM-DD). Default: today in Japan")
        var today: String?

        func run() async throws {
            let loaded = try loadPolicy(policy)
            let day: LocalDate
            if let today {
                guard let parsed = LocalDate(iso: today) else {
                    throw Bilingual.refusal(
                        "--today: '\(today)' は日付ではありません。YYYY-MM-DD の形で書いてください",
                        "--today: '\(today)' is not a date; write YYYY-MM-DD"
                    )
                }
                day = parsed
            } else {
                day = LocalDate(japanAt: Date())
            }
            // The console's records only when a database is named: without one the policy file alone is checked, and
            // no default database is opened (or made) behind the operator's back.
            var records: [ContractorRecord] = []
            if database.url != nil || Environment.value("MADOGUCHI_DATABASE_URL") != nil {
                let logger = try logging.makeLogger(label: "madoguchi.contractors")
                records = try await Database.using(try database.location(), logger: logger) {
                    try await ContractorRegister(database: $0).records()
                }
            }
            let findings = ContractorCheck.findings(loaded, records: records, today: day)
            if findings.isEmpty { Bilingual.say("\(day): 委託先に対応の必要なことはありません", "\(day): nothing is due for the contractors") }
            for finding in findings { Bilingual.say(finding.text.ja, finding.text.en) }
            if findings.contains(where: \.isDue) { throw ExitCode(1) }
        }
    }
}
