import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MadoguchiCore

/// Turns every error into a proper page: HTML in the page's language for people, a problem document
/// (RFC 9457) for JSON clients. Internal errors are logged by type only — never with personal data.
struct ErrorPageMiddleware<Context: RequestContext>: RouterMiddleware {
    let site: PolicySite

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return respond(to: error, request: request, context: context)
        }
    }

    /// The error's type and, where it is known to hold no personal data, its message.
    static func errorMetadata(_ error: any Error) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["error.type": "\(String(reflecting: type(of: error)))"]
        if let message = Database.safeMessage(error) { metadata["error.message"] = "\(message)" }
        return metadata
    }

    private func respond(to error: any Error, request: Request, context: Context) -> Response {
        let language = Language(rawValue: request.uri.queryParameters["lang"].map(String.init) ?? "ja") ?? .ja
        let status: HTTPResponse.Status
        let message: LocalizedText?
        var extraHeaders = HTTPFields()
        switch error {
        case let redirect as RedirectError:
            return Response.seeOther(redirect.location)
        case is ServiceListError:
            return serviceList(request: request, language: language)
        case let error as TooManyRequests:
            status = .tooManyRequests
            extraHeaders[.retryAfter] = "\(error.retryAfter)"
            let seconds = ["seconds": "\(error.retryAfter)"]
            message = LocalizedText(
                ja: site.resources.text(.ja).format("too_many_text", seconds),
                en: site.resources.text(.en).format("too_many_text", seconds)
            )
        case let error as PublicError:
            status = error.status
            message = error.message
        case let error as MethodNotAllowed:
            status = .methodNotAllowed
            extraHeaders[.allow] = error.allow
            message = LocalizedText(
                ja: "このアドレスで使えるメソッドは \(error.allow) です。",
                en: "This address accepts \(error.allow) only."
            )
        case let error as HTTPError:
            status = error.status
            message = nil
        case let error where Database.isUnavailable(error) || Database.isStorageFull(error):
            // The database is down or restarting, or its disk is full: say so, and when to try again, instead of a
            // 500. Nothing of the request was stored (its transaction was rolled back).
            status = .serviceUnavailable
            extraHeaders[.retryAfter] = "5"
            message = LocalizedText(ja: site.resources.text(.ja).format("unavailable_text"), en: site.resources.text(.en).format("unavailable_text"))
            context.logger.error(
                Database.isStorageFull(error) ? "database disk full: request refused, nothing stored" : "database unavailable",
                metadata: Self.errorMetadata(error)
            )
        default:
            status = .internalServerError
            message = nil
            context.logger.error("request failed", metadata: Self.errorMetadata(error))
        }
        let t = site.resources.text(language)
        let heading: String
        let text: String
        switch status {
        case .notFound:
            heading = t.format("not_found_title")
            text = message?[language] ?? t.format("not_found_text")
        case .internalServerError:
            heading = t.format("error_title")
            text = t.format("error_text")
        case .tooManyRequests:
            heading = t.format("too_many_title")
            text = message?[language] ?? status.reasonPhrase
        case .serviceUnavailable:
            heading = t.format("unavailable_title")
            text = message?[language] ?? status.reasonPhrase
        default:
            heading = t.format("bad_request_title")
            text = message?[language] ?? status.reasonPhrase
        }
        if wantsJSON(request) {
            return JSONAnswer.problem(status, detail: message?.en ?? text, detailJA: message?.ja, headers: extraHeaders)
        }
        let page = site.errorPage(language: language, path: request.uri.path, heading: heading, message: text)
        var headers = extraHeaders
        headers[.contentType] = page.contentType
        headers[.cacheControl] = "no-store"
        headers[.contentLanguage] = language.rawValue
        return Response(status: status, headers: headers, body: .init(byteBuffer: page.body))
    }

    /// 404 for an unknown service, listing the services that exist.
    private func serviceList(request: Request, language: Language) -> Response {
        let t = site.resources.text(language)
        let model = ServiceListModel(
            policy: site.current,
            language: language,
            t: t,
            path: request.uri.path,
            heading: t.format("not_found_title"),
            message: t.format("unknown_service_text")
        )
        return (try? site.resources.page("inquiry-index", model, status: .notFound, cacheControl: "no-store"))
            ?? Response(status: .notFound)
    }

    private func wantsJSON(_ request: Request) -> Bool {
        let path = request.uri.path
        if path.hasPrefix("/api/") || path.hasSuffix(".json") { return true }
        let accept = request.headers[.accept] ?? ""
        return accept.contains("json") && !accept.contains("html")
    }
}
