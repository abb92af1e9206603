import Hummingbird
import MadoguchiCore

/// Reads `?lang=`: Japanese by default, English on request; anything else is a clear 400.
func requestedLanguage(_ request: Request) throws -> Language {
    let raw = request.uri.queryParameters["lang"].map(String.init)
    guard let language = Language(query: raw) else {
        throw PublicError(
            .badRequest,
            LocalizedText(
                ja: "lang に指定できるのは ja または en です。",
                en: "The lang parameter must be ja or en."
            )
        )
    }
    return language
}
