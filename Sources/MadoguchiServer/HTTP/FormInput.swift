import Foundation
import Hummingbird
import MadoguchiCore

/// Reading `application/x-www-form-urlencoded` bodies the same way on every form: size-limited, UTF-8 only.
enum FormInput {
    /// The body as name → value; 413 when larger than the context allows, 400 when it is not valid form data.
    static func read(_ request: Request, _ context: some SiteContext) async throws -> [String: String] {
        let body = try await collect(request, context)
        guard let text = String(validating: body.readableBytesView, as: UTF8.self), let form = parse(text) else {
            throw PublicError(
                .badRequest,
                LocalizedText(
                    ja: "送信内容を読み取れませんでした。ページを再読み込みして、もう一度お試しください。",
                    en: "What was sent could not be read. Please reload the page and try again."
                )
            )
        }
        return form
    }

    /// The raw body, refused with 413 past `context.maxUploadSize`.
    static func collect(_ request: Request, _ context: some SiteContext, limit: Int? = nil) async throws -> ByteBuffer {
        let limit = limit ?? context.maxUploadSize
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw PublicError(
                .contentTooLarge,
                LocalizedText(
                    ja: "送信内容が大きすぎます(上限 \(limit / 1024) KiB)。",
                    en: "The body is too large (at most \(limit / 1024) KiB)."
                )
            )
        }
    }

    /// Parses form data; nil when a name or value is not valid percent-encoded UTF-8 (Hummingbird's decoder passes
    /// such bytes through instead of refusing them).
    static func parse(_ text: String) -> [String: String]? {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String? {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = decode(parts[0]), let value = parts.count > 1 ? decode(parts[1]) : "" else { return nil }
            form[name] = value
        }
        return form
    }
}
