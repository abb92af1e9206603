import Foundation
import Logging
import Synchronization

/// Writes each log event as one line of JSON (`--log-format json`): `time` (UTC, ISO 8601 with milliseconds), `level`,
/// `label`, `message`, then the metadata as keys of their own — among them `hb.request.id`, which Hummingbird gives
/// every request's logger. What is logged is what the text format logs: never personal data.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let write: @Sendable (String) -> Void

    /// A handler that hands each line (without its newline) to `write`.
    public init(label: String, level: Logger.Level = .info, write: @escaping @Sendable (String) -> Void) {
        (self.label, self.logLevel, self.write) = (label, level, write)
    }

    /// A handler writing to standard error, one line per event.
    public static func standardError(label: String, level: Logger.Level) -> JSONLogHandler {
        JSONLogHandler(label: label, level: level) { line in
            errorOutput.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }

    private static let errorOutput = Mutex(())

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = Self.json(value)
        }
        object["time"] = Self.timestamp(Date())
        object["level"] = event.level.rawValue
        object["label"] = label
        object["message"] = "\(event.message)"
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        write(String(decoding: data, as: UTF8.self))
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case let .string(text): text
        case let .stringConvertible(convertible): convertible.description
        case let .array(values): values.map(json)
        case let .dictionary(values): values.mapValues(json)
        }
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(
                separator: .omitted
            )
        )
    }
}
