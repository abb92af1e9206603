import Foundation
import Logging
import MadoguchiCore
import Synchronization
import WSClient

/// What a scan of one page in one consent state saw.
public struct PageScan: Sendable {
    public let url: URL
    public let state: ScanState
    public let requestCount: Int
    public let findings: [TransmissionFinding]
    /// The page did not fire its load event in time (what it requested until then was still checked).
    public let loadTimedOut: Bool
}

/// `madoguchi scan` (R-EXT-2): loads each page in headless Chromium in every consent state, over the DevTools
/// protocol, and compares the hosts contacted with the vendors the policy declares.
public struct TransmissionScanner: Sendable {
    public var chromium: String
    public var extraFlags: [String]
    /// Hosts the operator names as its own, besides each page's host.
    public var alsoAllowed: [String]
    /// How long to keep listening after the load event: tags often send their first beacon a moment later.
    public var settle: Duration
    public var loadTimeout: Duration
    public let policy: Policy
    public let logger: Logger

    public init(
        policy: Policy,
        chromium: String = "/usr/bin/chromium",
        extraFlags: [String] = [],
        alsoAllowed: [String] = [],
        settle: Duration = .seconds(2),
        loadTimeout: Duration = .seconds(20),
        logger: Logger
    ) {
        self.policy = policy
        self.chromium = chromium
        self.extraFlags = extraFlags
        self.alsoAllowed = alsoAllowed
        self.settle = settle
        self.loadTimeout = loadTimeout
        self.logger = logger
    }

    /// Scans every page in every state, calling `progress` after each; pages are scanned one after another, each
    /// state in a fresh browser context (no cookies or cache carried over).
    public func scan(_ pages: [URL], progress: @escaping @Sendable (Int, Int, PageScan) -> Void) async throws -> [PageScan] {
        let browser = try ChromiumProcess.launch(chromium, flags: extraFlags)
        defer { browser.stop() }
        let endpoint = try await browser.endpoint(timeout: .seconds(30))
        let states = ScanState.all(for: policy)
        let outcome = Outcome()
        var configuration = WebSocketClientConfiguration()
        configuration.maxFrameSize = 1 << 26
        try await WebSocketClient.connect(url: endpoint, configuration: configuration, logger: logger) { inbound, outbound, _ in
            let client = DevToolsClient(outbound: outbound)
            let work = Task {
                do {
                    var done = 0
                    for page in pages {
                        for state in states {
                            let result = try await scan(page, in: state, client)
                            done += 1
                            outcome.results.withLock { $0.append(result) }
                            progress(done, pages.count * states.count, result)
                        }
                    }
                } catch {
                    outcome.failure.withLock { $0 = error }
                }
                // Closing the browser closes the socket, which ends the loop below.
                _ = try? await client.call("Browser.close")
            }
            for try await message in inbound.messages(maxSize: 1 << 26) {
                if case let .text(text) = message { await client.receive(text) }
            }
            await client.close()
            _ = await work.result
        }
        if let error = outcome.failure.withLock({ $0 }) { throw error }
        return outcome.results.withLock { $0 }
    }

    /// What the connection's handler hands back.
    private final class Outcome: Sendable {
        let results = Mutex<[PageScan]>([])
        let failure = Mutex<(any Error)?>(nil)
    }

