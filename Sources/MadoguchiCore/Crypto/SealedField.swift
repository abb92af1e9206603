import Crypto
import Foundation

/// Encrypts personal data field by field with a person's own key (AES-256-GCM, R-SEC-1).
///
/// The associated data binds each ciphertext to its owner and its place (`record/field`), so a sealed value copied
/// into another row or field fails to open. Format: version byte `1`, then nonce (12), ciphertext, tag (16).
public enum SealedField {
    static let version: UInt8 = 1

    public static func seal(_ plaintext: String, key: SymmetricKey, context: String) throws -> Data {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw SealedFieldError.malformed }
        return Data([version]) + combined
    }

    public static func open(_ sealed: Data, key: SymmetricKey, context: String) throws -> String {
        guard sealed.first == version, sealed.count >= 1 + 12 + 16 else { throw SealedFieldError.malformed }
        let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
        let data = try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
        return String(decoding: data, as: UTF8.self)
    }
}

public enum SealedFieldError: Error, Sendable {
    /// Not something `SealedField.seal` produced.
    case malformed
}

/// A keyed, one-way index of a normalised e-mail address: finds a person's records without storing the address
/// (R-PUR-4). HMAC-SHA256 with a key derived from the master key.
public enum BlindIndex {
    public static func of(email: String, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(normalise(email: email).utf8), using: key)
        return Hex.encode(mac)
    }

    /// NFKC (full-width ＡＢＣ＠ＥＸＡＭＰＬＥ．ＪＰ, common in Japanese input, becomes ASCII), trimmed, lowercased.
    public static func normalise(email: String) -> String {
        email.precomposedStringWithCompatibilityMapping.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }
}
