import Crypto
import Foundation
import MadoguchiCore
import NIOCore
import Synchronization

/// A page rendered once and served many times, with its entity tag.
public struct RenderedPage: Sendable {
    public let body: ByteBuffer
    public let etag: String
    public let contentType: String

    init(_ data: some Collection<UInt8>, contentType: String) {
        self.body = ByteBuffer(bytes: data)
        self.etag = "\"" + Hex.encode(SHA256.hash(data: Array(data)).prefix(16)) + "\""
        self.contentType = contentType
    }
}

/// Which published view of a policy version.
public enum PolicyPageKind: String, Sendable, Hashable {
    case full
    case externalTransmission
    case json
}

/// The published policy: the current version from the policy file and every stored older one, each page rendered
/// once per version and language and then served from memory.
public final class PolicySite: Sendable {
    public let current: Policy
    public let resources: SiteResources
    private let store: PolicyVersionStore
    private let versions: [PolicyVersion]
    private let cache = Mutex<[CacheKey: RenderedPage]>([:])
    /// The revision history in each language, rendered at start from every stored version.
    private let history: [Language: RenderedPage]

    private struct CacheKey: Hashable {
        let version: String
        let kind: PolicyPageKind
        let language: Language
    }

    /// Prepares the site and renders every page of the current version.
    public init(current: Policy, store: PolicyVersionStore, resources: SiteResources) async throws {
        self.current = current
        self.store = store
        self.resources = resources
        let versions = try await store.versions()
        self.versions = versions
        var texts: [(PolicyVersion, Policy)] = []
        for version in versions {
            guard let policy = version.id == current.version ? current : try await store.policy(version: version.id) else { continue }
            texts.append((version, policy))
        }
        var history: [Language: RenderedPage] = [:]
        for language in Language.allCases {
            let model = PolicyHistoryModel(current: current, versions: texts, language: language, t: resources.text(language))
            history[language] = RenderedPage(Array(try resources.render("privacy-versions", model).utf8), contentType: "text/html; charset=utf-8")
        }
        self.history = history
        for language in Language.allCases {
            for kind in [PolicyPageKind.full, .externalTransmission, .json] {
                _ = try render(current, kind, language)
            }
        }
    }

    /// The page for `version` (nil: the current one), or nil when no such version is stored.
    public func page(_ kind: PolicyPageKind, version: String? = nil, language: Language) async throws -> RenderedPage? {
        let id = version ?? current.version
        if let hit = cache.withLock({ $0[CacheKey(version: id, kind: kind, language: kind == .json ? .ja : language)] }) {
            return hit
        }
        guard let policy = id == current.version ? current : try await store.policy(version: id) else { return nil }
        return try render(policy, kind, language)
    }

    /// `/privacy/versions` in `language`: every stored version with what changed from the one before.
    public func historyPage(language: Language) -> RenderedPage? {
        history[language]
    }

    private func render(_ policy: Policy, _ kind: PolicyPageKind, _ language: Language) throws -> RenderedPage {
        let page = try Self.render(policy, kind, language, resources: resources, versions: versions, currentVersion: current.version)
        cache.withLock { $0[CacheKey(version: policy.version, kind: kind, language: kind == .json ? .ja : language)] = page }
        return page
    }

    /// Renders one view of `policy`; `versions` lists the stored versions to link to (none outside a server).
    public static func render(
        _ policy: Policy,
        _ kind: PolicyPageKind,
        _ language: Language,
        resources: SiteResources,
        versions: [PolicyVersion] = [],
        currentVersion: String? = nil
    ) throws -> RenderedPage {
        let isCurrent = policy.version == (currentVersion ?? policy.version)
        switch kind {
        case .json:
            return RenderedPage(policy.publishedJSON(), contentType: "application/json; charset=utf-8")
        case .full, .externalTransmission:
            let base = isCurrent ? SitePath.privacy : SitePath.version(policy.version)
            let path = kind == .full ? base : base + "/external-transmission"
            let model = PolicyPageModel(
                policy: policy,
                language: language,
                strings: resources.text(language),
                path: path,
                isCurrent: isCurrent,
                versions: versions,
                currentVersion: currentVersion ?? policy.version
            )
            let html = try resources.render(kind == .full ? "privacy" : "external", model)
            return RenderedPage(Array(html.utf8), contentType: "text/html; charset=utf-8")
        }
    }

    /// An error page in `language`, rendered on demand (errors are rare and must never fail to render).
    public func errorPage(language: Language, path: String, heading: String, message: String) -> RenderedPage {
        let t = resources.text(language)
        let model = ErrorPageModel(
            language: language,
            strings: t,
            operatorName: current.company.name[language],
            path: path,
            heading: heading,
            message: message
        )
        let html = (try? resources.render("error", model)) ?? "<!DOCTYPE html><title>Error</title><h1>エラー / Error</h1>"
        return RenderedPage(Array(html.utf8), contentType: "text/html; charset=utf-8")
    }
}
