import Foundation
import SQLKit

/// One step of the schema, written for each dialect. Steps are applied in order and never edited once released.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sqlite: [String]
    public var postgres: [String]

    public init(version: Int, name: String, sqlite: [String], postgres: [String]) {
        self.version = version
        self.name = name
        self.sqlite = sqlite
        self.postgres = postgres
    }

    /// One text for both dialects: `{timestamp}` becomes `TEXT` (ISO 8601) on SQLite and `TIMESTAMPTZ` on PostgreSQL,
    /// `{bytes}` `BLOB` or `BYTEA`, `{bool}` `INTEGER` or `BOOLEAN`.
    public init(version: Int, name: String, portable statements: [String]) {
        func translate(_ statement: String, _ types: [String: String]) -> String {
            types.reduce(statement) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
        }
        self.init(
            version: version,
            name: name,
            sqlite: statements.map { translate($0, ["timestamp": "TEXT", "bytes": "BLOB", "bool": "INTEGER"]) },
            postgres: statements.map { translate($0, ["timestamp": "TIMESTAMPTZ", "bytes": "BYTEA", "bool": "BOOLEAN"]) }
        )
    }

    func statements(for kind: SQLDialectKind) -> [String] {
        kind == .sqlite ? sqlite : postgres
    }
}

/// The ordered list of schema steps, applied by `madoguchi migrate` and at start-up.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(
            version: 1,
            name: "policy versions",
            portable: [
                """
                CREATE TABLE policy_versions (
                    id TEXT PRIMARY KEY,
                    content_hash TEXT NOT NULL UNIQUE,
                    effective_date TEXT NOT NULL,
                    current_since TEXT NOT NULL,
                    document_json TEXT NOT NULL,
                    source_yaml TEXT NOT NULL,
                    stored_at {timestamp} NOT NULL
                )
                """
            ]
        ),
        AuditLog.migration,
        InquiryVault.migration,
        StaffDirectory.migration,
        SubjectRights.migration,
        RightsRequestDesk.migration,
        SelfService.migration,
        ConsentLedger.migration,
        ConsentLedger.linkMigration,
        ConsentLedger.lookupMigration,
        StaffDirectory.failureMigration,
        Outbox.contentMigration,
        InquiryVault.confirmationMigration,
        PurposeConsents.migration,
        CampaignDesk.migration,
        Survey.migration,
        MailConsentRecords.migration,
        ProvisionRegister.migration,
        RetentionPurge.migration,
        StatisticsDesk.migration,
        IncidentRegister.migration,
        ContractorRegister.migration,
        StaffDirectory.contractorMigration,
        RightsRequestDesk.clockMigration,
        AddressLimit.migration,
        StaffDirectory.lifecycleMigration,
        KeyRotation.migration,
        RightsRequestDesk.downloadCodeMigration,
    ]

    /// What `apply` did.
    public struct Report: Sendable, Equatable {
        public var applied: [Int]
        public var current: Int
    }

    /// Applies every missing step, each in its own transaction together with its record in `madoguchi_schema`.
    /// Safe to run from several processes at once: PostgreSQL serialises them with an advisory lock.
    @discardableResult
    public static func apply(to database: Database, migrations: [Migration] = all, table: String = "madoguchi_schema") async throws -> Report {
        let kind = database.kind
        try await database.transaction { db in
            try await lock(db, kind)
            let time = kind == .sqlite ? "TEXT" : "TIMESTAMPTZ"
            try await db.raw(
                "CREATE TABLE IF NOT EXISTS \(unsafeRaw: table) (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at \(unsafeRaw: time) NOT NULL)"
            ).run()
        }
        try await refuseNewer(database, migrations: migrations, table: table)
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            let didApply = try await database.transaction { db in
                try await lock(db, kind)
                let done =
                    try await db.select().column("version").from(table)
                    .where("version", .equal, migration.version).first() != nil
                if done { return false }
                for statement in migration.statements(for: kind) {
                    try await db.raw(SQLQueryString(statement)).run()
                }
                try await db.insert(into: table)
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), Timestamp.bind(Date(), kind))
                    .run()
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return Report(applied: applied, current: try await currentVersion(of: database, table: table))
    }

    /// Refuses a database that a newer release has migrated past the steps this binary knows: it would read and write
    /// tables whose meaning it does not know (an older binary started after an upgrade, or a rollback without
    /// restoring the data). A database without the schema table passes (nothing applied yet).
    public static func refuseNewer(_ database: Database, migrations: [Migration] = all, table: String = "madoguchi_schema") async throws {
        let kind = database.kind
        let exists = try await database.read { db in try await tableExists(table, in: db, kind: kind) }
        guard exists else { return }
        let current = try await currentVersion(of: database, table: table)
        let known = migrations.map(\.version).max() ?? 0
        guard current > known else { return }
        throw StoreUnavailable(
            ja:
                "データベースのスキーマ(\(table))は \(current) 番まで進んでいますが、この madoguchi が知っているのは \(known) 番までです。新しい版の madoguchi で動かしてください(古い版に戻すならデータもその時点のバックアップに戻してください)",
            en:
                "the database schema (\(table)) is at step \(current), newer than this madoguchi knows (\(known)); run a newer madoguchi (to go back to an older one, restore the data from a backup of that time)"
        )
    }

    /// The highest applied step, 0 for an empty database.
    public static func currentVersion(of database: Database, table: String = "madoguchi_schema") async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM \(unsafeRaw: table)").first(decodingColumn: "v", as: Int.self) ?? 0
        }
    }

    /// Steps not yet applied to `database` (an empty database has all of them pending).
    public static func pending(in database: Database, migrations: [Migration] = all, table: String = "madoguchi_schema") async throws -> [Migration] {
        let exists = try await database.read { db in try await tableExists(table, in: db, kind: database.kind) }
        let current = exists ? try await currentVersion(of: database, table: table) : 0
        return migrations.filter { $0.version > current }
    }

    /// Refuses a database that is empty or behind this binary's schema, for commands that need the schema and do not
    /// migrate (`StoreUnavailable`: the command line's exit 3). `table` names the store in the message.
    public static func refusePending(in database: Database, migrations: [Migration] = all, table: String = "madoguchi_schema") async throws {
        let pending = try await pending(in: database, migrations: migrations, table: table)
        guard pending.isEmpty else {
            throw StoreUnavailable(
                ja: "データベースのスキーマ(\(table))が古いか空です(未適用 \(pending.count) 件)。先に madoguchi migrate を実行してください",
                en: "the database schema (\(table)) is empty or behind (\(pending.count) steps pending); run madoguchi migrate first"
            )
        }
    }

    /// True when `table` exists in the database (on PostgreSQL: in the current schema).
    static func tableExists(_ table: String, in db: any SQLDatabase, kind: SQLDialectKind) async throws -> Bool {
        switch kind {
        case .sqlite:
            return try await db.raw("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = \(bind: table)")
                .first(decodingColumn: "n", as: Int.self) == 1
        case .postgres:
            return try await db.raw(
                "SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_name = \(bind: table) AND table_schema = current_schema()"
            )
            .first(decodingColumn: "n", as: Int.self) == 1
        }
    }

    private static func lock(_ db: any SQLDatabase, _ kind: SQLDialectKind) async throws {
        // SQLite transactions already hold the single writer lock (BEGIN IMMEDIATE).
        if kind == .postgres {
            try await db.raw("SELECT pg_advisory_xact_lock(727312001)").run()
        }
    }
}

/// Timestamps: UTC, stored as ISO 8601 text on SQLite and as timestamptz on PostgreSQL.
/// Calendar dates (policy dates) are ISO `YYYY-MM-DD` text on both, which sorts correctly.
enum Timestamp {
    static func bind(_ date: Date, _ kind: SQLDialectKind) -> SQLBind {
        kind == .sqlite ? SQLBind(date.formatted(.iso8601)) : SQLBind(date)
    }

    static func decode(_ row: any SQLRow, column: String, _ kind: SQLDialectKind) throws -> Date {
        switch kind {
        case .postgres:
            return try row.decode(column: column, as: Date.self)
        case .sqlite:
            let text = try row.decode(column: column, as: String.self)
            guard let date = try? Date(text, strategy: .iso8601) else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(column) is not an ISO 8601 time"))
            }
            return date
        }
    }

    /// A nullable timestamp column.
    static func decodeIfPresent(_ row: any SQLRow, column: String, _ kind: SQLDialectKind) throws -> Date? {
        switch kind {
        case .postgres: try row.decode(column: column, as: Date?.self)
        case .sqlite: try row.decode(column: column, as: String?.self) == nil ? nil : try decode(row, column: column, kind)
        }
    }
}
