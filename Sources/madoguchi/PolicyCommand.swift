import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import MadoguchiServer
import Synchronization

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "ポリシーファイルを確認する・描きます。 / Check or render a policy file.",
        subcommands: [Check.self, Render.self, Diff.self, Load.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ポリシーファイルを検証します。 / Validate policy files.",
            discussion:
                "問題ごとに FILE:LINE:COLUMN: と日本語の説明を、次の字下げした行に英語を出します。法令が求める事項(安全管理措置、苦情の申出先、開示等の手続き、外国にある第三者、プロファイリング、広告宣伝メールの送信者)は条文を挙げて確かめます。法令上必須のものが欠けていれば誤り、事業者の状況によるものは「警告」です。誤りがなければ終了コード 0(警告だけなら 0)、一つでも誤りがあれば 1。\nPrints every problem as FILE:LINE:COLUMN: and the problem in Japanese, then in English on an indented line. What the law requires to be published (security measures, complaint desk, request procedure, foreign recipients, profiling, the sender of advertising mail) is checked with its article: a missing item the law requires is an error, one that depends on the operator's situation a warning. Exits 0 when no file has an error (warnings alone exit 0), 1 when any has."
        )

        @Argument(help: "確認するポリシーファイル。\nThe policy files to check.")
        var files: [String]

        @Option(
            name: .customLong("database"),
            help:
                "このデータベースに記録された版とも照らします: 同じ版番号が別の内容で記録されていれば誤り(serve はその版では起動しません)。\nAlso checks against the versions stored in this database: a version id stored with other content is an error (serve would refuse to start on it)."
        )
        var database: String?

        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if files.isEmpty { throw Bilingual.refusal("確認するポリシーファイルを一つ以上挙げてください", "name at least one policy file to check") }
            if let database {
                do {
                    _ = try DatabaseLocation(parsing: database)
                } catch {
                    throw Bilingual.refusal("--database: \(error.text.ja)", "--database: \(error.text.en)")
                }
            }
        }

        func run() async throws {
            var failed = false
            var valid: [(file: String, policy: Policy)] = []
            for file in files {
                let (policy, diagnostics) = PolicyLoader.review(path: file)
                report(PolicyFileError(diagnostics))
                guard let policy else {
                    failed = true
                    continue
                }
                valid.append((file, policy))
                let warnings = diagnostics.count
                Bilingual.say(
                    "\(file): 正常(版 \(policy.version)、サービス \(policy.services.count)、利用目的 \(policy.purposes.count)、項目 \(policy.fields.count)、外部送信先 \(policy.vendors.count)\(warnings > 0 ? "、警告 \(warnings) 件" : ""))",
                    "\(file): ok (version \(policy.version), \(policy.services.count) services, \(policy.purposes.count) purposes, \(policy.fields.count) fields, \(policy.vendors.count) vendors\(warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))"
                )
            }
            if let database, !valid.isEmpty {
                let location = try DatabaseLocation(parsing: database)
                let conflicts = try await Database.using(location, logger: try logging.makeLogger(label: "madoguchi.policy")) { db in
                    try await Migrations.refusePending(in: db)
                    let store = PolicyVersionStore(database: db)
                    var conflicts: [(String, PolicyVersionConflict)] = []
                    for (file, policy) in valid {
                        do {
                            let outcome = try await store.wouldStore(policy)
                            Bilingual.say(
                                outcome == .stored ? "\(file): 版 \(policy.version) はまだ記録されていません(新しい版)" : "\(file): 版 \(policy.version) は同じ内容で記録済みです",
                                outcome == .stored
                                    ? "\(file): version \(policy.version) is not stored yet (a new version)"
                                    : "\(file): version \(policy.version) is stored with this content"
                            )
                        } catch let conflict as PolicyVersionConflict {
                            conflicts.append((file, conflict))
                        }
                    }
                    return conflicts
                }
                for (file, conflict) in conflicts {
                    Bilingual.warn("\(file): \(conflict.text.ja)", "\(file): \(conflict.text.en)")
                    failed = true
                }
            }
            if failed { throw ExitCode(ExitStatus.finding) }
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ポリシーファイルを新しい版として記録し、動いているすべてのサーバーに使わせます。 / Store a policy file as the new version for every running server.",
            discussion:
                "ファイルを検証し(誤りがあれば何も記録せず終了コード 1)、データベースに版として記録します。同じデータベースのサーバーは \(Serve.policyWatchSeconds) 秒以内に、改定日が最も新しい版に切り替わります(再起動は要りません)。一台だけなら、そのサーバーに SIGHUP を送っても同じです。\nValidates the file (on any error nothing is stored, exit 1) and stores it as a version in the database. Every server on that database switches to the version whose text took effect last within \(Serve.policyWatchSeconds) seconds, without a restart. For one server, sending it SIGHUP does the same."
        )

        @Argument(help: "記録するポリシーファイル。\nThe policy file to store.")
        var file: String

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let policy: Policy
            let source: String
            do {
                let loaded = try PolicyLoader.loadReviewed(path: file)
                (policy, source) = (loaded.policy, loaded.source)
                report(PolicyFileError(loaded.warnings))
            } catch {
                report(error)
                throw ExitCode(1)
            }
            let logger = try logging.makeLogger(label: "madoguchi.policy")
            let outcome: PolicyStoreOutcome
            let latest: String?
            do {
                (outcome, latest) = try await Database.using(try database.location(), logger: logger) { database in
                    try await Migrations.refusePending(in: database)
                    let store = PolicyVersionStore(database: database)
                    return (try await store.store(policy, source: source), try await store.latest())
                }
            } catch let error as PolicyVersionConflict {
                Bilingual.warn("madoguchi: \(error.text.ja)", "madoguchi: \(error.text.en)")
                throw ExitCode(1)
            }
            Bilingual.say(
                outcome == .stored ? "版 \(policy.version) を記録しました" : "版 \(policy.version) は同じ内容ですでに記録されています",
                outcome == .stored ? "stored version \(policy.version)" : "version \(policy.version) is already stored with this content"
            )
            if latest == policy.version {
                Bilingual.say(
                    "動いているサーバーは \(Serve.policyWatchSeconds) 秒以内にこの版に切り替わります",
                    "running servers switch to it within \(Serve.policyWatchSeconds) seconds"
                )
            } else if let latest {
                Bilingual.warn(
                    "注意: 改定日がより新しい版 \(latest) があるため、サーバーはそちらを使い続けます。この版を使うには、改定日を revisions に加えた新しい版にしてください",
                    "note: version \(latest) took effect later, so servers keep serving it; to serve this text, give it a new version with a later revision date"
                )
            }
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "公開ポリシーのページか、その JSON を出します。 / Print the published policy page or its JSON.",
            discussion: "データベースなしで描くので、過去の版の一覧は出ません。\nRenders without a database, so the page lists no earlier versions."
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case html, json }
        enum Page: String, ExpressibleByArgument, CaseIterable { case full, external }

        @Option(
            help: "ポリシーファイル。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file. Env: MADOGUCHI_POLICY. Default: examples/policy.yaml"
        )
        var policy: String?

        @Option(help: "ja か en。\nja or en.")
        var lang: Language = .ja

        @Option(help: "html か json。\nhtml or json.")
        var format: Format = .html

        @Option(help: "full(ポリシー全体)か external(外部送信の表だけ)。\nfull (the whole policy) or external (the external-transmission table alone).")
        var page: Page = .full

        func run() async throws {
            let loaded = try loadPolicy(policy)
            let kind: PolicyPageKind = format == .json ? .json : (page == .full ? .full : .externalTransmission)
            let output =
                kind == .json
                ? loaded.publishedJSON(pretty: true)
                : Data(try PolicySite.render(loaded, kind, lang, resources: try await SiteResources.bundled()).body.readableBytesView)
            FileHandle.standardOutput.write(output)
            if kind == .json { print() }
        }
    }
}
