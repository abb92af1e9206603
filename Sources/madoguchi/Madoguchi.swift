import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import MadoguchiServer
import Synchronization

@main
struct MadoguchiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "madoguchi",
        abstract:
            "窓口(Madoguchi): プライバシーポリシーを公開し、その約束を守る問い合わせサイト。 / Madoguchi (窓口): the inquiry site behind a privacy policy, which publishes the policy and keeps it.",
        discussion: """
            どのオプションも環境変数(名前は各オプションの説明にあります)で渡せます。
            コマンドラインのフラグが優先します。設定がなければ、madoguchi serve は
            SQLite のファイル var/madoguchi.sqlite と examples/policy.yaml で動きます。

            Every option can also come from an environment variable (named in its help); a flag on the command line wins. \
            With no configuration, `madoguchi serve` runs on the SQLite file var/madoguchi.sqlite with examples/policy.yaml.
            """,
        version: MadoguchiRelease.description,
        subcommands: [
            Serve.self, Migrate.self, PolicyCommand.self, AuditCommand.self, UserCommand.self, CalendarCommand.self, RequestsCommand.self,
            CampaignsCommand.self, ContractorsCommand.self, MailCommand.self, BackupCommand.self, RestoreCommand.self, ReconcileCommand.self,
            KeysCommand.self,
            PurgeCommand.self, ScanCommand.self,
        ]
    )
}

extension Language: ExpressibleByArgument {}
