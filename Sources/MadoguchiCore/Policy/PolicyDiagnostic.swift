/// One problem found in a policy file, located by line and column so an editor can jump to it, and said in Japanese
/// and English.
public struct PolicyDiagnostic: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var text: LocalizedText

    public init(file: String, line: Int, column: Int, text: LocalizedText) {
        self.file = file
        self.line = line
        self.column = column
        self.text = text
    }

    /// The English wording, which scripts and tests match on.
    public var message: String { text.en }

    /// `FILE:LINE:COLUMN: 日本語`, the form compilers use, then the English wording on an indented line of its own.
    public var description: String { "\(file):\(line):\(column): \(text.ja)\n    \(text.en)" }
}

/// A policy file that cannot be used, with every problem found in it.
public struct PolicyFileError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [PolicyDiagnostic]

    public init(_ diagnostics: [PolicyDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
