import Foundation
import Yams

/// Reads and validates a policy file. Every problem is reported at once, each with its line and column.
public enum PolicyLoader {
    /// Policy files are hand-written documents; anything larger is a mistake, not a policy.
    public static let maximumFileSize = 1 << 20

    /// Loads the file at `path`.
    public static func load(path: String) throws(PolicyFileError) -> Policy {
        try load(path: path).policy
    }

    /// Loads the file at `path` and keeps its source text, which is stored with each version.
    public static func load(path: String) throws(PolicyFileError) -> (policy: Policy, source: String) {
        func fail(_ message: String) -> PolicyFileError {
            PolicyFileError([PolicyDiagnostic(file: path, line: 1, column: 1, message: message)])
        }
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maximumFileSize {
                throw fail("the policy file is \(size) bytes; at most \(maximumFileSize) bytes are accepted")
            }
            data = try Data(contentsOf: url)
        } catch let error as PolicyFileError {
            throw error
        } catch {
            throw fail("cannot read the policy file: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw fail("the policy file is not valid UTF-8 text")
        }
        return (try parse(yaml: text, file: path), text)
    }

    /// Parses policy YAML; `file` names the source in diagnostics.
    public static func parse(yaml: String, file: String) throws(PolicyFileError) -> Policy {
        if yaml.utf8.count > maximumFileSize {
            throw PolicyFileError([PolicyDiagnostic(
                file: file, line: 1, column: 1,
                message: "the policy file is \(yaml.utf8.count) bytes; at most \(maximumFileSize) bytes are accepted")])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw PolicyFileError([syntaxDiagnostic(error, file: file)])
        }
        var reader = PolicyReader(file: file)
        let policy = reader.read(root)
        guard reader.diagnostics.isEmpty, let policy else {
            throw PolicyFileError(reader.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return policy
    }

    static func syntaxDiagnostic(_ error: any Error, file: String) -> PolicyDiagnostic {
        func diagnostic(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> PolicyDiagnostic {
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at \(context.mark.line):\(context.mark.column))" }
            return PolicyDiagnostic(file: file, line: mark.line, column: mark.column, message: message)
        }
        switch error as? YamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return diagnostic(mark, problem, context)
        case let .duplicatedKeysInMapping(duplicates, context):
            return PolicyDiagnostic(
                file: file, line: context.mark.line, column: context.mark.column,
                message: "YAML error: key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appears more than once in one mapping")
        case let .reader(problem, offset, _, yaml):
            var line = 1
            var column = 1
            if let offset {
                let prefix = yaml.unicodeScalars.prefix(offset)
                line = prefix.filter { $0 == "\n" }.count + 1
                column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
            }
            return PolicyDiagnostic(file: file, line: line, column: column, message: "YAML error: \(problem)")
        default:
            return PolicyDiagnostic(file: file, line: 1, column: 1, message: "YAML error: \(error)")
        }
    }
}
