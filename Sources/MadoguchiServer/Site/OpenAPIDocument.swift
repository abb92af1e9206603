import Foundation
import MadoguchiCore

/// The OpenAPI document as this installation serves it: the repository's `openapi.yaml`, with the schema of a consent
/// choice's vendors naming exactly the vendors the policy declares (a choice must name every one of them, and only
/// them), so clients and contract tests see the rules the server applies.
enum OpenAPIDocument {
    static let declaredVendorsLine = "    DeclaredVendors: { type: object, minProperties: 1, additionalProperties: { type: boolean } }"

    static func render(_ document: Data, policy: Policy) -> Data {
        let text = String(decoding: document, as: UTF8.self)
        guard text.contains(declaredVendorsLine) else { return document }
        let ids = policy.vendors.map(\.id)
        let schema: String
        if ids.isEmpty {
            schema = "    DeclaredVendors: { type: object, maxProperties: 0 }"
        } else {
            // Vendor ids are validated ids (letters, digits, `-`, `_`): quoted, they need no escaping.
            let quoted = ids.map { "\"\($0)\"" }
            let properties = quoted.map { "\($0): { type: boolean }" }.joined(separator: ", ")
            schema =
                "    DeclaredVendors: { type: object, required: [\(quoted.joined(separator: ", "))], additionalProperties: false, properties: { \(properties) } }"
        }
        return Data(text.replacingOccurrences(of: declaredVendorsLine, with: schema).utf8)
    }
}
