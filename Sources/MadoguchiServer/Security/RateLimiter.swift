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

    private let rule: Rule
    private let buckets = Mutex<[String: Bucket]>([:])

    init(_ rule: Rule) {
        self.rule = rule
    }

    /// nil when allowed; otherwise the seconds until the next request will be.
    func acquire(_ client: String, now: TimeInterval = Date().timeIntervalSince1970) -> Int? {
        let rate = Double(rule.capacity) / rule.window
        return buckets.withLock { buckets in
            if buckets.count > 50_000 {
                // Forget clients whose buckets have refilled; bounds memory under address-spraying.
                buckets = buckets.filter { now - $0.value.updated < rule.window }
            }
            var bucket = buckets[client] ?? Bucket(tokens: Double(rule.capacity), updated: now)
            bucket.tokens = min(Double(rule.capacity), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[client] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
