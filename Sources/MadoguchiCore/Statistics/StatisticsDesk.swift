import Foundation
import SQLKit

/// A calendar month, the unit statistics are asked for in.
public struct Month: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init?(year: Int, month: Int) {
        guard (2000...2200).contains(year), (1...12).contains(month) else { return nil }
        (self.year, self.month) = (year, month)
    }

    /// `YYYY-MM`, nothing else.
    public init?(iso text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 7, parts.count == 2, parts[0].count == 4, parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1])
        else { return nil }
        self.init(year: year, month: month)
    }

    public init(_ date: LocalDate) {
        (year, month) = (date.year, date.month)
    }

    public var description: String { String(format: "%04d-%02d", year, month) }
    public var firstDay: LocalDate { LocalDate(year: year, month: month, day: 1)! }
    public var lastDay: LocalDate { LocalDate(year: year, month: month, day: LocalDate.daysIn(month: month, year: year))! }
    public var label: LocalizedText { LocalizedText(ja: "\(year)年\(month)月", en: description) }
    /// Months since year 0, for counting.
    var index: Int { year * 12 + month - 1 }

    public func adding(months: Int) -> Month? {
        let target = index + months
        return Month(year: target / 12, month: target % 12 + 1)
    }

    public static func < (lhs: Month, rhs: Month) -> Bool { lhs.index < rhs.index }
}

/// The months a statistics report covers, at most ten years.
public struct StatisticsPeriod: Hashable, Sendable {
    public static let maximumMonths = 120
    public let from: Month
    public let through: Month

    public init(from: Month, through: Month) throws(StatisticsError) {
        guard from <= through else { throw .periodReversed }
        guard through.index - from.index < Self.maximumMonths else { throw .periodTooLong }
        (self.from, self.through) = (from, through)
    }

    /// The twelve months up to and including the month of `today`.
    public static func lastYear(through today: LocalDate) -> StatisticsPeriod {
        let end = Month(today)
        let start = end.adding(months: -11) ?? end
        return (try? StatisticsPeriod(from: start, through: end)) ?? (try! StatisticsPeriod(from: end, through: end))
    }

    public var months: [Month] {
        (0...(through.index - from.index)).compactMap { from.adding(months: $0) }
    }
}

public enum StatisticsError: BilingualError, Sendable, Hashable {
    case periodReversed
    case periodTooLong
    case badMonth(String)

    public var text: LocalizedText {
        switch self {
        case .periodReversed: LocalizedText(ja: "期間の始めが終わりより後です", en: "the period starts after it ends")
        case .periodTooLong:
            LocalizedText(
                ja: "期間は \(StatisticsPeriod.maximumMonths) か月以内にしてください",
                en: "the period can be at most \(StatisticsPeriod.maximumMonths) months"
            )
        case let .badMonth(name):
            LocalizedText(
                ja: "\(name): 年月は YYYY-MM（2000〜2200 年）で指定してください",
                en: "\(name): give the month as YYYY-MM (years 2000 to 2200)"
            )
        }
    }
}

/// What the statistics page and its CSV show: count tables, already suppressed below k.
public struct StatisticsReport: Sendable, Hashable {
    public let period: StatisticsPeriod
    public let k: Int
    public let tables: [SuppressedTable]
    public let notice: LocalizedText

    public var hiddenCells: Int { tables.reduce(0) { $0 + $1.hiddenCells } }
    public var hiddenTotals: Int { tables.reduce(0) { $0 + $1.hiddenTotals } }
}

