import Foundation
import SQLKit

/// The rows one change adds, described as data rather than as statements, so that a group commit can write the
/// rows of many changes with one multi-row statement per table (`Database.commit`). Each statement is a round trip
/// to the database thread; a batch of 64 inquiries costs a handful of statements instead of hundreds.
public struct WriteSet: Sendable {
    /// A row that must be new: if another change already holds its unique value, the whole set is dropped and the
    /// caller gets `WriteConflict` naming the table (nothing of the set is written).
    public struct Claim: Sendable {
        public let table: String
        public let columns: [String]
        public let values: [SQLBind]
        /// The unique column whose conflict drops the set.
        public let uniqueColumn: String
        /// The value of the first column (the row's key), which the database reports back for claimed rows.
        public let key: String
    }

    /// One row to insert.
    public struct Row: Sendable {
        public let table: String
        public let columns: [String]
        public let values: [SQLBind]
        /// When set, a row whose value in this column is already taken is skipped instead of failing the batch.
        public let ignoringConflictsOn: String?
    }

    /// A count to add to a row of a tally table (statistics that name no one): the row is made at `by` or raised by it.
    public struct Tally: Sendable, Hashable {
        public let table: String
        public let keyColumns: [String]
        public let key: [String]
        public let by: Int
    }

    public private(set) var claims: [Claim] = []
    public private(set) var tallies: [Tally] = []
    public private(set) var rows: [Row] = []
    public private(set) var audit: [AuditEvent] = []
    /// The time of the change, recorded in its audit entries.
    public let at: Date

    public init(at: Date = Date()) {
        self.at = at
    }

    /// Adds a row whose first column is `key` (a value new to the table, such as a fresh UUID) and whose
    /// `uniqueColumn` must not already be taken. Claims are written before the rows, in the order added.
    public mutating func claim(_ table: String, key: String, columns: [String], values: [SQLBind], uniqueOn uniqueColumn: String) {
        precondition(columns.count == values.count, "\(table): \(columns.count) columns, \(values.count) values")
        claims.append(Claim(table: table, columns: columns, values: values, uniqueColumn: uniqueColumn, key: key))
    }

    /// Adds a row. Rows of one table are written in the order added, tables in the order first used.
    public mutating func insert(into table: String, columns: [String], values: [SQLBind], ignoringConflictsOn column: String? = nil) {
        precondition(columns.count == values.count, "\(table): \(columns.count) columns, \(values.count) values")
        rows.append(Row(table: table, columns: columns, values: values, ignoringConflictsOn: column))
    }

    /// Adds `by` to the count column `n` of the row of `table` whose key columns hold `key`.
    public mutating func count(in table: String, keyColumns: [String], key: [String], by: Int = 1) {
        precondition(keyColumns.count == key.count, "\(table): \(keyColumns.count) key columns, \(key.count) values")
        tallies.append(Tally(table: table, keyColumns: keyColumns, key: key, by: by))
    }

    /// Adds an audit entry, appended to the chain in the same commit as the rows.
    public mutating func audit(_ event: AuditEvent) {
        audit.append(event)
    }
}

/// A claimed row already existed: the change was not written.
public struct WriteConflict: Error, Sendable, Equatable {
    public let table: String
}

