import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// JSON answers of the API, one way: `application/json` for success, an RFC 9457 problem document
/// (`application/problem+json`, `status`, `title`, `detail` in English and `detail_ja`) for a refusal.
enum JSONAnswer {
    /// `body` as JSON with sorted keys; a problem document when `status` is 4xx or 5xx. Never cached.
    static func response(_ status: HTTPResponse.Status, _ body: [String: Any], headers extra: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        var headers = extra
        headers[.contentType] = status.code >= 400 ? "application/problem+json" : "application/json"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: .init(bytes: data)))
    }

    /// A problem document: `detail` (English) and `detail_ja`, plus any `extra` members.
    static func problem(
        _ status: HTTPResponse.Status,
        detail: String,
        detailJA: String?,
        extra: [String: Any] = [:],
        headers: HTTPFields = [:]
    ) -> Response {
        var body: [String: Any] = ["status": Int(status.code), "title": status.reasonPhrase, "detail": detail]
        if let detailJA { body["detail_ja"] = detailJA }
        body.merge(extra) { _, new in new }
        return response(status, body, headers: headers)
    }

    /// 422 naming every invalid field (`field`, `code`, `message_ja`, `message_en`, `limit`); nothing was stored.
    static func fieldProblems(
        _ problems: [FieldProblem],
        label: (String) -> LocalizedText,
        strings: (ja: [String: String], en: [String: String]),
        detail: String = "Some fields are missing or invalid; nothing was stored."
    ) -> Response {
        let errors: [[String: Any]] = problems.map { problem in
            let name = label(problem.field)
            var entry: [String: Any] = [
                "field": problem.field, "code": problem.code.rawValue,
                "message_ja": InquiryFormModel.message(problem, label: name.ja, strings.ja),
                "message_en": InquiryFormModel.message(problem, label: name.en, strings.en),
            ]
            if let limit = problem.limit { entry["limit"] = limit }
            return entry
        }
        return problem(.unprocessableContent, detail: detail, detailJA: "入力内容に不備があります。何も保存していません。", extra: ["errors": errors])
    }
}
