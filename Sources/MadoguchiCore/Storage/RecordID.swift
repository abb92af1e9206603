import Foundation

/// Identifiers for new rows: UUID version 7 (RFC 9562), lower-case. The first 48 bits are the time in
/// milliseconds, so ids created later sort later and each insert lands at the end of its primary-key index
/// instead of on a random page: fewer pages written per commit. The remaining 74 bits are random.
public enum RecordID {
    public static func make(at date: Date = Date()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        // Two 64-bit draws (two system calls) rather than one per byte.
        var generator = SystemRandomNumberGenerator()
        let high: UInt64 = generator.next(), low: UInt64 = generator.next()
        for index in 6..<16 {
            let word = index < 8 ? high : low
            bytes[index] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(index % 8)))
        }
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1_000))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70 // version 7
        bytes[8] = (bytes[8] & 0x3F) | 0x80 // RFC 9562 variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }
}
