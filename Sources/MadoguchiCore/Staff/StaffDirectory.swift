import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix
import SQLKit
import Synchronization

/// What a staff member may see and do (R-SEC-2).
public enum StaffRole: String, Sendable, Hashable, Codable, CaseIterable {
    case admin
    case privacyOfficer = "privacy-officer"
    case `operator`
    /// Sees only the inquiries forwarded to their department.
    case department
    /// Staff of a contractor (委託先): only the inquiries of the services entrusted to their contractor, and of those
    /// only the items entrusted (R-OUT-2).
    case contractor

    /// Sees every inquiry of every service.
    public var seesAllInquiries: Bool { self == .admin || self == .privacyOfficer || self == .operator }
    /// Reads the audit log.
    public var readsAudit: Bool { self == .admin || self == .privacyOfficer }
    /// Requests about personal data are the privacy officer's (and administrators') work.
    public var handlesRequests: Bool { self == .admin || self == .privacyOfficer }
    /// Writes and sends campaigns (mail magazines, notices) to the people who agreed to them.
    public var sendsCampaigns: Bool { self == .admin || self == .operator }
    /// Reads what people wrote in answer to surveys (free text, opened for the purpose `surveys`); the others who
    /// send campaigns see counts only.
    public var readsSurveyText: Bool { self == .admin }
    /// Sees the statistics (counts that name no one); a department sees only what is forwarded to it.
    public var readsStatistics: Bool { self == .admin || self == .privacyOfficer || self == .operator }
    /// Keeps the register of leak incidents, reports them and notifies the people concerned.
    public var handlesIncidents: Bool { self == .admin || self == .privacyOfficer }
    /// Keeps the contractors' records: assessments, agreements, supervision reviews.
    public var supervisesContractors: Bool { self == .admin || self == .privacyOfficer }
    /// Adds, disables, enables, resets and removes staff accounts.
    public var managesStaff: Bool { self == .admin }
}

/// A staff account. The e-mail address is the sign-in name.
public struct StaffUser: Sendable, Hashable {
    public let id: String
    public let email: String
    public let role: StaffRole
    public let departmentID: String?
    /// The contractor a `contractor` account works for (an id of the policy file's contractors).
    public var contractorID: String? = nil

    public var actor: String { "staff:\(id)" }
}

/// A signed-in staff member.
public struct StaffSession: Sendable, Hashable {
    public let user: StaffUser
    /// Binds the console's CSRF tokens to this session.
    public let csrfNonce: String
}

/// Why an account operation was refused.
public enum StaffError: BilingualError, Sendable, Hashable {
    case invalidEmail
    case duplicateEmail
    case departmentRequired
    case contractorRequired
    case unknownContractor(String)
    case unknownDepartment(String)
    case weakPassword
    case passwordTooLong
    case invalidToken
    case unknownAccount(String)
    /// Disabling or removing this account would leave no administrator able to sign in.
    case lastAdministrator

    public var text: LocalizedText {
        switch self {
        case .invalidEmail: LocalizedText(ja: "メールアドレスとして正しくありません", en: "that is not a valid e-mail address")
        case .duplicateEmail:
            LocalizedText(
                ja: "そのメールアドレスの職員アカウントはすでにあります",
                en: "a staff account with that e-mail address already exists"
            )
        case .departmentRequired: LocalizedText(ja: "部署の職員には --department が要ります", en: "department members need --department")
        case .contractorRequired: LocalizedText(ja: "委託先の職員には --contractor が要ります", en: "contractor staff need --contractor")
        case let .unknownContractor(id):
            LocalizedText(
                ja: "委託先 '\(id)' はポリシーファイルで宣言されていません",
                en: "no contractor '\(id)' is declared in the policy file"
            )
        case let .unknownDepartment(id):
            LocalizedText(
                ja: "部署 '\(id)' はポリシーファイルで宣言されていません",
                en: "no department '\(id)' is declared in the policy file"
            )
        case .weakPassword: LocalizedText(ja: "パスワードは 12 文字以上にしてください", en: "the password must be at least 12 characters")
        case .passwordTooLong: LocalizedText(ja: "パスワードは 72 バイト以内にしてください", en: "the password must be at most 72 bytes")
        case .invalidToken: LocalizedText(ja: "リンクが正しくないか、使用済みか、期限切れです", en: "the link is invalid, used or expired")
        case let .unknownAccount(email):
            LocalizedText(ja: "\(email) の職員アカウントはありません", en: "there is no staff account for \(email)")
        case .lastAdministrator:
            LocalizedText(
                ja: "サインインできる管理者(admin)が一人もいなくなるため、できません。先に別の管理者を加えてください",
                en: "refused: no administrator (admin) who can sign in would be left; add another administrator first"
            )
        }
    }
}

