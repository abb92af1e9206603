import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// A response for a pre-rendered page, with its ETag; `If-None-Match` with the same tag gets `304`.
func cachedResponse(_ page: RenderedPage, request: Request, language: Language?, cacheControl: String = "no-cache") -> Response {
    var headers = HTTPFields()
    headers[.eTag] = page.etag
    headers[.cacheControl] = cacheControl
    if let language { headers[.contentLanguage] = language.rawValue }
    if let tags = request.headers[.ifNoneMatch],
        tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == page.etag || $0 == "*" })
    {
        return Response(status: .notModified, headers: headers)
    }
    headers[.contentType] = page.contentType
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: page.body))
}
