import Foundation

/// Reads the body of `POST /api/v1/events` — the busiest endpoint — without Foundation when it has the plain shape
/// the snippet sends: one object of the known keys, strings without escapes. Anything else (escapes, unknown or
/// repeated keys, other types, invalid UTF-8) returns nil and goes to `JSONSerialization`, which then decides; so
/// this path only ever accepts what the general one would read the same way.
struct EventBodyScanner {
    struct Fields: Equatable {
        var id, kind, vendorList: String
        var vendors: [String: Bool]?
        var gpc: Bool?
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    static func scan(_ bytes: UnsafeRawBufferPointer) -> Fields? {
        var scanner = EventBodyScanner(bytes)
        return scanner.object()
    }

    private mutating func object() -> Fields? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var id: String?
        var kind: String?
        var vendorList: String?
        var vendors: [String: Bool]?
        var gpc: Bool?
        if !take(UInt8(ascii: "}")) {
            repeat {
                // A repeated key leaves the fast path too.
                guard let key = string(), take(UInt8(ascii: ":")) else { return nil }
                switch key {
                case "id" where id == nil:
                    guard let value = string() else { return nil }
                    id = value
                case "kind" where kind == nil:
                    guard let value = string() else { return nil }
                    kind = value
                case "vendor_list" where vendorList == nil:
                    guard let value = string() else { return nil }
                    vendorList = value
                case "gpc" where gpc == nil:
                    guard let value = bool() else { return nil }
                    gpc = value
                case "vendors" where vendors == nil:
                    guard let value = flags() else { return nil }
                    vendors = value
                default: return nil
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        skipSpace()
        guard index == bytes.count, let id, let kind, let vendorList else { return nil }
        return Fields(id: id, kind: kind, vendorList: vendorList, vendors: vendors, gpc: gpc)
    }

    /// `{"vendor":true,…}`
    private mutating func flags() -> [String: Bool]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var result: [String: Bool] = [:]
        if take(UInt8(ascii: "}")) { return result }
        repeat {
            guard let key = string(), result[key] == nil, take(UInt8(ascii: ":")), let value = bool() else { return nil }
            result[key] = value
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) ? result : nil
    }

    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    private mutating func bool() -> Bool? {
        skipSpace()
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D else { return }
            index += 1
        }
    }
}