/// Staff accounts, one-time set-up links, sign-in with lock-out, and sessions. Tokens are stored only as hashes.
public struct StaffDirectory: Sendable {
    public let database: Database
    public let bcryptCost: UInt8
    public var maximumFailures = 5
    public var lockout: TimeInterval = 15 * 60
    public var sessionLifetime: TimeInterval = 8 * 60 * 60
    public var setupLifetime: TimeInterval = 24 * 60 * 60

    public static let migration = Migration(
        version: 4,
        name: "staff and inquiry handling",
        portable: [
            """
            CREATE TABLE staff_users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                department_id TEXT,
                password_hash TEXT NOT NULL,
                failed_attempts INTEGER NOT NULL,
                locked_until {timestamp} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            """
            CREATE TABLE staff_tokens (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                csrf_nonce TEXT NOT NULL,
                expires_at {timestamp} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            """
            CREATE TABLE inquiry_answers (
                id TEXT PRIMARY KEY,
                inquiry_id TEXT NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
                staff_id TEXT NOT NULL,
                sealed {bytes} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            """
            CREATE TABLE inquiry_forwards (
                id TEXT PRIMARY KEY,
                inquiry_id TEXT NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
                staff_id TEXT NOT NULL,
                department_id TEXT NOT NULL,
                items TEXT NOT NULL,
                sealed_note {bytes} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX inquiry_forwards_inquiry ON inquiry_forwards (inquiry_id)",
        ]
    )

    public init(database: Database, bcryptCost: UInt8 = 12) {
        self.database = database
        self.bcryptCost = bcryptCost
    }

    /// Creates an account with no usable password and returns a one-time set-up token.
    public func add(
        email rawEmail: String,
        role: StaffRole,
        departmentID: String?,
        contractorID: String? = nil,
        policy: Policy,
        actor: String,
        now: Date = Date()
    ) async throws -> (user: StaffUser, setupToken: String) {
        let email = BlindIndex.normalise(email: rawEmail)
        guard EmailAddress.isValid(email) else { throw StaffError.invalidEmail }
        if role == .department {
            guard let departmentID else { throw StaffError.departmentRequired }
            guard policy.departments.contains(where: { $0.id == departmentID }) else { throw StaffError.unknownDepartment(departmentID) }
        }
        if role == .contractor {
            guard let contractorID else { throw StaffError.contractorRequired }
            guard policy.contractors.contains(where: { $0.id == contractorID }) else { throw StaffError.unknownContractor(contractorID) }
        }
        let user = StaffUser(
            id: RecordID.make(),
            email: email,
            role: role,
            departmentID: role == .department ? departmentID : nil,
            contractorID: role == .contractor ? contractorID : nil
        )
        let token = Self.newToken()
        let kind = database.kind
        let lifetime = setupLifetime
        // The unusable hash is a bcrypt of random bytes at the installation's cost: no password matches it, and
        // checking it takes as long as checking a real one.
        let placeholder = try await Self.hash(Self.newToken(), cost: bcryptCost)
        try await database.transaction { db in
            if try await db.select().column("id").from("staff_users").where("email", .equal, email).first() != nil {
                throw StaffError.duplicateEmail
            }
            try await db.insert(into: "staff_users")
                .columns("id", "email", "role", "department_id", "contractor_id", "password_hash", "failed_attempts", "locked_until", "created_at")
                .values(
                    SQLBind(user.id),
                    SQLBind(email),
                    SQLBind(role.rawValue),
                    SQLBind(user.departmentID ?? ""),
                    SQLBind(user.contractorID),
                    SQLBind(placeholder),
                    SQLBind(0),
                    Timestamp.bind(Date(timeIntervalSince1970: 0), kind),
                    Timestamp.bind(now, kind)
                )
                .run()
            try await Self.insertToken(
                token,
                kind: "setup",
                user: user.id,
                nonce: "",
                expires: now.addingTimeInterval(lifetime),
                db: db,
                dialect: kind,
                now: now
            )
            try await AuditLog.append(
                AuditEvent(
                    actor: actor,
                    action: "staff.add",
                    record: "staff:\(user.id)",
                    detail: "role=\(role.rawValue) department=\(user.departmentID ?? "-")" + (user.contractorID.map { " contractor=\($0)" } ?? "")
                ),
                in: db,
                kind: kind,
                at: now
            )
        }
        return (user, token)
    }

    /// Sets the password through a set-up link; the link works once.
    public func completeSetup(token: String, password: String, now: Date = Date()) async throws -> StaffUser {
        try Self.check(password: password)
        let hash = try await Self.hash(password, cost: bcryptCost)
        let kind = database.kind
        return try await database.transaction { db in
            guard let userID = try await Self.consume(token, kind: "setup", db: db, dialect: kind, now: now),
                let user = try await Self.user(id: userID, db: db)
            else { throw StaffError.invalidToken }
            try await db.update("staff_users").set("password_hash", to: hash).where("id", .equal, userID).run()
            try await AuditLog.append(AuditEvent(actor: user.actor, action: "staff.password-set", record: user.actor), in: db, kind: kind, at: now)
            return user
        }
    }

    /// The outcome of a sign-in attempt. Wrong e-mail and wrong password look the same.
    public enum SignIn: Sendable, Hashable {
        case signedIn(token: String, session: StaffSession)
        case invalid
        case locked(until: Date)
    }

    /// Failed sign-ins are counted per (address, client): after `maximumFailures` in a row that client is held off
    /// that address for a minute, doubling with each further run of failures up to `lockout`. Another client — the
    /// staff member at their own desk — is not locked out by someone else's guesses, and an address with no account
    /// is counted and held off exactly like one with an account, so the answers never tell them apart (R-SEC-2,
    /// R-SEC-3). The count changes in one statement in the database: concurrent guesses each count, none past the limit.
    public func signIn(email rawEmail: String, password: String, client: String = "", now: Date = Date()) async throws -> SignIn {
        let email = BlindIndex.normalise(email: rawEmail)
        let kind = database.kind
        let account = Self.digest("account:" + email)
        let clientKey = String(client.prefix(64))
        if let until = try await database.read({ db in try await Self.lockedUntil(account: account, client: clientKey, db: db, kind: kind) }),
            until > now
        {
            return .locked(until: until)
        }
        let row = try await database.read { db in
            try await db.select().columns("id", "password_hash").from("staff_users").where("email", .equal, email).first()
        }
        // The same bcrypt work whether or not the account exists, at the account's own cost.
        let storedHash = try row?.decode(column: "password_hash", as: String.self)
        let good: Bool
        if let storedHash, password.utf8.count <= 72 {
            good = await Self.verify(password, hash: storedHash)
        } else {
            _ = await Self.verify(password.utf8.count <= 72 ? password : "", hash: await Self.placeholderHash(cost: bcryptCost))
            good = false
        }
        let userID = try row?.decode(column: "id", as: String.self)
        let maximum = max(1, maximumFailures)
        let longest = lockout
        let lifetime = sessionLifetime
        return try await database.transaction { db in
            guard good, let userID else {
                guard
                    let row = try await db.raw(
                        """
                        INSERT INTO staff_sign_in_failures (account, client, failures, locked_until, updated_at)
                        VALUES (\(bind: account), \(bind: clientKey), 1, \(Timestamp.bind(Date(timeIntervalSince1970: 0), kind)), \(Timestamp.bind(now, kind)))
                        ON CONFLICT (account, client) DO UPDATE SET failures = staff_sign_in_failures.failures + 1, updated_at = excluded.updated_at
                        WHERE staff_sign_in_failures.locked_until <= \(Timestamp.bind(now, kind))
                        RETURNING failures
                        """
                    ).first()
                else {
                    // Locked meanwhile by a concurrent guess: this one does not count.
                    let until = try await Self.lockedUntil(account: account, client: clientKey, db: db, kind: kind) ?? now
                    return .locked(until: until)
                }
                let failures = try row.decode(column: "failures", as: Int.self)
                let locks = failures % maximum == 0
                var until = now
                if locks {
                    let runs = min(failures / maximum, 20)
                    until = now.addingTimeInterval(min(longest, 60 * pow(2, Double(runs - 1))))
                    try await db.update("staff_sign_in_failures").set("locked_until", to: Timestamp.bind(until, kind))
                        .where("account", .equal, account).where("client", .equal, clientKey).run()
                }
                try await AuditLog.append(
                    AuditEvent(
                        actor: userID.map { "staff:\($0)" } ?? "anonymous",
                        action: locks ? "staff.locked" : "staff.sign-in-failed",
                        record: userID.map { "staff:\($0)" } ?? "staff:unknown",
                        detail: "failures=\(failures)"
                    ),
                    in: db,
                    kind: kind,
                    at: now
                )
                return locks ? .locked(until: until) : .invalid
            }
            // A right password counts only while this client is not held off, checked in the transaction.
            if let until = try await Self.lockedUntil(account: account, client: clientKey, db: db, kind: kind), until > now {
                return .locked(until: until)
            }
            guard let user = try await Self.user(id: userID, db: db) else { return .invalid }
            try await db.delete(from: "staff_sign_in_failures").where("account", .equal, account).where("client", .equal, clientKey).run()
            let token = Self.newToken()
            let nonce = Self.newToken()
            try await Self.insertToken(
                token,
                kind: "session",
                user: userID,
                nonce: nonce,
                expires: now.addingTimeInterval(lifetime),
                db: db,
                dialect: kind,
                now: now
            )
            try await AuditLog.append(AuditEvent(actor: user.actor, action: "staff.sign-in", record: user.actor), in: db, kind: kind, at: now)
            return .signedIn(token: token, session: StaffSession(user: user, csrfNonce: nonce))
        }
    }

    static func lockedUntil(account: String, client: String, db: any SQLDatabase, kind: SQLDialectKind) async throws -> Date? {
        guard
            let row = try await db.select().column("locked_until").from("staff_sign_in_failures")
                .where("account", .equal, account).where("client", .equal, client).first()
        else { return nil }
        return try Timestamp.decode(row, column: "locked_until", kind)
    }

    /// Failed sign-ins per (address, client): migration 11.
    /// Migration 23: the contractor a `contractor` account works for (R-OUT-2).
    public static let contractorMigration = Migration(
        version: 23,
        name: "contractor staff",
        portable: ["ALTER TABLE staff_users ADD COLUMN contractor_id TEXT"]
    )

    public static let failureMigration = Migration(
        version: 11,
        name: "sign-in failures per client",
        portable: [
            """
            CREATE TABLE staff_sign_in_failures (
                account TEXT NOT NULL,
                client TEXT NOT NULL,
                failures INTEGER NOT NULL,
                locked_until {timestamp} NOT NULL,
                updated_at {timestamp} NOT NULL,
                PRIMARY KEY (account, client)
            )
            """
        ]
    )

    /// The session of a session token, or nil when it is unknown or expired.
    public func session(token: String, now: Date = Date()) async throws -> StaffSession? {
        let kind = database.kind
        let hash = Self.digest(token)
        let row = try await database.read { db in
            try await db.select().columns("user_id", "csrf_nonce", "expires_at").from("staff_tokens")
                .where("token_hash", .equal, hash).where("kind", .equal, "session").first()
        }
        guard let row, try Timestamp.decode(row, column: "expires_at", kind) > now else { return nil }
        let userID = try row.decode(column: "user_id", as: String.self)
        guard let user = try await database.read({ db in try await Self.user(id: userID, db: db) }) else { return nil }
        return StaffSession(user: user, csrfNonce: try row.decode(column: "csrf_nonce", as: String.self))
    }

    public func signOut(token: String) async throws {
        let hash = Self.digest(token)
        try await database.transaction { db in
            try await db.delete(from: "staff_tokens").where("token_hash", .equal, hash).run()
        }
    }

    /// Migration 26: an account can be disabled (its sessions end, it cannot sign in) and enabled again.
    public static let lifecycleMigration = Migration(
        version: 26,
        name: "staff account lifecycle",
        portable: ["ALTER TABLE staff_users ADD COLUMN disabled_at {timestamp}"]
    )

    /// An account as the administrator sees it.
    public struct Account: Sendable, Hashable {
        public let user: StaffUser
        public let disabled: Bool
        /// A set-up link is out and unused: no password has been set through it yet.
        public let setupPending: Bool
        public let createdAt: Date
    }

    /// Every account with its state, by e-mail address.
    public func accounts(now: Date = Date()) async throws -> [Account] {
        let kind = database.kind
        return try await database.read { db in
            let pending = Set(
                try await db.select().column("user_id").from("staff_tokens").where("kind", .equal, "setup")
                    .where("expires_at", .greaterThan, Timestamp.bind(now, kind)).all(decodingColumn: "user_id", as: String.self)
            )
            return try await db.select().columns("id", "email", "role", "department_id", "contractor_id", "disabled_at", "created_at")
                .from("staff_users").orderBy("email").all()
                .compactMap { row -> Account? in
                    guard let user = try Self.user(from: row) else { return nil }
                    return Account(
                        user: user,
                        disabled: try Timestamp.decodeIfPresent(row, column: "disabled_at", kind) != nil,
                        setupPending: pending.contains(user.id),
                        createdAt: try Timestamp.decode(row, column: "created_at", kind)
                    )
                }
        }
    }

    /// Disables the account of `email`: its sessions and links end at once and it cannot sign in until enabled.
    /// Refused for the last administrator who can sign in. Audited (`staff.disable`).
    @discardableResult
    public func disable(email: String, actor: String, now: Date = Date()) async throws -> StaffUser {
        try await change(email: email, action: "staff.disable", actor: actor, now: now) { user, db, kind in
            try await Self.refuseLastAdministrator(user, db: db)
            try await db.update("staff_users").set("disabled_at", to: Timestamp.bind(now, kind)).where("id", .equal, user.id).run()
            try await db.delete(from: "staff_tokens").where("user_id", .equal, user.id).run()
        }
    }

    /// Enables a disabled account again (with the password it had). Audited (`staff.enable`).
    @discardableResult
    public func enable(email: String, actor: String, now: Date = Date()) async throws -> StaffUser {
        try await change(email: email, action: "staff.enable", actor: actor, now: now) { user, db, _ in
            try await db.update("staff_users").set("disabled_at", to: SQLLiteral.null).where("id", .equal, user.id).run()
        }
    }

    /// Removes the account of `email` with its sessions, links and sign-in failure counts. What the member did stays
    /// recorded under their id (answers, forwards, the audit log). Refused for the last administrator who can sign
    /// in. Audited (`staff.remove`).
    @discardableResult
    public func remove(email: String, actor: String, now: Date = Date()) async throws -> StaffUser {
        try await change(email: email, action: "staff.remove", actor: actor, now: now) { user, db, _ in
            try await Self.refuseLastAdministrator(user, db: db)
            try await db.delete(from: "staff_tokens").where("user_id", .equal, user.id).run()
            try await db.delete(from: "staff_sign_in_failures").where("account", .equal, Self.digest("account:" + user.email)).run()
            try await db.delete(from: "staff_users").where("id", .equal, user.id).run()
        }
    }

    /// A new one-time set-up link for an existing account (a forgotten password, a suspected leak): the old password
    /// stops working at once, its sessions and earlier links end, and the link sets a new one. A disabled account
    /// stays disabled. Audited (`staff.reset`).
    public func reset(email: String, actor: String, now: Date = Date()) async throws -> (user: StaffUser, setupToken: String) {
        let token = Self.newToken()
        let placeholder = try await Self.hash(Self.newToken(), cost: bcryptCost)
        let lifetime = setupLifetime
        let user = try await change(email: email, action: "staff.reset", actor: actor, now: now) { user, db, kind in
            try await db.update("staff_users").set("password_hash", to: placeholder).where("id", .equal, user.id).run()
            try await db.delete(from: "staff_tokens").where("user_id", .equal, user.id).run()
            try await Self.insertToken(
                token,
                kind: "setup",
                user: user.id,
                nonce: "",
                expires: now.addingTimeInterval(lifetime),
                db: db,
                dialect: kind,
                now: now
            )
        }
        return (user, token)
    }

    /// Finds the account of `email`, applies `body` and audits `action`, in one transaction.
    private func change(
        email rawEmail: String,
        action: String,
        actor: String,
        now: Date,
        _ body: @escaping @Sendable (StaffUser, any SQLDatabase, SQLDialectKind) async throws -> Void
    ) async throws -> StaffUser {
        let email = BlindIndex.normalise(email: rawEmail)
        let kind = database.kind
        return try await database.transaction { db in
            guard
                let user = try await db.select().columns("id", "email", "role", "department_id", "contractor_id").from("staff_users")
                    .where("email", .equal, email).first().flatMap(Self.user(from:))
            else { throw StaffError.unknownAccount(email) }
            try await body(user, db, kind)
            try await AuditLog.append(
                AuditEvent(actor: actor, action: action, record: user.actor, detail: "role=\(user.role.rawValue)"),
                in: db,
                kind: kind,
                at: now
            )
            return user
        }
    }

    /// Refuses a change that would leave no enabled administrator (other than `user`).
    private static func refuseLastAdministrator(_ user: StaffUser, db: any SQLDatabase) async throws {
        guard user.role == .admin else { return }
        let others =
            try await db.raw(
                "SELECT COUNT(*) AS n FROM staff_users WHERE role = 'admin' AND disabled_at IS NULL AND id <> \(bind: user.id)"
            ).first(decodingColumn: "n", as: Int.self) ?? 0
        if others == 0 { throw StaffError.lastAdministrator }
    }

    /// Every account, for the console.
    public func users() async throws -> [StaffUser] {
        try await database.read { db in
            try await db.select().columns("id", "email", "role", "department_id", "contractor_id").from("staff_users").orderBy("email").all()
                .compactMap(Self.user(from:))
        }
    }

    // MARK: Helpers

    /// The account `id` while it is enabled: a disabled account signs in to nothing, its sessions and set-up links
    /// find no one.
    static func user(id: String, db: any SQLDatabase) async throws -> StaffUser? {
        try await db.select().columns("id", "email", "role", "department_id", "contractor_id").from("staff_users").where("id", .equal, id)
            .where(SQLColumn("disabled_at"), .is, SQLLiteral.null).first()
            .flatMap(user(from:))
    }

    static func user(from row: any SQLRow) throws -> StaffUser? {
        guard let role = StaffRole(rawValue: try row.decode(column: "role", as: String.self)) else { return nil }
        let department = try row.decode(column: "department_id", as: String.self)
        return StaffUser(
            id: try row.decode(column: "id", as: String.self),
            email: try row.decode(column: "email", as: String.self),
            role: role,
            departmentID: department.isEmpty ? nil : department,
            contractorID: try row.decode(column: "contractor_id", as: String?.self)
        )
    }

    static func insertToken(
        _ token: String,
        kind: String,
        user: String,
        nonce: String,
        expires: Date,
        db: any SQLDatabase,
        dialect: SQLDialectKind,
        now: Date
    ) async throws {
        try await db.insert(into: "staff_tokens").columns("token_hash", "user_id", "kind", "csrf_nonce", "expires_at", "created_at")
            .values(
                SQLBind(digest(token)),
                SQLBind(user),
                SQLBind(kind),
                SQLBind(nonce),
                Timestamp.bind(expires, dialect),
                Timestamp.bind(now, dialect)
            )
            .run()
    }

    /// Deletes a single-use token and returns its user, if it was valid.
    static func consume(_ token: String, kind: String, db: any SQLDatabase, dialect: SQLDialectKind, now: Date) async throws -> String? {
        let hash = digest(token)
        guard
            let row = try await db.select().columns("user_id", "expires_at").from("staff_tokens")
                .where("token_hash", .equal, hash).where("kind", .equal, kind).first()
        else { return nil }
        try await db.delete(from: "staff_tokens").where("token_hash", .equal, hash).run()
        guard try Timestamp.decode(row, column: "expires_at", dialect) > now else { return nil }
        return try row.decode(column: "user_id", as: String.self)
    }

    static func check(password: String) throws {
        if password.count < 12 { throw StaffError.weakPassword }
        // bcrypt reads 72 bytes; longer passwords would be silently truncated.
        if password.utf8.count > 72 { throw StaffError.passwordTooLong }
    }

    static func newToken() -> String {
        Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64URLEncoded
    }

    static func digest(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }

    /// A hash no password matches, at `cost`: what an address without an account is checked against, so it takes
    /// the same time as a real account of the same cost. Made once per cost.
    static func placeholderHash(cost: UInt8) async -> String {
        if let made = placeholders.withLock({ $0[cost] }) { return made }
        let made = (try? await hash(newToken(), cost: cost)) ?? Bcrypt.hash(newToken(), cost: cost)
        return placeholders.withLock { stored in
            if let existing = stored[cost] { return existing }
            stored[cost] = made
            return made
        }
    }

    private static let placeholders = Mutex<[UInt8: String]>([:])

    /// bcrypt is slow on purpose; it runs on the thread pool, not on an event loop.
    static func hash(_ password: String, cost: UInt8) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    static func verify(_ password: String, hash: String) async -> Bool {
        (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }) ?? false
    }
}
