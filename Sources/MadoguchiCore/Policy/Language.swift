/// The languages every page and message is written in: Japanese first, English second.
public enum Language: String, CaseIterable, Sendable, Codable {
    case ja
    case en

    /// Reads a `lang` query value; nil means the value is not a supported language.
    public init?(query: String?) {
        guard let query else {
            self = .ja
            return
        }
        self.init(rawValue: query)
    }
}

/// A text the operator writes in both languages. Both are required: a page in either language is never half-translated.
public struct LocalizedText: Hashable, Sendable, Codable {
    public var ja: String
    public var en: String

    public init(ja: String, en: String) {
        self.ja = ja
        self.en = en
    }

    /// The same text in both languages — for proper names such as a company or a product.
    public init(_ both: String) {
        self.init(ja: both, en: both)
    }

    public subscript(language: Language) -> String {
        switch language {
        case .ja: ja
        case .en: en
        }
    }
}

/// An error a person reads — an operator at the command line, mostly — worded in Japanese and English. Its
/// `description` is the English, which logs and scripts match on; what is shown to a person leads with `text.ja`.
public protocol BilingualError: Error, CustomStringConvertible {
    var text: LocalizedText { get }
}

extension BilingualError {
    public var description: String { text.en }
}
