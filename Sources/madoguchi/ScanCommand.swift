import ArgumentParser
import Foundation
import MadoguchiCore
import MadoguchiScan

/// `madoguchi scan URL…`: the transmission check of R-EXT-2, run against the operator's real pages.
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Load pages in headless Chromium in every consent state and report hosts the policy does not declare.",
        discussion: """
        Each page is loaded in four states: a first visit, a first visit with Global Privacy Control, everything refused
        and everything allowed (the snippet's state cookie is set before loading). Every host the page then contacts is
        compared with the vendors' declared hosts. One line per problem on standard output:
          undeclared  URL  STATE  HOST                 no vendor declares the host
          against     URL  STATE  HOST  VENDOR[,…]     a vendor contacted although the state refuses it
        Progress goes to standard error. Exit status: 0 nothing found, 1 problems found, 2 a page could not be scanned.
        """)

    @Argument(help: "The pages to check (http or https URLs).")
    var urls: [String]

    @Option(help: "The policy file whose vendors are declared. Env: MADOGUCHI_POLICY. Default: examples/policy.yaml")
    var policy: String?

    @Option(help: "The Chromium executable. Default: /usr/bin/chromium")
    var chromium = "/usr/bin/chromium"

    @Option(name: .customLong("chromium-flag"), parsing: .unconditionalSingleValue, help: "An extra Chromium flag (repeatable), e.g. --chromium-flag=--proxy-server=…")
    var chromiumFlags: [String] = []

    @Option(name: .customLong("allow-host"), help: "A host of the operator's own besides each page's (repeatable), e.g. a CDN.")
    var allowHosts: [String] = []

    @Option(help: "Seconds to keep listening after each page's load event (tags often send a moment later). Default: 2")
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
        let scanner = TransmissionScanner(policy: policy, chromium: chromium, extraFlags: chromiumFlags, alsoAllowed: allowHosts,
                                          settle: .milliseconds(Int(settle * 1_000)), logger: try logging.makeLogger(label: "madoguchi.scan"))
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
            throw ExitCode(2)
        }
        var problems = 0
        for scan in results {
            for finding in scan.findings {
                problems += 1
                switch finding {
                case let .undeclared(host): print("undeclared \(scan.url.absoluteString) \(scan.state.name) \(host)")
                case let .againstChoice(host, vendors): print("against \(scan.url.absoluteString) \(scan.state.name) \(host) \(vendors.joined(separator: ","))")
                }
            }
        }
        Bilingual.warn("ページ読み込み \(results.count) 回、問題 \(problems) 件",
                       "\(results.count) page loads, \(problems) problem\(problems == 1 ? "" : "s")")
        if problems > 0 { throw ExitCode(1) }
    }
}
