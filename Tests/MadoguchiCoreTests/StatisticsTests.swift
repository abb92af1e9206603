import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

/// R-STA-1: statistics name no one — counts below k are hidden with the counts that would reveal them, the tally
/// is kept at intake from non-personal values, and nothing sealed is read.
@Suite("Statistics")
struct StatisticsTests {
    static func table(_ cells: [[Int]]) -> CountTable {
        CountTable(
            id: "t",
            title: LocalizedText(ja: "t", en: "t"),
            rowHeading: LocalizedText(ja: "r", en: "r"),
            rows: cells.indices.map { LocalizedText(ja: "r\($0)", en: "r\($0)") },
            columns: (cells.first ?? []).indices.map { LocalizedText(ja: "c\($0)", en: "c\($0)") },
            cells: cells
        )
    }

    /// Every row, column and line of totals of the published table: its members and the sum they must make.
    static func lines(_ table: SuppressedTable) -> [[Int?]] {
        var lines: [[Int?]] = []
        for (row, cells) in table.cells.enumerated() { lines.append(cells + [table.rowTotals[row]]) }
        lines.append(table.columnTotals + [table.total])
        for column in table.columns.indices {
            lines.append(table.cells.map { $0[column] } + [table.columnTotals[column]])
        }
        lines.append(table.rowTotals + [table.total])
        return lines
    }

