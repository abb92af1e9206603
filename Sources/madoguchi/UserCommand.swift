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
        subcommands: [Add.self]
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
                "サイトの公開アドレス(リンク用)。環境変数: MADOGUCHI_BASE_URL。既定: http://127.0.0.1:8080\nThe site's public address, for the link. Env: MADOGUCHI_BASE_URL. Default: http://127.0.0.1:8080"
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
                throw ExitCode(1)
            } catch let error as KeyRingError {
                Bilingual.warn("madoguchi: \(error.text.ja)", "madoguchi: \(error.text.en)")
                throw ExitCode(3)
            }
            let base = (baseURL ?? Environment.value("MADOGUCHI_BASE_URL") ?? "http://127.0.0.1:8080")
                .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let user = added.user
            Bilingual.say(
                "\(user.email) を \((user.departmentID ?? user.contractorID).map { "\($0) の " } ?? "")\(user.role.rawValue) として追加しました",
                "added \(user.email) as \(user.role.rawValue)\((user.departmentID ?? user.contractorID).map { " of \($0)" } ?? "")"
            )
            // The link alone on its line, so it can be copied whole.
            Bilingual.say("設定用リンク(24 時間有効、1 回限り):", "set-up link (valid 24 hours, works once):")
            print("\(base)/console/setup?token=\(added.setupToken)")
        }
    }
}
