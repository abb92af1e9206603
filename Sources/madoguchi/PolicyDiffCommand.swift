import ArgumentParser
import Foundation
import MadoguchiCore

extension PolicyCommand {
    /// `madoguchi policy diff A B`: what changed between two versions, grouped, Japanese first (R-VER-3).
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "二つの版の違いを示します。 / Show what changed between two versions of the policy.",
            discussion:
                "A と B はポリシーファイルか、データベースに保存された版の ID です。利用目的の追加や、項目に新しい利用目的が加わることは「利用目的の変更」として別に示します(以前に取得したデータへの利用には本人の同意が必要です)。\nA and B are policy files or ids of versions stored in the database. A purpose added, or a purpose an item did not serve before, is listed apart as a change of purpose (using data collected before for it needs the person's consent)."
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @Argument(help: "古い版: ファイルか版の ID。\nThe older version: a file or a stored version id.")
        var from: String

        @Argument(help: "新しい版: ファイルか版の ID。\nThe newer version: a file or a stored version id.")
        var to: String

        @Option(help: "text か json。\ntext or json.")
        var format: Format = .text

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let (old, new) = try await load()
            let diff = PolicyDiff.between(old, new)
            switch format {
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(diff))
                print()
            case .text:
                print(Self.text(diff), terminator: "")
            }
        }

        /// Both policies; stored versions are read from the database only when an argument is not a file.
        private func load() async throws -> (Policy, Policy) {
            let files = [from, to].map { FileManager.default.fileExists(atPath: $0) }
            var policies = try zip([from, to], files).map { argument, isFile in isFile ? try loadPolicy(argument) : nil }
            if files.contains(false) {
                let logger = try logging.makeLogger(label: "madoguchi.policy")
                try await Database.using(try database.location(), logger: logger) { db in
                    let store = PolicyVersionStore(database: db)
                    for (index, argument) in [from, to].enumerated() where !files[index] {
                        guard let stored = try await store.policy(version: argument) else {
                            let known = try await store.versions().map(\.id).joined(separator: ", ")
                            throw Bilingual.refusal(
                                "'\(argument)' はファイルでも、データベースに保存された版でもありません(保存された版: \(known.isEmpty ? "なし" : known))",
                                "'\(argument)' is neither a file nor a version stored in the database (stored versions: \(known.isEmpty ? "none" : known))"
                            )
                        }
                        policies[index] = stored
                    }
                }
            }
            guard let old = policies[0], let new = policies[1] else { throw ExitCode(1) }
            return (old, new)
        }

        /// The diff for people: a heading, each group with its changes (Japanese, then English indented), then the
        /// changes of purpose.
        static func text(_ diff: PolicyDiff) -> String {
            var out = "ポリシーの変更: \(diff.from) → \(diff.to)\nPolicy changes: \(diff.from) → \(diff.to)\n"
            if diff.isEmpty {
                return out + "\n違いはありません。\nNo differences.\n"
            }
            for section in PolicyDiff.Section.allCases {
                let changes = diff.changes(in: section)
                if changes.isEmpty { continue }
                out += "\n\(section.name.ja) / \(section.name.en)\n"
                for change in changes {
                    let mark =
                        switch change.kind {
                        case .added: "+"
                        case .removed: "-"
                        case .changed: "~"
                        }
                    out += "  \(mark) \(change.id): \(change.summary.ja)\n      \(change.summary.en)\n"
                }
            }
            if !diff.purposeChanges.isEmpty {
                out += "\n利用目的の変更 — 以前に取得したデータへの利用には本人の同意が必要です\n"
                out += "Changes of purpose — using data collected before needs the person's consent\n"
                for change in diff.purposeChanges {
                    let fields = change.fields.isEmpty ? "-" : change.fields.joined(separator: ", ")
                    let kind = change.newPurpose ? "新しい利用目的 / new purpose" : "項目への追加 / added to items"
                    out += "  ! \(change.purpose) ← \(fields) (\(kind))\n"
                }
            }
            return out
        }
    }
}
