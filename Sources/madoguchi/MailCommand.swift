import ArgumentParser
import Foundation
import Logging
import MadoguchiCore

struct MailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail",
        abstract: "送信できなかったメールを扱います。 / Work with mail that could not be delivered.",
        subcommands: [Failed.self, Retry.self]
    )

    struct Failed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "送信をあきらめたメールを一覧にします。 / List the mail delivery gave up on.",
            discussion:
                "1 件 1 行(タブ区切り): ID、種類、試行回数、作成日時(UTC)。宛先や本文は出しません。SMTP サーバーが恒久的に拒んだメール(5xx)と、再試行を使い切ったメールです。原因(宛先、SMTP の設定)を直してから mail retry で送り直してください。1 件でもあれば終了コード 1(監視用)、なければ 0。\nOne line each, tab-separated: id, kind, attempts, created (UTC); never the address or the content. These are messages the SMTP server refused for good (5xx) and those still failing after every retry. Fix the cause (the address, the SMTP settings), then send them again with mail retry. Exits 1 when there is any (for monitoring), 0 when none."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "madoguchi.mail")
            let failed = try await Database.using(try database.location(), logger: logger) { db in
                try await Migrations.refusePending(in: db)
                return try await FailedMail(database: db).list()
            }
            let format = ISO8601DateFormatter()
            for entry in failed {
                print("\(entry.id)\t\(entry.kind)\t\(entry.attempts)\t\(format.string(from: entry.createdAt))")
            }
            if failed.isEmpty {
                Bilingual.warn("送信をあきらめたメールはありません", "no failed mail")
            } else {
                Bilingual.warn("送信をあきらめたメール \(failed.count) 件", "\(failed.count) failed message\(failed.count == 1 ? "" : "s")")
                throw ExitCode(ExitStatus.finding)
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "送信をあきらめたメールを送信待ちに戻します。 / Put failed mail back in the queue.",
            discussion:
                "ID ごとに、試行回数を 0 にしてすぐ送る順番に戻し、監査ログに記録します(mail.requeue)。送信をあきらめたメールでない ID(不明、送信済み、消去済み)は名前を挙げて終了コード 1。動いているサーバーが数秒のうちに送ります。\nPuts each message back in the queue, due now with its attempts counted afresh, and records it in the audit log (mail.requeue). An id that is not a failed message (unknown, already sent, erased) is named, with exit 1. A running server sends them within seconds."
        )

        @Argument(help: "mail failed が出した ID。\nIds from mail failed.")
        var ids: [String]

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if ids.isEmpty { throw Bilingual.refusal("送り直すメールの ID を一つ以上挙げてください", "name at least one message id to retry") }
            if let bad = ids.first(where: {
                $0.isEmpty || $0.utf8.count > 64 || !$0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }) {
                throw Bilingual.refusal("'\(bad)' はメールの ID ではありません", "'\(bad)' is not a message id")
            }
        }

        func run() async throws {
            let logger = try logging.makeLogger(label: "madoguchi.mail")
            let outcome = try await Database.using(try database.location(), logger: logger) { db in
                try await Migrations.refusePending(in: db)
                // The requeue's audit entries join the keyed chain.
                db.useAuditKey(try keys.ring(logger: logger).auditKey)
                return try await FailedMail(database: db).retry(ids, actor: "cli")
            }
            for id in outcome.requeued {
                Bilingual.say("\(id): 送信待ちに戻しました", "\(id): queued again")
            }
            for id in outcome.notFailed {
                Bilingual.warn("\(id): 送信をあきらめたメールではありません(不明、送信済みか送信待ち、または消去済み)", "\(id): not a failed message (unknown, sent or queued, or erased)")
            }
            if !outcome.notFailed.isEmpty { throw ExitCode(ExitStatus.finding) }
        }
    }
}
