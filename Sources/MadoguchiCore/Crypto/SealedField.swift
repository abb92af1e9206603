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

    /// Opens `sealed` for `use`: every opening of sealed data says what it is for (R-PUR-2).
    public static func open(_ sealed: Data, key: SymmetricKey, context: String, for use: DataUse) throws -> String {
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

/// Why sealed data is opened (R-PUR-2). Every opening names one, so no code reads personal data without saying what
/// for: staff uses of a person's data are purposes of use that `PurposeGuard` decides and audits (it alone makes
/// `.purpose`, which `DataUseTests` checks in the sources); the others are the person's own rights and the duties
/// the operator has toward them, each audited where it happens.
public enum DataUse: Sendable, Hashable, CustomStringConvertible {
    /// A declared purpose of use, as `PurposeGuard` allowed it for one record.
    case purpose(String)
    /// The person's own access: `/me`, their disclosure, the download of their completed disclosure request.
    case personalAccess
    /// Recognising a requester: comparing a request's items with the items of their confirmed inquiries (R-DSR-2).
    case identityMatch
    /// Staff carrying out a request the person made (R-DSR-1).
    case requestHandling
    /// Delivering mail queued for the person (the outbox).
    case delivery
    /// Telling the person that a new version uses items they gave for a purpose it did not serve, and asking for
    /// their consent on `/me` (R-VER-2): their address only, and only while they have not answered.
    case changeNotice
    /// Notifying the person of a leak, loss or damage of their data (APPI Art. 26(2)): their address only. A duty
    /// the law puts on the operator, not a purpose of use, so a stopped use does not hold it back.
    case incidentNotice
    /// Unwrapping a person's key in the key store (no personal data in itself).
    case keyUnwrap

    public var description: String {
        switch self {
        case let .purpose(id): "purpose:\(id)"
        case .personalAccess: "personal-access"
        case .identityMatch: "identity-match"
        case .requestHandling: "request-handling"
        case .delivery: "delivery"
        case .changeNotice: "change-notice"
        case .incidentNotice: "incident-notice"
        case .keyUnwrap: "key-unwrap"
        }
    }
}
