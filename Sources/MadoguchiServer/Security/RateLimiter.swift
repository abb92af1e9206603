import Foundation
import Synchronization

/// Limits how often one client may use a public endpoint (R-SEC-2): a token bucket per client and endpoint.
final class RateLimiter: Sendable {
    /// `capacity` requests at once, refilled evenly over `window`.
    struct Rule: Sendable {
        var capacity: Int
        var window: TimeInterval

        static let inquiries = Rule(capacity: 10, window: 600)
    }

    private struct Bucket {
        var tokens: Double
        var updated: TimeInterval
    }

    /// The buckets of the current generation and of the one before. Each call costs O(1): a bucket is looked up in
    /// the current generation, then the previous one (and moved over); when a window has passed, or the current
    /// generation holds `capacityOfClients` buckets, the previous one is dropped whole and the current becomes it.
    /// A bucket older than a window is full again anyway, so dropping it changes nothing; memory stays bounded by
    /// 2 × `capacityOfClients` buckets under address spraying.
    private struct Generations {
        var current: [String: Bucket] = [:]
        var previous: [String: Bucket] = [:]
        var rotatedAt: TimeInterval
    }

    private let rule: Rule
    let capacityOfClients: Int
    private let state: Mutex<Generations>

    init(_ rule: Rule, clients: Int = 50_000) {
        self.rule = rule
        capacityOfClients = max(1, clients)
        state = Mutex(Generations(rotatedAt: Date().timeIntervalSince1970))
    }

    /// How many clients' buckets are held (for tests of the bound).
    var heldClients: Int {
        state.withLock { $0.current.count + $0.previous.count }
    }

    /// nil when allowed; otherwise the seconds until the next request will be.
    func acquire(_ client: String, now: TimeInterval = Date().timeIntervalSince1970) -> Int? {
        let rate = Double(rule.capacity) / rule.window
        let window = rule.window
        let limit = capacityOfClients
        return state.withLock { state in
            if now - state.rotatedAt >= window || state.current.count >= limit {
                state.previous = state.current
                state.current = [:]
                state.rotatedAt = now
            }
            var bucket =
                state.current[client] ?? state.previous.removeValue(forKey: client)
                ?? Bucket(tokens: Double(rule.capacity), updated: now)
            let elapsed = max(0, now - bucket.updated)
            bucket.tokens = min(Double(rule.capacity), bucket.tokens + elapsed * rate)
            bucket.updated = max(bucket.updated, now)
            defer { state.current[client] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            // At most a window: the wait is bounded before it becomes an Int.
            return max(1, Int(min(window, 31_536_000, (1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