/// Counts inquiries and requests for the operator's statistics (R-STA-1). It holds the database and nothing that
/// unseals: it reads the tally of inquiries (`inquiry_counts`, kept at intake and naming no one) and the plain
/// columns of `inquiries` and `requests` (service, status, type, dates) — never a sealed column.
public struct StatisticsDesk: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    public static let migration = Migration(
        version: 20,
        name: "statistics tally",
        sqlite: [
            "CREATE TABLE inquiry_counts (day TEXT NOT NULL, service_id TEXT NOT NULL, category TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (day, service_id, category))",
            // Inquiries already held are counted by day and service; their category is sealed, so it stays unknown.
            """
            INSERT INTO inquiry_counts (day, service_id, category, n)
            SELECT date(created_at, '+9 hours'), service_id, '', COUNT(*) FROM inquiries GROUP BY 1, 2
            """,
            "CREATE INDEX inquiries_service_status ON inquiries (service_id, status, created_at)",
        ],
        postgres: [
            "CREATE TABLE inquiry_counts (day TEXT NOT NULL, service_id TEXT NOT NULL, category TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (day, service_id, category))",
            """
            INSERT INTO inquiry_counts (day, service_id, category, n)
            SELECT to_char(created_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD'), service_id, '', COUNT(*) FROM inquiries GROUP BY 1, 2
            """,
            "CREATE INDEX inquiries_service_status ON inquiries (service_id, status, created_at)",
        ]
    )

    /// What an inquiry adds to the tally, in the same commit as the inquiry.
    static func count(service: String, category: String?, at date: Date, in writes: inout WriteSet) {
        writes.count(
            in: "inquiry_counts",
            keyColumns: ["day", "service_id", "category"],
            key: [LocalDate(japanAt: date).description, service, category ?? ""]
        )
    }

    /// `inquiryStatus` and `requestStatus` name the statuses as the site's wording does.
    public func report(
        policy: Policy,
        period: StatisticsPeriod,
        today: LocalDate,
        inquiryStatus: (InquiryStatus) -> LocalizedText,
        requestStatus: (RightsRequestStatus) -> LocalizedText
    ) async throws -> StatisticsReport {
        let kind = database.kind
        let (fromDay, throughDay) = (period.from.firstDay, period.through.lastDay)
        // Instants bounding the period in Japan time.
        let start = Date(timeIntervalSince1970: Double(fromDay.dayNumber) * 86_400 - 9 * 3_600)
        let end = Date(timeIntervalSince1970: Double(throughDay.adding(days: 1).dayNumber) * 86_400 - 9 * 3_600)
        struct Tally {
            let day: String
            let service: String
            let category: String
            let n: Int
        }
        struct RequestRow {
            let type: String
            let status: String
            let dueOn: String?
            let closedAt: Date?
            let createdAt: Date
        }
        let (tally, statuses, requests) = try await database.read { db in
            let tally = try await db.raw(
                """
                SELECT day, service_id, category, n FROM inquiry_counts
                WHERE day >= \(bind: fromDay.description) AND day <= \(bind: throughDay.description)
                """
            ).all().map {
                Tally(
                    day: try $0.decode(column: "day", as: String.self),
                    service: try $0.decode(column: "service_id", as: String.self),
                    category: try $0.decode(column: "category", as: String.self),
                    n: try $0.decode(column: "n", as: Int.self)
                )
            }
            let statuses = try await db.raw(
                """
                SELECT service_id, status, COUNT(*) AS n FROM inquiries
                WHERE created_at >= \(Timestamp.bind(start, kind)) AND created_at < \(Timestamp.bind(end, kind))
                GROUP BY service_id, status
                """
            ).all().map {
                (
                    service: try $0.decode(column: "service_id", as: String.self),
                    status: try $0.decode(column: "status", as: String.self),
                    n: try $0.decode(column: "n", as: Int.self)
                )
            }
            let requests = try await db.raw(
                """
                SELECT type, status, due_on, closed_at, created_at FROM requests
                WHERE created_at >= \(Timestamp.bind(start, kind)) AND created_at < \(Timestamp.bind(end, kind))
                """
            ).all().map {
                RequestRow(
                    type: try $0.decode(column: "type", as: String.self),
                    status: try $0.decode(column: "status", as: String.self),
                    dueOn: try $0.decode(column: "due_on", as: String?.self),
                    closedAt: try Timestamp.decodeIfPresent($0, column: "closed_at", kind),
                    createdAt: try Timestamp.decode($0, column: "created_at", kind)
                )
            }
            return (tally, statuses, requests)
        }

        // Services: the policy's, then any met in the data that the policy no longer declares.
        var serviceIDs = policy.services.map(\.id)
        for id in Set(tally.map(\.service)).union(statuses.map(\.service)).sorted() where !serviceIDs.contains(id) {
            serviceIDs.append(id)
        }
        let serviceLabels = serviceIDs.map { id in policy.service(id: id)?.name ?? LocalizedText(ja: id, en: id) }
        let serviceColumn = Dictionary(uniqueKeysWithValues: serviceIDs.enumerated().map { ($1, $0) })
        let months = period.months
        let monthRow = Dictionary(uniqueKeysWithValues: months.enumerated().map { ($1.description, $0) })

        var byMonth = Array(repeating: Array(repeating: 0, count: serviceIDs.count), count: months.count)
        let categoryField = policy.statisticsCategoryField
        var categoryIDs = categoryField?.choices.map(\.id) ?? []
        for id in Set(tally.map(\.category)).sorted() where !categoryIDs.contains(id) { categoryIDs.append(id) }
        let categoryRow = Dictionary(uniqueKeysWithValues: categoryIDs.enumerated().map { ($1, $0) })
        var byCategory = Array(repeating: Array(repeating: 0, count: serviceIDs.count), count: categoryIDs.count)
        for row in tally {
            guard let column = serviceColumn[row.service] else { continue }
            if let month = monthRow[String(row.day.prefix(7))] { byMonth[month][column] += row.n }
            if let category = categoryRow[row.category] { byCategory[category][column] += row.n }
        }
        let notRecorded = LocalizedText(ja: "記録なし", en: "not recorded")
        let categoryLabels = categoryIDs.map { id in
            id.isEmpty ? notRecorded : categoryField?.choices.first { $0.id == id }?.label ?? LocalizedText(ja: id, en: id)
        }

        let statusIDs = InquiryStatus.allCases.map(\.rawValue)
        var byStatus = Array(repeating: Array(repeating: 0, count: serviceIDs.count), count: statusIDs.count)
        for row in statuses {
            guard let column = serviceColumn[row.service], let line = statusIDs.firstIndex(of: row.status) else { continue }
            byStatus[line][column] += row.n
        }

        let typeIDs = RightsRequestType.allCases
        let requestStatuses = RightsRequestStatus.allCases
        var requestsByStatus = Array(repeating: Array(repeating: 0, count: requestStatuses.count), count: typeIDs.count)
        var requestsByMonth = Array(repeating: Array(repeating: 0, count: typeIDs.count), count: months.count)
        // Answer time against the due date, for the verified requests (they have one).
        var timeliness = Array(repeating: Array(repeating: 0, count: 4), count: typeIDs.count)
        for request in requests {
            guard let type = typeIDs.firstIndex(where: { $0.rawValue == request.type }) else { continue }
            if let status = requestStatuses.firstIndex(where: { $0.rawValue == request.status }) {
                requestsByStatus[type][status] += 1
            }
            if let month = monthRow[Month(LocalDate(japanAt: request.createdAt)).description] {
                requestsByMonth[month][type] += 1
            }
            guard let due = request.dueOn.flatMap(LocalDate.init(iso:)) else { continue }
            if let closed = request.closedAt {
                timeliness[type][LocalDate(japanAt: closed) <= due ? 0 : 1] += 1
            } else if request.status == RightsRequestStatus.open.rawValue {
                timeliness[type][today <= due ? 2 : 3] += 1
            }
        }

        let k = policy.statisticsMinimumCount
        let monthLabels = months.map(\.label)
        let typeLabels = typeIDs.map(\.name)
        let tables = [
            CountTable(
                id: "inquiries-by-month",
                title: LocalizedText(ja: "月別・サービス別のお問い合わせ件数", en: "Inquiries by month and service"),
                rowHeading: LocalizedText(ja: "月", en: "Month"),
                rows: monthLabels,
                columns: serviceLabels,
                cells: byMonth
            ),
            CountTable(
                id: "inquiries-by-category",
                title: LocalizedText(
                    ja: "\(categoryField?.label.ja ?? "種類")別・サービス別のお問い合わせ件数",
                    en: "Inquiries by \((categoryField?.label.en ?? "category").lowercased()) and service"
                ),
                rowHeading: categoryField?.label ?? LocalizedText(ja: "種類", en: "Category"),
                rows: categoryLabels,
                columns: serviceLabels,
                cells: byCategory
            ),
            CountTable(
                id: "inquiries-by-status",
                title: LocalizedText(
                    ja: "対応状況別のお問い合わせ件数（期間中に受け付け、現在も保有しているもの）",
                    en: "Inquiries by status (received in the period and still held)"
                ),
                rowHeading: LocalizedText(ja: "対応状況", en: "Status"),
                rows: InquiryStatus.allCases.map(inquiryStatus),
                columns: serviceLabels,
                cells: byStatus
            ),
            CountTable(
                id: "requests-by-month",
                title: LocalizedText(ja: "月別・種類別の開示等の請求件数", en: "Requests by month and type"),
                rowHeading: LocalizedText(ja: "月", en: "Month"),
                rows: monthLabels,
                columns: typeLabels,
                cells: requestsByMonth
            ),
            CountTable(
                id: "requests-by-status",
                title: LocalizedText(ja: "種類別・状況別の開示等の請求件数", en: "Requests by type and status"),
                rowHeading: LocalizedText(ja: "請求の種類", en: "Request type"),
                rows: typeLabels,
                columns: requestStatuses.map(requestStatus),
                cells: requestsByStatus
            ),
            CountTable(
                id: "requests-answer-time",
                title: LocalizedText(ja: "期限に対する回答状況（本人確認済みの請求）", en: "Answers against the due date (verified requests)"),
                rowHeading: LocalizedText(ja: "請求の種類", en: "Request type"),
                rows: typeLabels,
                columns: [
                    LocalizedText(ja: "期限内に完了", en: "Closed by the due date"),
                    LocalizedText(ja: "期限後に完了", en: "Closed after the due date"),
                    LocalizedText(ja: "対応中（期限内）", en: "Open, not yet due"),
                    LocalizedText(ja: "対応中（期限超過）", en: "Open, overdue"),
                ],
                cells: timeliness
            ),
        ]
        return StatisticsReport(period: period, k: k, tables: tables.map { $0.suppressed(k: k) }, notice: policy.statisticsNotice)
    }
}