    private func scan(_ page: URL, in state: ScanState, _ client: DevToolsClient) async throws -> PageScan {
        let context =
            try await client.call("Target.createBrowserContext", #"{"disposeOnDetach":true}"#).jsonObject["browserContextId"] as? String ?? ""
        let target =
            try await client.call(
                "Target.createTarget",
                #"{"url":"about:blank","browserContextId":\#(DevToolsClient.quoted(context))}"#
            ).jsonObject["targetId"] as? String ?? ""
        let session =
            try await client.call(
                "Target.attachToTarget",
                #"{"targetId":\#(DevToolsClient.quoted(target)),"flatten":true}"#
            ).jsonObject["sessionId"] as? String ?? ""
        do {
            let result = try await load(page, in: state, session: session, client)
            _ = try await client.call("Target.disposeBrowserContext", #"{"browserContextId":\#(DevToolsClient.quoted(context))}"#)
            return result
        } catch {
            _ = try? await client.call("Target.disposeBrowserContext", #"{"browserContextId":\#(DevToolsClient.quoted(context))}"#)
            throw error
        }
    }

    private func load(_ page: URL, in state: ScanState, session: String, _ client: DevToolsClient) async throws -> PageScan {
        _ = try await client.call("Network.enable", session: session)
        _ = try await client.call("Page.enable", session: session)
        if let cookie = state.cookie {
            _ = try await client.call(
                "Network.setCookie",
                #"{"name":\#(DevToolsClient.quoted(ConsentCookie.name(policy))),"value":\#(DevToolsClient.quoted(cookie)),"url":\#(DevToolsClient.quoted(page.absoluteString)),"path":"/"}"#,
                session: session
            )
        }
        if state.gpc {
            _ = try await client.call("Network.setExtraHTTPHeaders", #"{"headers":{"Sec-GPC":"1"}}"#, session: session)
            _ = try await client.call(
                "Page.addScriptToEvaluateOnNewDocument",
                #"{"source":"Object.defineProperty(Navigator.prototype,'globalPrivacyControl',{get:()=>true});"}"#,
                session: session
            )
        }
        await client.reset(session: session)
        let navigation = try await client.call("Page.navigate", #"{"url":\#(DevToolsClient.quoted(page.absoluteString))}"#, session: session)
            .jsonObject
        if let error = navigation["errorText"] as? String, !error.isEmpty {
            throw ScanError("\(page.absoluteString): the page did not load (\(error))")
        }
        let loaded = await client.waitForLoad(session: session, timeout: loadTimeout)
        try await Task.sleep(for: settle)
        let urls = await client.requested(session: session)
        return PageScan(
            url: page,
            state: state,
            requestCount: urls.count,
            findings: TransmissionCheck.findings(page: page, requested: urls, state: state, policy: policy, alsoAllowed: alsoAllowed),
            loadTimedOut: !loaded
        )
    }
}

/// Headless Chromium with the DevTools protocol on a port it picks, in a profile of its own that is removed at stop.
final class ChromiumProcess: Sendable {
    private let process: Mutex<Process>
    private let profile: URL

    private init(process: Process, profile: URL) {
        self.process = Mutex(process)
        self.profile = profile
    }

    static func launch(_ executable: String, flags: [String]) throws -> ChromiumProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ScanError("no Chromium at \(executable) (apt-get install chromium, or give --chromium PATH)")
        }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("madoguchi-scan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                // The WebSocket client sends Origin ws://127.0.0.1; no web page has that origin, so pages
                // being scanned cannot reach the DevTools port themselves.
                "--remote-debugging-port=0", "--remote-allow-origins=ws://127.0.0.1",
                "--user-data-dir=\(profile.path)",
            ] + flags + ["about:blank"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return ChromiumProcess(process: process, profile: profile)
    }

    /// The browser's WebSocket endpoint, read from the DevToolsActivePort file Chromium writes once it listens.
    func endpoint(timeout: Duration) async throws -> String {
        let file = profile.appendingPathComponent("DevToolsActivePort")
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8) {
                let lines = text.split(separator: "\n")
                if lines.count >= 2, let port = Int(lines[0]) { return "ws://127.0.0.1:\(port)\(lines[1])" }
            }
            guard process.withLock({ $0.isRunning }) else { throw ScanError("Chromium exited before it was ready") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ScanError("Chromium did not open its DevTools port within \(timeout)")
    }

    func stop() {
        process.withLock { process in
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        try? FileManager.default.removeItem(at: profile)
    }
}
