/// One problem found in a policy file, located by line and column so an editor can jump to it, and said in Japanese
/// and English.
public struct PolicyDiagnostic: Hashable, Sendable, CustomStringConvertible {
    /// An error keeps the file from being used; a warning names something the law may require depending on the
    /// operator's situation, and the file is used.
    public enum Severity: String, Hashable, Sendable {
        case error, warning
    }

    public var file: String
    public var line: Int
    public var column: Int
    public var text: LocalizedText
    public var severity: Severity

    public init(file: String, line: Int, column: Int, text: LocalizedText, severity: Severity = .error) {
        self.file = file
        self.line = line
        self.column = column
        self.text = text
        self.severity = severity
    }

    /// The English wording, which scripts and tests match on.
    public var message: String { text.en }

    /// `FILE:LINE:COLUMN: 日本語`, the form compilers use, then the English wording on an indented line of its own;
    /// a warning says so in both.
    public var description: String {
        switch severity {
        case .error: "\(file):\(line):\(column): \(text.ja)\n    \(text.en)"
        case .warning: "\(file):\(line):\(column): 警告: \(text.ja)\n    warning: \(text.en)"
        }
    }
}

/// A policy file that cannot be used, with every problem found in it.
public struct PolicyFileError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [PolicyDiagnostic]

    public init(_ diagnostics: [PolicyDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
