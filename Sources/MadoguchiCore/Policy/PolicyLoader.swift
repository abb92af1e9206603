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
        let text = try source(path: path)
        return (try parse(yaml: text, file: path), text)
    }

    /// Loads the file at `path` with its source text and its warnings, reading and parsing it once; throws every
    /// diagnostic (warnings included) when any is an error.
    public static func loadReviewed(path: String) throws(PolicyFileError) -> (policy: Policy, source: String, warnings: [PolicyDiagnostic]) {
        let text = try source(path: path)
        let (policy, diagnostics) = review(yaml: text, file: path)
        guard let policy else { throw PolicyFileError(diagnostics) }
        return (policy, text, diagnostics)
    }

    /// The text of the file at `path`, refused when it cannot be read, is too large or is not UTF-8.
    private static func source(path: String) throws(PolicyFileError) -> String {
        func fail(ja: String, en: String) -> PolicyFileError {
            PolicyFileError([PolicyDiagnostic(file: path, line: 1, column: 1, text: LocalizedText(ja: ja, en: en))])
        }
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maximumFileSize {
                throw tooLarge(size, file: path)
            }
            data = try Data(contentsOf: url)
        } catch let error as PolicyFileError {
            throw error
        } catch {
            throw fail(
                ja: "ポリシーファイルを読めません: \(error.localizedDescription)",
                en: "cannot read the policy file: \(error.localizedDescription)"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw fail(ja: "ポリシーファイルが UTF-8 のテキストではありません", en: "the policy file is not valid UTF-8 text")
        }
        return text
    }

    /// Parses policy YAML; `file` names the source in diagnostics.
    public static func parse(yaml: String, file: String) throws(PolicyFileError) -> Policy {
        if yaml.utf8.count > maximumFileSize {
            throw tooLarge(yaml.utf8.count, file: file)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw PolicyFileError([syntaxDiagnostic(error, file: file)])
        }
        let (policy, diagnostics) = review(root, file: file)
        guard let policy else { throw PolicyFileError(diagnostics) }
        return policy
    }

    /// Parses policy YAML and returns every diagnostic, warnings included, in the order of the file; the policy is
    /// nil when any diagnostic is an error.
    public static func review(yaml: String, file: String) -> (policy: Policy?, diagnostics: [PolicyDiagnostic]) {
        if yaml.utf8.count > maximumFileSize { return (nil, tooLarge(yaml.utf8.count, file: file).diagnostics) }
        do {
            return review(try Yams.compose(yaml: yaml), file: file)
        } catch {
            return (nil, [syntaxDiagnostic(error, file: file)])
        }
    }

    /// Reads the file at `path` and returns every diagnostic, warnings included (`policy check`).
    public static func review(path: String) -> (policy: Policy?, diagnostics: [PolicyDiagnostic]) {
        do {
            return review(yaml: try source(path: path), file: path)
        } catch {
            return (nil, error.diagnostics)
        }
    }

    private static func review(_ root: Node?, file: String) -> (policy: Policy?, diagnostics: [PolicyDiagnostic]) {
        var reader = PolicyReader(file: file)
        let policy = reader.read(root)
        let sorted = reader.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        return (sorted.contains { $0.severity == .error } ? nil : policy, sorted)
    }

    private static func tooLarge(_ size: Int, file: String) -> PolicyFileError {
        PolicyFileError([
            PolicyDiagnostic(
                file: file,
                line: 1,
                column: 1,
                text: LocalizedText(
                    ja: "ポリシーファイルが \(size) バイトあります。受け付けるのは \(maximumFileSize) バイトまでです",
                    en: "the policy file is \(size) bytes; at most \(maximumFileSize) bytes are accepted"
                )
            )
        ])
    }

    /// YAML's own messages (libyaml's) are English; the Japanese line says what kind of problem it is around them.
    static func syntaxDiagnostic(_ error: any Error, file: String) -> PolicyDiagnostic {
        func diagnostic(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> PolicyDiagnostic {
            var ja = "YAML の構文の誤り: \(problem)"
            var en = "YAML syntax error: \(problem)"
            if let context {
                ja += "(\(context.text)、\(context.mark.line) 行 \(context.mark.column) 列)"
                en += " (\(context.text) at \(context.mark.line):\(context.mark.column))"
            }
            return PolicyDiagnostic(file: file, line: mark.line, column: mark.column, text: LocalizedText(ja: ja, en: en))
        }
        switch error as? YamlError {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            return diagnostic(mark, problem, context)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return PolicyDiagnostic(
                file: file,
                line: context.mark.line,
                column: context.mark.column,
                text: LocalizedText(
                    ja: "YAML の誤り: 一つのマッピングにキー \(keys) が二度以上あります",
                    en: "YAML error: key \(keys) appears more than once in one mapping"
                )
            )
        case let .reader(problem, offset, _, yaml):
            var line = 1
            var column = 1
            if let offset {
                let prefix = yaml.unicodeScalars.prefix(offset)
                line = prefix.filter { $0 == "\n" }.count + 1
                column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
            }
            return PolicyDiagnostic(
                file: file,
                line: line,
                column: column,
                text: LocalizedText(ja: "YAML の誤り: \(problem)", en: "YAML error: \(problem)")
            )
        default:
            return PolicyDiagnostic(
                file: file,
                line: 1,
                column: 1,
                text: LocalizedText(ja: "YAML の誤り: \(error)", en: "YAML error: \(error)")
            )
        }
    }
}
