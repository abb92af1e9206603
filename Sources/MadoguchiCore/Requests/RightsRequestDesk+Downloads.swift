import Crypto
import Foundation
import SQLKit

extension RightsRequestDesk {
    /// How long the download link of a completed disclosure works.
    public static let downloadLifetime: TimeInterval = 14 * 86_400

    /// A download token for a completed disclosure, valid until `expires` (whole seconds since 1970).
    public func disclosureToken(number: String, expires: Date) -> String {
        // `expires` is the server's own time; a value outside Int's range would be a bug, never a trap.
        let stamp = Int(exactly: expires.timeIntervalSince1970.rounded(.down)) ?? 0
        return "\(stamp).\(downloadMAC(number: number, stamp: String(stamp)))"
    }

    private func downloadMAC(number: String, stamp: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("download:\(number):\(stamp)".utf8), using: vault.keys.ring.linkKey))
    }

    /// The person a valid, unexpired download token of a completed disclosure request is for ("" when unknown);
    /// nil for anything else. The token comes from a URL: its parts are checked as text (digits only, a signature
    /// of the right length) and its time against a window (now … now + the link's lifetime) before any arithmetic,
    /// so no value a client sends can overflow a conversion (R-SEC-3).
    public func disclosureSubject(number: String, token: String, at now: Date = Date()) async throws -> (subjectID: String, format: DisclosureFormat)?
    {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...12).contains(parts[0].utf8.count), parts[0].utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            parts[1].utf8.count == 64, number.utf8.count <= 64,
            Self.constantTimeEqual(downloadMAC(number: number, stamp: String(parts[0])), String(parts[1])),
            let stamp = Int(parts[0])  // at most 12 digits: always in range
        else { return nil }
        let nowSeconds = Int(exactly: now.timeIntervalSince1970.rounded(.down)) ?? 0
        guard stamp > nowSeconds, stamp <= nowSeconds + Int(Self.downloadLifetime) + 60 else { return nil }
        guard
            let row = try await vault.database.read({ db in
                try await db.select().columns("id", "type", "status", "subject_id", "key_id", "sealed").from("requests")
                    .where("number", .equal, number).first()
            })
        else { return nil }
        let type = try row.decode(column: "type", as: String.self)
        guard try row.decode(column: "status", as: String.self) == RightsRequestStatus.completed.rawValue,
            type == RightsRequestType.disclosure.rawValue || type == RightsRequestType.provisionRecords.rawValue,
            let key = try await vault.keys.key(subjectID: try row.decode(column: "key_id", as: String.self))
        else { return nil }
        let id = try row.decode(column: "id", as: String.self)
        let content = try RightsRequestContent.open(try row.decode(column: "sealed", as: Data.self), key: key, requestID: id, for: .personalAccess)
        return (try row.decode(column: "subject_id", as: String?.self) ?? "", content.delivery)
    }
}
