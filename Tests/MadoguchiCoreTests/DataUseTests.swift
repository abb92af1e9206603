import Foundation
import MadoguchiCore
import MadoguchiTesting
import Testing

/// R-PUR-2: every opening of sealed data names what it is for, and only the reviewed places open it. A new reader —
/// a file that opens sealed data, or a new use in a known file — fails here until it is looked at and listed.
@Suite("Uses of sealed data")
struct DataUseTests {
    /// Each file that opens sealed data, and the uses it names (`for:`).
    static let readers: [String: Set<String>] = [
        "Sources/MadoguchiCore/Inquiries/PurposeGuard.swift": [".purpose(purpose)"],
        "Sources/MadoguchiCore/Inquiries/InquiryDesk.swift": ["record.use"],
        "Sources/MadoguchiCore/Mail/OutboxWorker.swift": [".delivery"],
        "Sources/MadoguchiCore/Requests/RightsRequest.swift": ["use"],
        "Sources/MadoguchiCore/Requests/RightsRequestDesk+Verification.swift": [".identityMatch"],
        "Sources/MadoguchiCore/Requests/RightsRequestDesk+Downloads.swift": [".personalAccess"],
        "Sources/MadoguchiCore/Requests/RightsRequestDesk+StaffWork.swift": [".requestHandling"],
        "Sources/MadoguchiCore/Subjects/Disclosure.swift": [".personalAccess"],
        "Sources/MadoguchiCore/Subjects/SelfService.swift": [".personalAccess"],
        "Sources/MadoguchiCore/Crypto/SubjectKeyStore.swift": [".keyUnwrap"],
        // Re-wrapping person keys under a new master key (#21): the key is opened only to be sealed again.
        "Sources/MadoguchiCore/Crypto/KeyRotation.swift": [".keyUnwrap"],
        "Sources/MadoguchiCore/Campaigns/CampaignDesk+Delivery.swift": [".changeNotice"],
        "Sources/MadoguchiCore/Incidents/IncidentRegister.swift": [".incidentNotice"],
    ]

    /// The `for:` argument of every call of `SealedField.open` or `RightsRequestContent.open` in `text`.
    static func uses(in text: String) -> [String] {
        var found: [String] = []
        for opener in ["SealedField.open(", "RightsRequestContent.open("] {
            var rest = text[...]
            while let start = rest.range(of: opener) {
                var depth = 1
                var index = start.upperBound
                while index < rest.endIndex, depth > 0 {
                    if rest[index] == "(" { depth += 1 } else if rest[index] == ")" { depth -= 1 }
                    index = rest.index(after: index)
                }
                let call = rest[start.upperBound..<rest.index(before: index)]
                let use = call.range(of: "for: ").map { call[$0.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines) } ?? "(none)"
                found.append(use)
                rest = rest[index...]
            }
        }
        return found
    }

    @Test("R-PUR-2: sealed data is opened only in the reviewed places, each naming its use; only the purpose guard makes a purpose use")
    func everyReaderNamesItsUse() throws {
        let root = Fixtures.repositoryRoot
        let sources = root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        var seen: [String: Set<String>] = [:]
        var purposeMakers: [String] = []
        for file in files {
            let path = String(file.path.dropFirst(root.path.count + 1))
            let text = try String(contentsOf: file, encoding: .utf8)
            if path == "Sources/MadoguchiCore/Crypto/SealedField.swift" { continue }
            let uses = Self.uses(in: text)
            if !uses.isEmpty { seen[path] = Set(uses) }
            if path != "Sources/MadoguchiCore/Inquiries/PurposeGuard.swift",
                text.contains("for: .purpose(") || text.contains("use: .purpose(") || text.contains("DataUse.purpose(")
            {
                purposeMakers.append(path)
            }
        }
        #expect(seen == Self.readers, "files that open sealed data, and the uses they name")
        #expect(purposeMakers.isEmpty, "only PurposeGuard decides a purpose use: \(purposeMakers)")
        #expect(Self.uses(in: "SealedField.open(x, key: k, context: \"c\")") == ["(none)"], "the scanner sees a call without a use")
    }
}
