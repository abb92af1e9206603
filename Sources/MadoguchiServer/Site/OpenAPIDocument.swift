import Foundation
import MadoguchiCore

/// The OpenAPI document as this installation serves it: the repository's `openapi.yaml`, with the schemas that depend
/// on the policy filled in — a consent choice's vendors (every declared vendor, and only those) and the purposes a
/// suspension may name — so clients and contract tests see the rules the server applies.
enum OpenAPIDocument {
    static let declaredVendorsLine = "    DeclaredVendors: { type: object, minProperties: 1, additionalProperties: { type: boolean } }"
    static let requestPurposeLine = "    RequestPurpose: { type: string }"

    static func render(_ document: Data, policy: Policy) -> Data {
        let text = String(decoding: document, as: UTF8.self)
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
        // A suspension names the policy's purposes.
        let purposes = policy.purposes.map { "\"\($0.id)\"" }.joined(separator: ", ")
        return Data(
            text.replacingOccurrences(of: declaredVendorsLine, with: schema)
                .replacingOccurrences(of: requestPurposeLine, with: "    RequestPurpose: { enum: [\(purposes)] }").utf8
        )
    }
}
