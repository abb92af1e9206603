import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MadoguchiCore
import MadoguchiServer
import Synchronization

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "職員のアカウントを管理します。 / Manage staff accounts.",
        subcommands: [Add.self, List.self, Disable.self, Enable.self, Remove.self, Reset.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "職員のアカウントを加え、1 回限りの設定用リンク(24 時間有効)を出します。 / Add a staff account and print its one-time set-up link (valid 24 hours).",
            discussion:
                "役割: admin、privacy-officer、operator(すべての問い合わせ)、department(--department に回された問い合わせだけ)、contractor(--contractor に委託したサービスの問い合わせの、委託した項目だけ)。\nRoles: admin, privacy-officer, operator (all inquiries), department (only inquiries forwarded to --department), contractor (only the items entrusted to --contractor, of the inquiries of the services entrusted to it)."
        )

        @Option(help: "職員のメールアドレス(サインイン名)。\nThe staff member's e-mail address (their sign-in name).")
        var email: String

        @Option(help: "admin、privacy-officer、operator、department、contractor のどれか。\nadmin, privacy-officer, operator, department or contractor.")
        var role: String

        @Option(help: "ポリシーファイルの部署 ID(department の役割では必須)。\nThe department id from the policy file (required for the department role).")
        var department: String?

        @Option(help: "ポリシーファイルの委託先 ID(contractor の役割では必須)。\nThe contractor id from the policy file (required for the contractor role).")
        var contractor: String?

        @Option(
            help:
                "ポリシーファイル(部署 ID のため)。環境変数: MADOGUCHI_POLICY。既定: examples/policy.yaml\nThe policy file (for department ids). Env: MADOGUCHI_POLICY. Default: examples/policy.yaml"
        )
        var policy: String?

        @Option(
            name: .customLong("base-url"),
            help:
                "サイトの公開アドレス(リンク用)。環境変数: MADOGUCHI_BASE_URL。既定: serve と同じ(http://MADOGUCHI_HOST:MADOGUCHI_PORT、なければ http://127.0.0.1:8080)\nThe site's public address, for the link. Env: MADOGUCHI_BASE_URL. Default: as serve's (http://MADOGUCHI_HOST:MADOGUCHI_PORT, else http://127.0.0.1:8080)"
        )
        var baseURL: String?

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            guard let staffRole = StaffRole(rawValue: role) else {
                let roles = StaffRole.allCases.map(\.rawValue).joined(separator: ", ")
                throw Bilingual.refusal("--role: '\(role)' は \(roles) のどれでもありません", "--role: '\(role)' is not one of \(roles)")
            }
            let loaded = try loadPolicy(policy)
            let added: (user: StaffUser, setupToken: String)
            do {
                let logger = try logging.makeLogger(label: "madoguchi.user")
                added = try await Database.using(try database.location(), logger: logger) { db in
                    // The account's audit entry joins the keyed chain.
                    db.useAuditKey(try keys.ring(logger: logger).auditKey)
                    try await Migrations.apply(to: db)
                    return try await StaffDirectory(database: db).add(
                        email: email,
                        role: staffRole,
                        departmentID: department,
                        contractorID: contractor,
                        policy: loaded,
                        actor: "cli"
                    )
                }
            } catch let error as StaffError {
                Bilingual.warn("madoguchi: \(error.text.ja)", "madoguchi: \(error.text.en)")
                throw ExitCode(ExitStatus.finding)
            }
            let base = UserCommand.base(baseURL)
            let user = added.user
            Bilingual.say(
                "\(user.email) を \((user.departmentID ?? user.contractorID).map { "\($0) の " } ?? "")\(user.role.rawValue) として追加しました",
                "added \(user.email) as \(user.role.rawValue)\((user.departmentID ?? user.contractorID).map { " of \($0)" } ?? "")"
            )
            UserCommand.printLink(base: base, token: added.setupToken)
        }
    }

    /// The site's address for links: `--base-url`, `MADOGUCHI_BASE_URL`, else what `serve` would listen on.
    static func base(_ option: String?) -> String {
        let host = Environment.value("MADOGUCHI_HOST") ?? "127.0.0.1"
        let port = Environment.value("MADOGUCHI_PORT") ?? "8080"
        let shown = host.contains(":") ? "[\(host)]" : host
        return (option ?? Environment.value("MADOGUCHI_BASE_URL") ?? "http://\(shown):\(port)").trimmingCharacters(
            in: CharacterSet(charactersIn: "/")
        )
    }

    static func printLink(base: String, token: String) {
        // The link alone on its line, so it can be copied whole.
        Bilingual.say("設定用リンク(24 時間有効、1 回限り):", "set-up link (valid 24 hours, works once):")
        print("\(base)/console/setup?token=\(token)")
    }

    /// Runs an account change with the keyed audit chain; a refused change (unknown account, last administrator) is
    /// said and ends with exit 1.
    static func change<R: Sendable>(
        _ database: DatabaseOptions,
        _ keys: KeyOptions,
        _ logging: LoggingOptions,
        _ body: @escaping @Sendable (StaffDirectory) async throws -> R
    ) async throws -> R {
        let logger = try logging.makeLogger(label: "madoguchi.user")
        do {
            return try await Database.using(try database.location(), logger: logger) { db in
                try await Migrations.refusePending(in: db)
                db.useAuditKey(try keys.ring(logger: logger).auditKey)
                return try await body(StaffDirectory(database: db))
            }
        } catch let error as StaffError {
            Bilingual.warn("madoguchi: \(error.text.ja)", "madoguchi: \(error.text.en)")
            throw ExitCode(ExitStatus.finding)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "職員のアカウントを一覧にします。 / List the staff accounts.",
            discussion:
                "1 件 1 行(タブ区切り): メールアドレス、役割、部署か委託先(なければ -)、状態(active、disabled、setup-pending)、作成日(UTC)。\nOne line each, tab-separated: e-mail address, role, department or contractor (- when none), state (active, disabled, setup-pending), created (UTC)."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "madoguchi.user")
            let accounts = try await Database.using(try database.location(), logger: logger) { db in
                try await Migrations.refusePending(in: db)
                return try await StaffDirectory(database: db).accounts()
            }
            let format = ISO8601DateFormatter()
            for account in accounts {
                let user = account.user
                let state = account.disabled ? "disabled" : account.setupPending ? "setup-pending" : "active"
                print(
                    [user.email, user.role.rawValue, user.departmentID ?? user.contractorID ?? "-", state, format.string(from: account.createdAt)]
                        .joined(separator: "\t")
                )
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "アカウントを止めます(サインイン中のセッションも終わります)。 / Disable an account (its sessions end).",
            discussion:
                "パスワードは残り、enable で戻せます。サインインできる最後の管理者は止められません。監査ログに記録します。\nThe password is kept; enable restores the account. The last administrator who can sign in cannot be disabled. Audited."
        )

        @Argument(help: "職員のメールアドレス。\nThe staff member's e-mail address.")
        var email: String

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let email = self.email
            let user = try await UserCommand.change(database, keys, logging) { try await $0.disable(email: email, actor: "cli") }
            Bilingual.say("\(user.email) を止めました", "disabled \(user.email)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "止めたアカウントを戻します。 / Enable a disabled account again.",
            discussion: "監査ログに記録します。\nAudited."
        )

        @Argument(help: "職員のメールアドレス。\nThe staff member's e-mail address.")
        var email: String

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let email = self.email
            let user = try await UserCommand.change(database, keys, logging) { try await $0.enable(email: email, actor: "cli") }
            Bilingual.say("\(user.email) を戻しました", "enabled \(user.email)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "アカウントを削除します。 / Remove an account.",
            discussion:
                "セッション、リンク、サインイン失敗の記録も消えます。その職員がしたこと(回答、転送、監査ログ)は職員 ID で残ります。サインインできる最後の管理者は削除できません。監査ログに記録します。\nIts sessions, links and sign-in failure counts go too; what the member did (answers, forwards, the audit log) stays recorded under their id. The last administrator who can sign in cannot be removed. Audited."
        )

        @Argument(help: "職員のメールアドレス。\nThe staff member's e-mail address.")
        var email: String

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let email = self.email
            let user = try await UserCommand.change(database, keys, logging) { try await $0.remove(email: email, actor: "cli") }
            Bilingual.say("\(user.email) を削除しました", "removed \(user.email)")
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "既存のアカウントに新しい設定用リンクを出します。 / Print a new set-up link for an existing account.",
            discussion:
                "今のパスワードはすぐ使えなくなり、セッションと以前のリンクも終わります(パスワードを忘れたとき、漏れた疑いがあるとき)。止めたアカウントは止めたままです。監査ログに記録します。\nThe current password stops working at once, and its sessions and earlier links end (a forgotten password, a suspected leak). A disabled account stays disabled. Audited."
        )

        @Argument(help: "職員のメールアドレス。\nThe staff member's e-mail address.")
        var email: String

        @Option(
            name: .customLong("base-url"),
            help:
                "サイトの公開アドレス(リンク用)。環境変数: MADOGUCHI_BASE_URL。既定: serve と同じ\nThe site's public address, for the link. Env: MADOGUCHI_BASE_URL. Default: as serve's"
        )
        var baseURL: String?

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let email = self.email
            let (user, token) = try await UserCommand.change(database, keys, logging) { try await $0.reset(email: email, actor: "cli") }
            Bilingual.say("\(user.email) のパスワードを無効にしました", "the password of \(user.email) no longer works")
            UserCommand.printLink(base: UserCommand.base(baseURL), token: token)
        }
    }
}