    @Test("R-STA-1: counts from 1 to k − 1 are hidden, zero and k are shown, and a lone hidden count gets a partner in its row and column")
    func primaryAndComplementary() {
        let table = Self.table([[3, 10, 12], [20, 0, 8], [7, 9, 30]]).suppressed(k: 5)
        #expect(table.cells[0][0] == nil, "3 < k")
        #expect(table.cells[1][1] == 0, "a zero names no one")
        // 3 alone in row 0 and column 0 would be total − the rest: the smallest other count of each goes too.
        #expect(table.cells[0][1] == nil && table.cells[2][0] == nil)
        // …and that, in turn, needs a partner in row 2 and column 1: the rectangle closes at (2, 1).
        #expect(table.cells[2][1] == nil)
        #expect(table.total == 99 && table.hiddenCells == 4 && table.hiddenTotals == 0)
        for line in Self.lines(table) { #expect(line.filter { $0 == nil }.count != 1, "no line with exactly one hidden member") }

        let plain = Self.table([[5, 6], [7, 8]]).suppressed(k: 5)
        #expect(plain.hiddenCells == 0 && plain.total == 26)
        // A small total hides itself and what makes it up.
        let small = Self.table([[1, 0], [0, 2]]).suppressed(k: 5)
        #expect(small.total == nil && small.rowTotals == [nil, nil] && small.columnTotals == [nil, nil])
        // A single column: the rows and their total are one line.
        let column = Self.table([[2], [40], [50]]).suppressed(k: 5)
        #expect(column.cells.map { $0[0] } == [nil, nil, 50] && column.total == 92)
    }

    @Test("R-STA-1: over random tables no hidden count can be recovered from one line, and every count below k is hidden")
    func randomTables() {
        var generator = SeededGenerator(seed: 20_261_205)
        for _ in 0..<500 {
            let rows = Int.random(in: 1...8, using: &generator)
            let columns = Int.random(in: 1...6, using: &generator)
            let cells = (0..<rows).map { _ in
                (0..<columns).map { _ in
                    Bool.random(using: &generator) ? Int.random(in: 0...6, using: &generator) : Int.random(in: 0...80, using: &generator)
                }
            }
            let k = Int.random(in: 2...10, using: &generator)
            let source = Self.table(cells)
            let table = source.suppressed(k: k)
            for (row, values) in cells.enumerated() {
                for (column, value) in values.enumerated() {
                    if value > 0 && value < k { #expect(table.cells[row][column] == nil) }
                    if let shown = table.cells[row][column] { #expect(shown == value) }
                }
            }
            for line in Self.lines(table) {
                let hidden = line.filter { $0 == nil }.count
                // One hidden member equals the line's sum minus the rest; the exception is a line whose shown
                // members are all zero with a hidden total: then the total is the hidden member's count and is
                // hidden too (two hidden), so exactly one never happens.
                #expect(hidden != 1, "\(cells) k=\(k)")
            }
        }
    }

    @Test(
        "R-STA-1: the report counts by month, service, topic, status and request type from the tally and plain columns; counts stay after an erasure",
        arguments: TestDatabase.available
    )
    func report(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let march = try Date("2026-03-10T03:00:00Z", strategy: .iso8601)
            let lateMarchUTC = try Date("2026-03-31T20:00:00Z", strategy: .iso8601)  // 1 April in Tokyo
            func submit(_ email: String, service: String, topic: String, at date: Date) async throws -> InquiryReceipt {
                var submission = fixture.submission(service: service, email: email)
                submission.values["topic"] = topic
                guard case let .success(valid) = fixture.policy.validate(submission) else { throw TestDatabaseError("invalid") }
                return try await fixture.vault.submit(valid, policy: fixture.policy, at: date)
            }
            var first: InquiryReceipt?
            for index in 0..<12 {
                let receipt = try await submit("a\(index)@example.jp", service: "agent", topic: "service", at: march)
                first = first ?? receipt
            }
            for index in 0..<2 { _ = try await submit("b\(index)@example.jp", service: "agent", topic: "privacy", at: march) }
            for index in 0..<7 { _ = try await submit("d\(index)@example.jp", service: "agent", topic: "registration", at: march) }
            for index in 0..<6 { _ = try await submit("c\(index)@example.jp", service: "executive", topic: "service", at: lateMarchUTC) }
            // Requests: three disclosure requests closed in time (the due day counts), two late; two erasures open and
            // overdue; one unverified.
            try await fixture.data.transaction { db in
                let rows: [(String, String, String?, Date?)] = [
                    ("disclosure", "completed", "2026-03-13", try Date("2026-03-11T01:00:00Z", strategy: .iso8601)),
                    ("disclosure", "completed", "2026-03-13", try Date("2026-03-12T01:00:00Z", strategy: .iso8601)),
                    ("disclosure", "completed", "2026-03-13", try Date("2026-03-13T01:00:00Z", strategy: .iso8601)),
                    ("disclosure", "completed", "2026-03-13", try Date("2026-03-16T01:00:00Z", strategy: .iso8601)),
                    ("disclosure", "completed", "2026-03-13", try Date("2026-03-17T01:00:00Z", strategy: .iso8601)),
                    ("erasure", "open", "2026-03-13", nil),
                    ("erasure", "open", "2026-03-13", nil),
                    ("erasure", "unverified", nil, nil),
                ]
                for (index, row) in rows.enumerated() {
                    let stamp: SQLBind = kind == .sqlite ? SQLBind(march.formatted(.iso8601)) : SQLBind(march)
                    let closed: SQLBind =
                        row.3.map { kind == .sqlite ? SQLBind($0.formatted(.iso8601)) : SQLBind($0) }
                        ?? (kind == .sqlite ? SQLBind(String?.none) : SQLBind(Date?.none))
                    try await db.raw(
                        """
                        INSERT INTO requests (id, number, type, status, email_index, key_id, sealed, code_hash, code_expires_at, attempts, due_on, closed_at, created_at)
                        VALUES (\(bind: "r\(index)"), \(bind: "R20260310-00000\(index)"), \(bind: row.0), \(bind: row.1), 'x', 'k', \(bind: Data([1])), 'h',
                                \(stamp), 0, \(bind: row.2), \(closed), \(stamp))
                        """
                    ).run()
                }
            }
            let desk = StatisticsDesk(database: fixture.data)
            let period = try StatisticsPeriod(from: Month(iso: "2026-02")!, through: Month(iso: "2026-04")!)
            func report() async throws -> StatisticsReport {
                try await desk.report(
                    policy: fixture.policy,
                    period: period,
                    today: LocalDate(iso: "2026-04-20")!,
                    inquiryStatus: { LocalizedText(ja: $0.rawValue, en: $0.rawValue) },
                    requestStatus: { LocalizedText(ja: $0.rawValue, en: $0.rawValue) }
                )
            }
            let result = try await report()
            #expect(result.k == 5)
            func table(_ id: String) throws -> SuppressedTable {
                guard let table = result.tables.first(where: { $0.id == id }) else { throw TestDatabaseError("no table \(id)") }
                return table
            }
            let services = fixture.policy.services.map(\.id)
            let agent = try #require(services.firstIndex(of: "agent"))
            let executive = try #require(services.firstIndex(of: "executive"))

            let byMonth = try table("inquiries-by-month")
            #expect(byMonth.rows.map(\.en) == ["2026-02", "2026-03", "2026-04"])
            #expect(byMonth.cells[1][agent] == 21 && byMonth.cells[2][executive] == 6, "the day is Tokyo's")
            #expect(byMonth.total == 27)

            let byTopic = try table("inquiries-by-category")
            let topics = try #require(fixture.policy.field(id: "topic")).choices.map(\.id)
            let service = try #require(topics.firstIndex(of: "service"))
            let privacy = try #require(topics.firstIndex(of: "privacy"))
            let registration = try #require(topics.firstIndex(of: "registration"))
            #expect(byTopic.cells[service][agent] == 12 && byTopic.cells[service][executive] == 6)
            #expect(byTopic.cells[privacy][agent] == nil, "2 < k: hidden")
            #expect(byTopic.cells[registration][agent] == nil, "7 goes with it, or 2 = 21 − 12 − 7")
            #expect(byTopic.columnTotals[agent] == 21)

            let byStatus = try table("inquiries-by-status")
            #expect(byStatus.cells[0][agent] == 21 && byStatus.total == 27)

            let answers = try table("requests-answer-time")
            let types = RightsRequestType.allCases
            let disclosure = try #require(types.firstIndex(of: .disclosure))
            #expect(answers.cells[disclosure][0] == nil && answers.cells[disclosure][1] == nil && answers.rowTotals[disclosure] == nil)
            #expect(answers.total == 7)
            let unsuppressed = try await desk.report(
                policy: {
                    var policy = fixture.policy
                    policy.statisticsRules = StatisticsRules(minimumCount: 2)
                    return policy
                }(),
                period: period,
                today: LocalDate(iso: "2026-04-20")!,
                inquiryStatus: { LocalizedText(ja: $0.rawValue, en: $0.rawValue) },
                requestStatus: { LocalizedText(ja: $0.rawValue, en: $0.rawValue) }
            )
            let timely = try #require(unsuppressed.tables.first { $0.id == "requests-answer-time" })
            #expect(timely.cells[disclosure][0] == 3 && timely.cells[disclosure][1] == 2, "closed on the due day is in time")
            #expect(timely.total == 7)
            let byType = try #require(unsuppressed.tables.first { $0.id == "requests-by-status" })
            #expect(byType.total == 8)

            // Erasing a person takes their inquiry from the status table; the tally of intake stays, naming no one.
            try await SubjectRights(vault: fixture.vault).erase(subjectID: try #require(first).subjectID, actor: "test", source: "test")
            let after = try await report()
            #expect(try #require(after.tables.first { $0.id == "inquiries-by-month" }).cells[1][agent] == 21)
            #expect(try #require(after.tables.first { $0.id == "inquiries-by-status" }).cells[0][agent] == 20)
        }
    }

    @Test(
        "R-STA-1: inquiries stored before the tally existed are counted by their day in Tokyo, with the topic not recorded",
        arguments: TestDatabase.available
    )
    func backfill(_ kind: TestDatabase) async throws {
        try await kind.withFresh { _, database in
            let earlier = Migrations.all.filter { $0.version < StatisticsDesk.migration.version }
            try await Migrations.apply(to: database, migrations: earlier)
            try await database.transaction { db in
                let stamp = try Date("2026-03-31T20:00:00Z", strategy: .iso8601)
                let bound: SQLBind = database.kind == .sqlite ? SQLBind(stamp.formatted(.iso8601)) : SQLBind(stamp)
                try await db.raw("INSERT INTO subjects (id, email_index, created_at) VALUES ('s', 'e', \(bound))").run()
                for index in 0..<3 {
                    try await db.raw(
                        """
                        INSERT INTO inquiries (id, number, subject_id, service_id, status, policy_version, created_at, updated_at)
                        VALUES (\(bind: "q\(index)"), \(bind: "Q\(index)"), 's', 'agent', 'new', 'v', \(bound), \(bound))
                        """
                    ).run()
                }
            }
            try await Migrations.apply(to: database)
            let rows = try await database.read { db in
                try await db.raw("SELECT day, service_id, category, n FROM inquiry_counts").all().map {
                    [
                        try $0.decode(column: "day", as: String.self), try $0.decode(column: "service_id", as: String.self),
                        try $0.decode(column: "category", as: String.self), String(try $0.decode(column: "n", as: Int.self)),
                    ]
                }
            }
            #expect(rows == [["2026-04-01", "agent", "", "3"]])
        }
    }

    @Test("R-STA-1: a period is months YYYY-MM, in order, at most ten years")
    func period() throws {
        #expect(Month(iso: "2026-13") == nil && Month(iso: "26-01") == nil && Month(iso: "２０２６-01") == nil && Month(iso: "1999-12") == nil)
        #expect(throws: StatisticsError.periodReversed) { try StatisticsPeriod(from: Month(iso: "2026-05")!, through: Month(iso: "2026-04")!) }
        #expect(throws: StatisticsError.periodTooLong) { try StatisticsPeriod(from: Month(iso: "2000-01")!, through: Month(iso: "2026-04")!) }
        let year = StatisticsPeriod.lastYear(through: LocalDate(iso: "2026-02-14")!)
        #expect(year.from.description == "2025-03" && year.through.description == "2026-02" && year.months.count == 12)
    }
}

/// A small deterministic generator (SplitMix64) so that a failing random table can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
