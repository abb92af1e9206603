import Foundation

/// Identifiers for new rows: UUID version 7 (RFC 9562), lower-case. The first 48 bits are the time in
/// milliseconds, so ids created later sort later and each insert lands at the end of its primary-key index
/// instead of on a random page: fewer pages written per commit. The next 12 bits are the fraction of that
/// millisecond (RFC 9562 § 6.2, method 3: finer order within one process), the last 62 bits random — one 64-bit
/// draw, so one `getrandom` call per id rather than two.
public enum RecordID {
    public static func make(at date: Date = Date()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let time = max(0, date.timeIntervalSince1970 * 1_000)
        let milliseconds = UInt64(time)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
        let fraction = min(4_095, UInt16((time - time.rounded(.down)) * 4_096))
        bytes[6] = 0x70 | UInt8(fraction >> 8)  // version 7
        bytes[7] = UInt8(truncatingIfNeeded: fraction)
        var generator = SystemRandomNumberGenerator()
        let random: UInt64 = generator.next()
        for index in 8..<16 { bytes[index] = UInt8(truncatingIfNeeded: random >> (8 * UInt64(15 - index))) }
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        let uuid = UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            )
        )
        return uuid.uuidString.lowercased()
    }
}
