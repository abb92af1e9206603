import ArgumentParser
import Foundation
import MadoguchiCore

/// What `madoguchi` exits with: one meaning each, so that cron, systemd and monitoring can act on it.
enum ExitStatus {
    /// Done; nothing found.
    static let ok: Int32 = 0
    /// The command ran and found something: a broken audit chain, an overdue request, an invalid policy file, a
    /// contractor review due, a refused change (an existing account, a reused policy version).
    static let finding: Int32 = 1
    /// The command line is wrong: an unknown option, a bad value, a missing argument. Its usage is printed.
    static let usage: Int32 = 2
    /// The database or the key store cannot be reached or used: not running, a wrong password, a missing file or
    /// master key, a schema newer than this binary, another server on the SQLite file.
    static let unreachable: Int32 = 3
    /// Anything else failed (the message says what).
    static let failed: Int32 = 4
}

extension MadoguchiCommand {
    /// Parses and runs the command, then exits with `ExitStatus`: ArgumentParser's own usage errors (its status 64)
    /// become 2, and are said in Japanese first like every other message; an unusable store is 3 wherever it shows.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Foundation.exit(status(reporting: error))
        }
    }

    /// Prints what went wrong (nothing for an `ExitCode` a command threw after saying so) and returns the status.
    static func status(reporting error: any Error) -> Int32 {
        if let code = error as? ExitCode, code != .validationFailure {
            return code.rawValue
        }
        if let unavailable = Self.unavailable(error) {
            Bilingual.warn("madoguchi: \(unavailable.ja)", "madoguchi: \(unavailable.en)")
            return ExitStatus.unreachable
        }
        // A backup that cannot be restored here, a rotation held back: the command ran and refused.
        if let refusal = (error as? OperatorRefusal)?.text {
            Bilingual.warn("madoguchi: \(refusal.ja)", "madoguchi: \(refusal.en)")
            return ExitStatus.finding
        }
        let code = exitCode(for: error)
        if code == .success {
            // --help, --version: printed by ArgumentParser as it always does.
            exit(withError: error)
        }
        let message = fullMessage(for: error)
        if code == .validationFailure {
            let japanese = UsageWording.japanese(message)
            FileHandle.standardError.write(Data(((japanese.map { $0 + "\n" } ?? "") + message + "\n").utf8))
            return ExitStatus.usage
        }
        Bilingual.warn("madoguchi: 失敗しました: \(message)", "madoguchi: failed: \(message)")
        return ExitStatus.failed
    }

    /// The reason when `error` means a store cannot be used.
    static func unavailable(_ error: any Error) -> LocalizedText? {
        switch error {
        case let error as StoreUnavailable:
            return error.text
        case let error as KeyRingError:
            return error.text
        case _ where Database.isUnavailable(error):
            return LocalizedText(
                ja: "データベースか鍵の保管庫に接続できません(応答がないか、接続が切れました)",
                en: "the database or the key store cannot be reached (no answer, or the connection was lost)"
            )
        default:
            return nil
        }
    }
}

/// ArgumentParser's own messages, said first in Japanese. Its English message follows unchanged (scripts may match it),
/// with the command's usage. Patterns it does not know are left in English alone.
enum UsageWording {
    static func japanese(_ message: String) -> String? {
        let line = message.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        let text = line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line
        // Our own refusals are already Japanese first (Bilingual.refusal).
        if text.unicodeScalars.contains(where: { $0.value >= 0x3000 }) { return nil }
        let patterns: [(String, ([String]) -> String)] = [
            (#"^Unknown option '(.+)'"#, { "エラー: 知らないオプションです: '\($0[0])'" }),
            (#"^Unexpected arguments? (.+)$"#, { "エラー: 余分な引数があります: \($0[0])" }),
            (#"^Missing expected argument '(.+)'"#, { "エラー: 引数 '\($0[0])' がありません" }),
            (#"^Missing value for '(.+)'"#, { "エラー: '\($0[0])' の値がありません" }),
            (#"^The value '(.*)' is invalid for '(.+)'"#, { "エラー: '\($0[1])' の値 '\($0[0])' は使えません" }),
            (#"^Unknown subcommand '?([^']+)'?"#, { "エラー: 知らないサブコマンドです: '\($0[0])'" }),
            (#"^Duplicate"#, { _ in "エラー: 同じオプションが重なっています" }),
        ]
        for (pattern, word) in patterns {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
            else { continue }
            let groups = (1..<match.numberOfRanges).map { index -> String in
                guard let range = Range(match.range(at: index), in: text) else { return "" }
                return String(text[range])
            }
            return word(groups) + "(使い方は下の英語の Usage と --help を見てください)"
        }
        return "エラー: コマンドラインに誤りがあります(下の英語の説明と --help を見てください)"
    }
}
