import Foundation

extension Policy {
    /// Keys of the contractor register that are supervision records for staff, not promises to the public.
    public static let internalContractorKeys: Set<String> = [
        Contractor.CodingKeys.ndaSigned.rawValue, Contractor.CodingKeys.ndaExpires.rawValue,
        Contractor.CodingKeys.lastReview.rawValue,
    ]

    /// The policy as published at `/privacy.json`: the file's content, keys as in the file, minus the contractor
    /// supervision dates (those belong to the staff register, R-OUT-1).
    public func publishedJSON(pretty: Bool = false) -> Data {
        let canonical = PolicyVersionStore.canonicalJSON(self)
        guard var object = (try? JSONSerialization.jsonObject(with: canonical)) as? [String: Any] else { return canonical }
        if let contractors = object[CodingKeys.contractors.rawValue] as? [[String: Any]] {
            object[CodingKeys.contractors.rawValue] = contractors.map { $0.filter { !Self.internalContractorKeys.contains($0.key) } }
        }
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { options.insert(.prettyPrinted) }
        return (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? canonical
    }
}
