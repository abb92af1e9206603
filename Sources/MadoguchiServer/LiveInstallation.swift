import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import Synchronization

/// The installation a running server answers with, replaced whole when the policy changes (R-OPS-1): the pages, the
/// purpose guard and every route are rebuilt for the new version and swapped in at once; requests in flight finish
/// on the version they started with. Servers on one database agree through it: the version served is the stored one
/// whose text took effect last (`PolicyVersionStore.latest`), adopted at start, on `SIGHUP` (which first loads the
/// server's own policy file) and by a look every few seconds — so `madoguchi policy load FILE` on any machine reaches
/// every server.
public final class LiveInstallation: HTTPResponderBuilder, Sendable {
    private struct State: Sendable {
        var installation: Installation
        var responder: RouterResponder<SiteRequestContext>
    }

    private let state: Mutex<State>
    /// One reload at a time per server (a signal and the periodic look may meet).
    private let reloading = Mutex(false)

    public init(_ installation: Installation) {
        state = Mutex(State(installation: installation, responder: buildRouter(installation).buildResponder()))
    }

    /// The installation now served.
    public var installation: Installation { state.withLock { $0.installation } }

    public func buildResponder() -> LiveResponder { LiveResponder(live: self) }

    /// Hands each request to the routes of the version served when it arrives.
    public struct LiveResponder: HTTPResponder {
        let live: LiveInstallation

        public func respond(to request: Request, context: SiteRequestContext) async throws -> Response {
            try await live.state.withLock { $0.responder }.respond(to: request, context: context)
        }
    }

    /// Adopts the latest stored version when it is not the one served. True when it changed.
    @discardableResult
    public func adoptLatest(logger: Logger) async throws -> Bool {
        guard begin() else { return false }
        defer { end() }
        let current = installation
        let store = PolicyVersionStore(database: current.database)
        guard let latest = try await store.latest(), latest != current.policy.version,
            let policy = try await store.policy(version: latest)
        else { return false }
        let next = try await current.serving(policy)
        state.withLock { $0 = State(installation: next, responder: buildRouter(next).buildResponder()) }
        logger.notice("now serving policy version", metadata: ["policy.version": "\(latest)", "policy.previous": "\(current.policy.version)"])
        return true
    }

    /// Reads the server's policy file again (`SIGHUP`): an invalid file, or a version id reused for other content, is
    /// logged and changes nothing; a valid one is stored and the latest stored version adopted.
    public func reloadFile(logger: Logger) async {
        let installation = installation
        let path = installation.configuration.policyPath
        do {
            let (policy, source, warnings) = try PolicyLoader.loadReviewed(path: path)
            logPolicyWarnings(warnings, logger: logger)
            if try await PolicyVersionStore(database: installation.database).store(policy, source: source) == .stored {
                logger.info("stored a new policy version", metadata: ["version": "\(policy.version)"])
            }
            try await adoptLatest(logger: logger)
        } catch let error as PolicyFileError {
            for diagnostic in error.diagnostics {
                logger.error("policy file not loaded: \(diagnostic.file):\(diagnostic.line):\(diagnostic.column): \(diagnostic.text.en)")
            }
        } catch let error as PolicyVersionConflict {
            logger.error("policy file not loaded: \(error.text.en)")
        } catch {
            logger.error("policy reload failed", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
        }
    }

    private func begin() -> Bool {
        reloading.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    private func end() { reloading.withLock { $0 = false } }
}

extension Installation {
    /// The same installation serving `policy`: its pages rendered, the purpose guard deciding by it.
    func serving(_ policy: Policy) async throws -> Installation {
        let store = PolicyVersionStore(database: database)
        return Installation(
            configuration: configuration,
            database: database,
            keyStore: keyStore,
            ring: ring,
            policy: policy,
            site: try await PolicySite(current: policy, store: store, resources: site.resources),
            vault: vault,
            guardian: PurposeGuard(vault: vault, versions: store, current: policy),
            staff: staff,
            storedNewVersion: false,
            auditWatch: auditWatch
        )
    }
}
