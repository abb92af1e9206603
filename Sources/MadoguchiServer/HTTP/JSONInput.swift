import Foundation
import Hummingbird
import MadoguchiCore

/// Reading JSON bodies the same way on every API route: `application/json` only (415 otherwise — which is also
/// why these routes need no CSRF token: a cross-site form cannot send it without a preflight), size-limited (413),
/// and a body of another shape is 400 with `expected`, which says the shape in both languages.
enum JSONInput {
    static func decode<T: Decodable>(_ request: Request, _ context: some SiteContext, expected: LocalizedText) async throws -> T {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
            throw PublicError(
                .unsupportedMediaType,
                LocalizedText(ja: "Content-Type は application/json にしてください。", en: "Send the body as application/json.")
            )
        }
        let body = try await FormInput.collect(request, context)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw PublicError(.badRequest, expected)
        }
    }
}
