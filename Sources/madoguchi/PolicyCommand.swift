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
        subcommands: [Check.self, Render.self, Diff.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ポリシーファイルを検証します。 / Validate policy files.",
            discussion:
                "問題ごとに FILE:LINE:COLUMN: と日本語の説明を、次の字下げした行に英語を出します。法令が求める事項(安全管理措置、苦情の申出先、開示等の手続き、外国にある第三者、プロファイリング、広告宣伝メールの送信者)は条文を挙げて確かめます。法令上必須のものが欠けていれば誤り、事業者の状況によるものは「警告」です。誤りがなければ終了コード 0(警告だけなら 0)、一つでも誤りがあれば 1。\nPrints every problem as FILE:LINE:COLUMN: and the problem in Japanese, then in English on an indented line. What the law requires to be published (security measures, complaint desk, request procedure, foreign recipients, profiling, the sender of advertising mail) is checked with its article: a missing item the law requires is an error, one that depends on the operator's situation a warning. Exits 0 when no file has an error (warnings alone exit 0), 1 when any has."
        )

        @Argument(help: "確認するポリシーファイル。\nThe policy files to check.")
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw Bilingual.refusal("確認するポリシーファイルを一つ以上挙げてください", "name at least one policy file to check") }
        }

        func run() async throws {
            var failed = false
            for file in files {
                let (policy, diagnostics) = PolicyLoader.review(path: file)
                report(PolicyFileError(diagnostics))
                guard let policy else {
                    failed = true
                    continue
                }
                let warnings = diagnostics.count
                Bilingual.say(
                    "\(file): 正常(版 \(policy.version)、サービス \(policy.services.count)、利用目的 \(policy.purposes.count)、項目 \(policy.fields.count)、外部送信先 \(policy.vendors.count)\(warnings > 0 ? "、警告 \(warnings) 件" : ""))",
                    "\(file): ok (version \(policy.version), \(policy.services.count) services, \(policy.purposes.count) purposes, \(policy.fields.count) fields, \(policy.vendors.count) vendors\(warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))"
                )
            }
            if failed { throw ExitCode(1) }
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
