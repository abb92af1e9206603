import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import MadoguchiServer
import Synchronization

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "監査ログを扱います。 / Work with the audit log.",
        subcommands: [Verify.self, Head.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "監査ログのハッシュチェーンを確かめます。 / Check the audit log's hash chain.",
            discussion:
                "すべての項目のハッシュを(鍵付きの項目はマスター鍵で)計算し直します。--expect で、外に控えておいた先頭(audit head の出力)がまだあるかも確かめます。正常なら終了コード 0、そうでなければ最初に途切れた項目を示して 1、鍵やデータベースを読めなければ 3。\nRecomputes every entry's hash (keyed entries with the master key); with --expect, also checks that a head kept outside (the output of audit head) is still there. Exits 0 when intact, 1 naming the first broken entry, 3 when the key or the database cannot be read."
        )

        @Option(
            help:
                "まだあるはずの項目 SEQ:HASH(audit head の出力)。その項目が無いか違えば 1 で終わります。\nAn entry SEQ:HASH that must still be there (the output of audit head); exits 1 when it is gone or different."
        )
        var expect: String?

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if let expect, AuditHead.parse(expect) == nil {
                throw Bilingual.refusal(
                    "--expect: '\(expect)' は SEQ:HASH(audit head の出力)ではありません",
                    "--expect: '\(expect)' is not SEQ:HASH (the output of audit head)"
                )
            }
        }

        func run() async throws {
            let location = try database.location()
            let logger = try logging.makeLogger(label: "madoguchi.audit")
            let anchor = expect.flatMap(AuditHead.parse)
            // A missing or unreadable key file ends the command with exit 3 (`MadoguchiCommand.status(reporting:)`).
            let outcome = try await Database.using(location, logger: logger) { db in
                db.useAuditKey(try keys.ring(logger: logger).auditKey)
                let verification = try await AuditLog.verify(db)
                var anchored = true
                if let anchor { anchored = try await AuditLog.contains(anchor, in: db) }
                return (verification, anchored)
            }
            switch outcome {
            case let (.broken(sequence, reason), _):
                Bilingual.warn(
                    "監査ログのハッシュチェーンが \(sequence) 件目で途切れています: \(reason.worded(try await SiteResources.bundled().text(.ja)))",
                    "audit log broken at entry \(sequence): \(reason)"
                )
                throw ExitCode(1)
            case (.intact, false):
                let missing = anchor?.sequence ?? 0
                Bilingual.warn(
                    "控えておいた監査ログの項目 \(missing) がないか、内容が変わっています(末尾が削られたか書き換えられています)",
                    "the audit log entry \(missing) kept outside is gone or different (the chain was cut back or rewritten)"
                )
                throw ExitCode(1)
            case let (.intact(entries), true):
                Bilingual.say("監査ログのハッシュチェーンは正常です(\(entries) 件)", "audit log intact: \(entries) entries")
            }
        }
    }

    struct Head: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "監査ログの先頭(最新の項目の番号とハッシュ)を出します。 / Print the audit log's head (the newest entry's number and hash).",
            discussion:
                "データベースの外(別のサーバー、チケット、紙)に控えてください。後で audit verify --expect SEQ:HASH が、その項目がまだあるかを確かめます。\nKeep it outside the database (another server, a ticket, paper); audit verify --expect SEQ:HASH later checks that the entry is still there."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let head = try await Database.using(try database.location(), logger: try logging.makeLogger(label: "madoguchi.audit")) { db in
                try await AuditLog.head(in: db)
            }
            // Data for scripts: one line, SEQ:HASH.
            print(head.map { "\($0.sequence):\($0.hash)" } ?? "0:\(AuditCheckpoint.genesis.hash)")
        }
    }
}

/// `SEQ:HASH`, as `audit head` prints it.
enum AuditHead {
    static func parse(_ text: String) -> AuditCheckpoint? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let number = text[..<colon]
        let hash = text[text.index(after: colon)...]
        guard (1...18).contains(number.count), number.allSatisfy({ $0.isASCII && $0.isNumber }), let sequence = Int(number),
            (64...67).contains(hash.count), hash.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == "k") })
        else { return nil }
        return AuditCheckpoint(sequence: sequence, hash: String(hash))
    }
}
