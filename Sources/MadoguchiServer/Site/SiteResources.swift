import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore
import Mustache

/// Templates, translated strings and static files, loaded once at start-up.
public struct SiteResources: Sendable {
    public let templates: MustacheLibrary
    public let strings: [Language: [String: String]]
    public let stylesheet: Data
    public let openAPI: Data
    /// `public/snippet.js` before the policy's declarations are filled in, and its stylesheet.
    public let snippet: Data
    public let snippetStylesheet: Data

    /// The folder SwiftPM builds the resources into, named as it names it; an installation copies it beside the binary.
    public static let folderName = "madoguchi_MadoguchiServer.resources"

    /// Where the templates, strings and static files are: `MADOGUCHI_RESOURCES` when set (nothing else is tried), else
    /// the resources folder beside the binary (an installed copy: `/opt/madoguchi/bin/madoguchi` with
    /// `/opt/madoguchi/bin/madoguchi_MadoguchiServer.resources`), else `../share/madoguchi` from the binary, else the
    /// build's own (development).
    public static func root(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: URL? = Bundle.main.executableURL
    ) throws -> URL {
        func holdsResources(_ url: URL) -> Bool {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.appendingPathComponent("templates").path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        if let given = environment["MADOGUCHI_RESOURCES"], !given.isEmpty {
            let url = URL(fileURLWithPath: given)
            guard holdsResources(url) else {
                throw SiteResourceError("MADOGUCHI_RESOURCES: \(given) does not hold the server's resources (templates/, locales/, public/)")
            }
            return url
        }
        if let folder = executable?.resolvingSymlinksInPath().deletingLastPathComponent() {
            for candidate in [folder.appendingPathComponent(folderName), folder.appendingPathComponent("../share/madoguchi").standardized]
            where holdsResources(candidate) {
                return candidate
            }
        }
        guard let built = Bundle.module.resourceURL, holdsResources(built) else {
            throw SiteResourceError(
                "the server's resources are missing: copy \(folderName) beside the binary, or set MADOGUCHI_RESOURCES to that folder"
            )
        }
        return built
    }

    /// Loads the resources bundled with the server (`root`).
    public static func bundled() async throws -> SiteResources {
        let root = try root()
        let templates = try await MustacheLibrary(directory: root.appendingPathComponent("templates").path)
        var strings: [Language: [String: String]] = [:]
        for language in Language.allCases {
            let url = root.appendingPathComponent("locales/\(language.rawValue).json")
            strings[language] = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: url))
        }
        return SiteResources(
            templates: templates,
            strings: strings,
            stylesheet: try Data(contentsOf: root.appendingPathComponent("public/site.css")),
            openAPI: try Data(contentsOf: root.appendingPathComponent("public/openapi.yaml")),
            snippet: try Data(contentsOf: root.appendingPathComponent("public/snippet.js")),
            snippetStylesheet: try Data(contentsOf: root.appendingPathComponent("public/snippet.css"))
        )
    }

    /// The strings of `language`; every key exists in both languages (a test checks it).
    public func text(_ language: Language) -> [String: String] {
        strings[language] ?? [:]
    }

    /// A rendered page as a response; pages with forms or personal data pass `cacheControl: "no-store"`.
    func page(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok, cacheControl: String? = nil) throws -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
        if let cacheControl { headers[.cacheControl] = cacheControl }
        return Response(status: status, headers: headers, body: .init(byteBuffer: .init(string: try render(template, model))))
    }

    /// A mail to a person: the subject in Japanese, the body in Japanese then English, each filled with the policy's
    /// names (company, officer, contacts, policy link) and `values` (R-CON-1: every mail names the officer and contact).
    func mail(
        to address: String,
        subject subjectKey: String,
        body bodyKey: String,
        policy: Policy,
        baseURL: String,
        values: (Language) -> [String: String] = { _ in [:] }
    ) -> OutgoingMail {
        func filled(_ language: Language) -> [String: String] {
            var all = [
                "company": policy.company.name[language], "officer": policy.officer.title[language],
                "officer_email": policy.officer.email, "requests_email": policy.requests.email,
                "privacy": baseURL + PageChrome.href(SitePath.privacy, language),
            ]
            all.merge(values(language)) { $1 }
            return all
        }
        let ja = text(.ja)
        let en = text(.en)
        return OutgoingMail(
            to: address,
            subject: ja.format(subjectKey, filled(.ja)),
            body: ja.format(bodyKey, filled(.ja)) + "\n----------------------------------------\n\n" + en.format(bodyKey, filled(.en))
        )
    }

    /// Renders `template` with `model`; a missing template is a packaging bug, reported as an error.
    public func render(_ template: String, _ model: Any) throws -> String {
        guard let html = templates.render(model, withTemplate: template) else {
            throw SiteResourceError("template '\(template)' is missing")
        }
        return html
    }
}

/// A bundled resource that could not be loaded.
public struct SiteResourceError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Dictionary where Key == String, Value == String {
    /// The string for `key` with each `{name}` placeholder replaced by `values[name]`, in one pass (a value is
    /// never searched for placeholders itself); an unknown `{name}` is kept as written.
    func format(_ key: String, _ values: [String: String] = [:]) -> String {
        let text = self[key] ?? key
        guard !values.isEmpty, text.utf8.contains(UInt8(ascii: "{")) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 64)
        let bytes = text.utf8
        var copied = bytes.startIndex
        var cursor = bytes.startIndex
        while let open = bytes[cursor...].firstIndex(of: UInt8(ascii: "{")) {
            let nameStart = bytes.index(after: open)
            guard let close = bytes[nameStart...].firstIndex(of: UInt8(ascii: "}")) else { break }
            if let value = values[String(text[nameStart..<close])] {
                result += text[copied..<open]
                result += value
                copied = bytes.index(after: close)
                cursor = copied
            } else {
                cursor = nameStart
            }
        }
        let rest = text[copied...]
        result += rest
        return result
    }
}
