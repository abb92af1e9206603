import ArgumentParser
import Foundation

/// What the command line says to a person, Japanese first and English second: each message is a Japanese line followed
/// by the same in English, so an operator reads the first and a script can keep matching the English wording.
/// Lines that scripts read as data (the scanner's findings, `requests due`, `calendar`) stay single tokens.
enum Bilingual {
    static func text(_ ja: String, _ en: String) -> String { "\(ja)\n\(en)" }

    /// A refused argument or option, as ArgumentParser prints it (`Error: …` and the usage).
    static func refusal(_ ja: String, _ en: String) -> ValidationError { ValidationError(text(ja, en)) }

    /// Both lines on standard error.
    static func warn(_ ja: String, _ en: String) {
        FileHandle.standardError.write(Data((text(ja, en) + "\n").utf8))
    }

    /// Both lines on standard output.
    static func say(_ ja: String, _ en: String) {
        print(text(ja, en))
    }
}
