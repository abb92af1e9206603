import ArgumentParser
import Foundation
import MadoguchiCore
import MadoguchiScan

/// `madoguchi scan URL…`: the transmission check of R-EXT-2, run against the operator's real pages.
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract:
            "ページを同意の状態ごとにヘッドレス Chromium で読み込み、宣言のない通信先を報告します。 / Load pages in headless Chromium in every consent state and report hosts the policy does not declare.",
        discussion: """
            各ページを 4 つの状態で読み込みます: 初回訪問、GPC 付きの初回訪問、
            すべて拒否、すべて許可(読み込む前にスニペットの状態 Cookie を置きます)。
            ページが通信したホストを外部送信先の宣言と突き合わせ、問題を 1 件 1 行で
            標準出力に出します(形式は下のとおり。undeclared は宣言のないホスト、
            against は状態が拒否しているのに通信した送信先)。進み具合は標準エラーへ。
            終了コード: 0 問題なし、1 問題あり、2 確認できないページがあった。

            Each page is loaded in four states: a first visit, a first visit with Global Privacy Control, everything \
            refused and everything allowed (the snippet's state cookie is set before loading). Every host the page then \
            contacts is compared with the vendors' declared hosts. One line per problem on standard output:
              undeclared  URL  STATE  HOST               no vendor declares the host
              against     URL  STATE  HOST  VENDOR[,…]   refused, yet contacted
            Progress goes to standard error. Exit status: 0 nothing found, 1 problems found, 2 a page could not be \
            scanned.
            """
    )

    @Argument(help: "確認するページ(http・https の URL)。\nThe pages to check (http or https URLs).")
    var urls: [String]

    @Option(
        help:
            "外部送信先を宣言したポリシーファイル。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file whose vendors are declared. Env: MADOGUCHI_POLICY. Default: examples/policy.yaml"
    )
    var policy: String?

    @Option(help: "Chromium の実行ファイル。既定: /usr/bin/chromium\nThe Chromium executable. Default: /usr/bin/chromium")
    var chromium = "/usr/bin/chromium"

    @Option(
        name: .customLong("chromium-flag"),
        parsing: .unconditionalSingleValue,
        help:
            "Chromium に渡す追加のフラグ(繰り返し可)。例: --chromium-flag=--proxy-server=…\nAn extra Chromium flag (repeatable), e.g. --chromium-flag=--proxy-server=…"
    )
    var chromiumFlags: [String] = []

    @Option(
        name: .customLong("allow-host"),
        help: "各ページのホストのほかに、運営者自身のホスト(繰り返し可)。例: CDN\nA host of the operator's own besides each page's (repeatable), e.g. a CDN."
    )
    var allowHosts: [String] = []

    @Option(
        help:
            "各ページの load イベントの後も通信を見続ける秒数(タグは少し遅れて送ることが多い)。既定: 2\nSeconds to keep listening after each page's load event (tags often send a moment later). Default: 2"
    )
    var settle: Double = 2

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        for url in urls {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw Bilingual.refusal("'\(url)' は http・https の URL ではありません", "'\(url)' is not an http or https URL")
            }
        }
        guard settle >= 0, settle <= 60 else { throw Bilingual.refusal("--settle: 0〜60 秒で指定してください", "--settle: give 0 to 60 seconds") }
    }

    func run() async throws {
        let policy = try loadPolicy(self.policy)
        let scanner = TransmissionScanner(
            policy: policy,
            chromium: chromium,
            extraFlags: chromiumFlags,
            alsoAllowed: allowHosts,
            settle: .milliseconds(Int(settle * 1_000)),
            logger: try logging.makeLogger(label: "madoguchi.scan")
        )
        let results: [PageScan]
        do {
            results = try await scanner.scan(urls.compactMap(URL.init(string:))) { done, total, scan in
                // One line per page load, Japanese then English after " / ", so progress stays one line per load.
                let head = "[\(done)/\(total)] \(scan.url.absoluteString) \(scan.state.name): "
                var ja = "通信 \(scan.requestCount) 件、" + (scan.findings.isEmpty ? "問題なし" : "問題 \(scan.findings.count) 件")
                var en = "\(scan.requestCount) requests, "
                en += scan.findings.isEmpty ? "ok" : "\(scan.findings.count) problem\(scan.findings.count == 1 ? "" : "s")"
                if scan.loadTimedOut {
                    ja += "(load イベントが来ないため、それまでの送信を確認しました)"
                    en += " (the load event did not come; checked what was sent until then)"
                }
                FileHandle.standardError.write(Data((head + ja + " / " + en + "\n").utf8))
            }
        } catch {
            Bilingual.warn("エラー: 確認を続けられません(\(error))", "error: \(error)")
            throw ExitCode(ExitStatus.failed)
        }
        var problems = 0
        for scan in results {
            for finding in scan.findings {
                problems += 1
                switch finding {
                case let .undeclared(host): print("undeclared \(scan.url.absoluteString) \(scan.state.name) \(host)")
                case let .againstChoice(host, vendors):
                    print("against \(scan.url.absoluteString) \(scan.state.name) \(host) \(vendors.joined(separator: ","))")
                }
            }
        }
        Bilingual.warn(
            "ページ読み込み \(results.count) 回、問題 \(problems) 件",
            "\(results.count) page loads, \(problems) problem\(problems == 1 ? "" : "s")"
        )
        if problems > 0 { throw ExitCode(1) }
    }
}
