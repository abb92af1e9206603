import Foundation
import WSClient

/// A Chrome DevTools protocol connection to one browser, over its WebSocket: commands with ids answered by
/// results, and the events the scanner needs (requests sent, pages loaded), kept per attached session.
actor DevToolsClient {
    private let outbound: WebSocketOutboundWriter
    private var nextID = 1
    private var pending: [Int: CheckedContinuation<Data, any Error>] = [:]
    private var requests: [String: [String]] = [:]
    private var loaded: Set<String> = []
    private var loadWaiters: [String: CheckedContinuation<Void, Never>] = [:]
    private var closed = false

    init(outbound: WebSocketOutboundWriter) {
        self.outbound = outbound
    }

    /// Sends `method` with `params` (a JSON object, already encoded) and returns the result object's JSON.
    func call(_ method: String, _ params: String = "{}", session: String? = nil) async throws -> Data {
        guard !closed else { throw ScanError("the browser closed the DevTools connection") }
        let id = nextID
        nextID += 1
        var message = #"{"id":\#(id),"method":\#(Self.quoted(method)),"params":\#(params)"#
        if let session { message += #","sessionId":\#(Self.quoted(session))"# }
        message += "}"
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            Task { [outbound] in
                do { try await outbound.write(.text(message)) } catch { self.fail(id, error) }
            }
        }
    }

    /// Handles one message from the browser.
    func receive(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
        if let id = object["id"] as? Int, let continuation = pending.removeValue(forKey: id) {
            if let error = object["error"] as? [String: Any] {
                continuation.resume(throwing: ScanError("DevTools: \(error["message"] as? String ?? "error")"))
            } else {
                let result = object["result"] ?? [String: Any]()
                continuation.resume(returning: (try? JSONSerialization.data(withJSONObject: result)) ?? Data("{}".utf8))
            }
            return
        }
        guard let method = object["method"] as? String, let session = object["sessionId"] as? String else { return }
        let params = object["params"] as? [String: Any]
        switch method {
        case "Network.requestWillBeSent":
            if let url = (params?["request"] as? [String: Any])?["url"] as? String { requests[session, default: []].append(url) }
        case "Network.webSocketCreated":
            if let url = params?["url"] as? String { requests[session, default: []].append(url) }
        case "Page.loadEventFired":
            loaded.insert(session)
            loadWaiters.removeValue(forKey: session)?.resume()
        default:
            break
        }
    }

    /// The connection ended: every call still waiting fails.
    func close() {
        closed = true
        for continuation in pending.values { continuation.resume(throwing: ScanError("the browser closed the DevTools connection")) }
        pending = [:]
        for waiter in loadWaiters.values { waiter.resume() }
        loadWaiters = [:]
    }

    /// Forgets what `session` requested and whether it loaded, before a navigation.
    func reset(session: String) {
        requests[session] = []
        loaded.remove(session)
    }

    /// The URLs `session` requested since its last reset.
    func requested(session: String) -> [String] { requests[session] ?? [] }

    /// Returns when `session`'s page fired its load event, or after `timeout`; true when it loaded.
    func waitForLoad(session: String, timeout: Duration) async -> Bool {
        if loaded.contains(session) { return true }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.timeOut(session)
        }
        await withCheckedContinuation { continuation in
            if loaded.contains(session) || closed { continuation.resume() } else { loadWaiters[session] = continuation }
        }
        timer.cancel()
        return loaded.contains(session)
    }

    private func timeOut(_ session: String) {
        loadWaiters.removeValue(forKey: session)?.resume()
    }

    private func fail(_ id: Int, _ error: any Error) {
        pending.removeValue(forKey: id)?.resume(throwing: error)
    }

    static func quoted(_ text: String) -> String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8),
            as: UTF8.self
        ).dropFirst().dropLast().description
    }
}

/// Why a scan could not be carried out (as opposed to what it found).
public struct ScanError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Data {
    /// The JSON object this holds, or an empty one.
    var jsonObject: [String: Any] { ((try? JSONSerialization.jsonObject(with: self)) as? [String: Any]) ?? [:] }
}