extension WriteSet {
    /// Writes `sets` inside the caller's transaction with one statement per table and chunk; returns each set's
    /// outcome (a lost claim fails that set alone). Throws when a statement fails, leaving the caller to roll back.
    static func apply(_ sets: [WriteSet], in db: any SQLDatabase, kind: SQLDialectKind) async throws -> [Result<Void, WriteConflict>] {
        var outcomes = [Result<Void, WriteConflict>](repeating: .success(()), count: sets.count)
        // Claims first: the sets that lose one are left out of everything after.
        let claimGroups = Self.grouped(
            sets.indices.map { index in
                sets[index].claims.map { claim in
                    (ClaimShape(table: claim.table, columns: claim.columns, uniqueColumn: claim.uniqueColumn), (set: index, claim: claim))
                }
            }
        ).map { (claim: $0.members[0].claim, members: $0.members) }
        var written: [Int: [Claim]] = [:]
        for group in claimGroups {
            let members = group.members.filter { if case .success = outcomes[$0.set] { true } else { false } }
            var claimed = Set<String>()
            for chunk in Self.chunks(members, columns: group.claim.columns.count) {
                let insert = db.insert(into: group.claim.table).columns(group.claim.columns)
                for member in chunk { _ = insert.values(member.claim.values) }
                let keys = try await insert.ignoringConflicts(with: group.claim.uniqueColumn)
                    .returning(group.claim.columns[0])
                    .all(decodingColumn: group.claim.columns[0], as: String.self)
                claimed.formUnion(keys)
            }
            for member in members {
                if claimed.contains(member.claim.key) {
                    written[member.set, default: []].append(member.claim)
                } else {
                    outcomes[member.set] = .failure(WriteConflict(table: group.claim.table))
                }
            }
        }
        // A set that lost a later claim gives back the rows its earlier claims took (keyed by its own fresh keys).
        for (index, claims) in written {
            guard case .failure = outcomes[index] else { continue }
            for claim in claims.reversed() {
                try await db.delete(from: claim.table).where(SQLIdentifier(claim.columns[0]), .equal, SQLBind(claim.key)).run()
            }
        }
        let accepted = sets.indices.filter { if case .success = outcomes[$0] { true } else { false } }

        let rowGroups = Self.grouped(
            accepted.map { index in
                sets[index].rows.map { row in
                    (RowShape(table: row.table, columns: row.columns, ignoringConflictsOn: row.ignoringConflictsOn), row)
                }
            }
        ).map { (row: $0.members[0], rows: $0.members) }
        for group in rowGroups {
            for chunk in Self.chunks(group.rows, columns: group.row.columns.count) {
                let insert = db.insert(into: group.row.table).columns(group.row.columns)
                for row in chunk { _ = insert.values(row.values) }
                if let column = group.row.ignoringConflictsOn { _ = insert.ignoringConflicts(with: column) }
                try await insert.run()
            }
        }

        let events = accepted.flatMap { index in sets[index].audit.map { ($0, sets[index].at) } }
        if !events.isEmpty {
            try await AuditLog.append(events, in: db, kind: kind)
        }
        // Tallies last: on PostgreSQL the audit append above holds the appenders' lock, so the counted rows add no
        // contention of their own; merged per key and written in key order, one statement per table.
        var sums: [String: [[String]: (columns: [String], by: Int)]] = [:]
        for index in accepted {
            for tally in sets[index].tallies {
                sums[tally.table, default: [:]][tally.key, default: (tally.keyColumns, 0)].by += tally.by
            }
        }
        for table in sums.keys.sorted() {
            guard let rows = sums[table], let columns = rows.first?.value.columns else { continue }
            let ordered = rows.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            for chunk in Self.chunks(ordered, columns: columns.count + 1) {
                let insert = db.insert(into: table).columns(columns + ["n"])
                for (key, value) in chunk { _ = insert.values(key.map { SQLBind($0) } + [SQLBind(value.by)]) }
                _ = insert.onConflict(with: columns) {
                    $0.set("n", to: SQLBinaryExpression(SQLColumn("n", table: table), .add, SQLExcludedColumn("n")))
                }
                try await insert.run()
            }
        }
        return outcomes
    }

    private struct ClaimShape: Hashable {
        let table: String
        let columns: [String]
        let uniqueColumn: String
    }

    private struct RowShape: Hashable {
        let table: String
        let columns: [String]
        let ignoringConflictsOn: String?
    }

    /// Groups the items of all sets by shape (one statement each), ordering the groups so that every set's own
    /// order is kept: if any set writes a subject before an inquiry, all subjects go in before all inquiries, which
    /// is what foreign keys need. Among groups no set orders, the first seen goes first.
    static func grouped<Shape: Hashable, Item>(_ sequences: [[(Shape, Item)]]) -> [(shape: Shape, members: [Item])] {
        var order: [Shape] = []
        var members: [Shape: [Item]] = [:]
        var after: [Shape: Set<Shape>] = [:]
        var waitingOn: [Shape: Int] = [:]
        for sequence in sequences {
            var previous: Shape?
            for (shape, item) in sequence {
                if members[shape] == nil {
                    order.append(shape)
                    waitingOn[shape] = 0
                }
                members[shape, default: []].append(item)
                if let previous, previous != shape, after[previous, default: []].insert(shape).inserted {
                    waitingOn[shape, default: 0] += 1
                }
                previous = shape
            }
        }
        var result: [(shape: Shape, members: [Item])] = []
        var placed = Set<Shape>()
        while result.count < order.count {
            // The first shape that waits on nothing; a cycle (sets that disagree) falls back to first seen.
            let next = order.first { !placed.contains($0) && waitingOn[$0] == 0 } ?? order.first { !placed.contains($0) }!
            placed.insert(next)
            result.append((next, members[next]!))
            for successor in after[next] ?? [] { waitingOn[successor, default: 0] -= 1 }
        }
        return result
    }

    /// Splits rows so that no statement carries more bound values than both databases accept (SQLite 32,766,
    /// PostgreSQL 65,535).
    static func chunks<T>(_ items: [T], columns: Int) -> [ArraySlice<T>] {
        let perStatement = max(1, 30_000 / max(1, columns))
        return stride(from: 0, to: items.count, by: perStatement).map { items[$0..<min($0 + perStatement, items.count)] }
    }
}
