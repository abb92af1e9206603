import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// `/console/statistics` and its CSV (R-STA-1): counts of inquiries and requests by service, category, month, status,
/// request type and answer time, with every count below the policy's k hidden and the complementary counts that
/// would reveal it. Read from the tally and plain columns only (`StatisticsDesk`); charts are SVG drawn here.
extension ConsoleController {
    /// The report the query asks for: `from` and `through` months (YYYY-MM), by default the last twelve.
    private func statisticsReport(_ request: Request) async throws -> (StatisticsReport, Language) {
        let statistics = StatisticsDesk(database: desk.guardian.vault.database)
        let language = try requestedLanguage(request)
        let query = request.uri.queryParameters
        let today = LocalDate(japanAt: Date())
        let fallback = StatisticsPeriod.lastYear(through: today)
        func month(_ name: String, _ fallback: Month) throws -> Month {
            guard let raw = query[Substring(name)].map(String.init), !raw.isEmpty else { return fallback }
            guard let month = Month(iso: raw) else { throw PublicError(.badRequest, StatisticsError.badMonth(name).text) }
            return month
        }
        let period: StatisticsPeriod
        do {
            period = try StatisticsPeriod(from: try month("from", fallback.from), through: try month("through", fallback.through))
        } catch let error as StatisticsError {
            throw PublicError(.badRequest, error.text)
        }
        let tJa = site.resources.text(.ja)
        let tEn = site.resources.text(.en)
        let result = try await statistics.report(
            policy: policy,
            period: period,
            today: today,
            inquiryStatus: { LocalizedText(ja: tJa.format("status_\($0.rawValue)"), en: tEn.format("status_\($0.rawValue)")) },
            requestStatus: {
                LocalizedText(ja: tJa.format("request_status_\($0.rawValue)"), en: tEn.format("request_status_\($0.rawValue)"))
            }
        )
        return (result, language)
    }

    func addStatisticsRoutes(to console: RouterGroup<ConsoleRequestContext>) {
        console.get(RouterPath(SitePath.consoleStatistics)) { request, context in
            let session = try context.session
            let (result, language) = try await statisticsReport(request)
            return try consolePage("console-statistics", StatisticsPageModel(frame(session, language), report: result))
        }
        console.get(RouterPath(SitePath.consoleStatisticsCSV)) { request, context in
            let session = try context.session
            let (result, language) = try await statisticsReport(request)
            // Counts name no one, but what left the building and who took it is the operator's to know.
            try await AuditLog.record(
                AuditEvent(
                    actor: session.user.actor,
                    action: "statistics.export",
                    subjectID: nil,
                    record: "statistics:\(result.period.from)..\(result.period.through)",
                    detail: "k=\(result.k) hidden-cells=\(result.hiddenCells) hidden-totals=\(result.hiddenTotals)"
                ),
                in: desk.guardian.vault.database
            )
            var response = Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"statistics-\(result.period.from)-\(result.period.through).csv\"",
                    .cacheControl: "no-store",
                ],
                body: .init(byteBuffer: ByteBuffer(string: StatisticsCSV.text(result, language: language)))
            )
            response.headers[.xContentTypeOptions] = "nosniff"
            return response
        }
    }
}

/// The statistics as CSV: the operator's notice as a comment line (`#`, which spreadsheet tools and `pandas`
/// `comment="#"` skip), then one line per count: table, row, column, count — a hidden count is empty with
/// `hidden` in the last column. Totals are lines whose row or column is the total label.
enum StatisticsCSV {
    static func text(_ report: StatisticsReport, language: Language) -> String {
        let total = language == .ja ? "合計" : "Total"
        var lines = ["# \(report.notice[language].replacingOccurrences(of: "\n", with: " "))"]
        lines.append(
            "# "
                + (language == .ja
                    ? "期間 \(report.period.from)〜\(report.period.through)、\(report.k) 未満の件数とそれを推定できる件数は非表示"
                    : "Period \(report.period.from) to \(report.period.through); counts below \(report.k), and counts that would reveal them, are hidden")
        )
        lines.append("table,row,column,count,note")
        for table in report.tables {
            func line(_ row: String, _ column: String, _ value: Int?) {
                lines.append([table.id, row, column, value.map(String.init) ?? "", value == nil ? "hidden" : ""].map(field).joined(separator: ","))
            }
            for (r, row) in table.rows.enumerated() {
                for (c, column) in table.columns.enumerated() { line(row[language], column[language], table.cells[r][c]) }
                line(row[language], total, table.rowTotals[r])
            }
            for (c, column) in table.columns.enumerated() { line(total, column[language], table.columnTotals[c]) }
            line(total, total, table.total)
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 4180 quoting; a value a spreadsheet would run as a formula is prefixed with an apostrophe.
    static func field(_ value: String) -> String {
        var text = value
        if let first = text.first, "=+-@\t\r".contains(first) { text = "'" + text }
        guard text.contains(where: { ",\"\r\n".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A bar chart of a table's row totals as inline SVG: no script, no external resource, a title and a description
/// for assistive technology (the same counts are in the table below it). A hidden total draws no bar and says so.
enum StatisticsChart {
    static func svg(_ table: SuppressedTable, language: Language, hiddenWord: String) -> String {
        let rowHeight = 26
        let labelWidth = 190
        let barSpace = 400
        let width = labelWidth + barSpace + 70
        let height = max(1, table.rows.count) * rowHeight + 8
        let largest = max(1, table.rowTotals.compactMap { $0 }.max() ?? 1)
        let id = "chart-\(table.id)"
        let values = zip(table.rows, table.rowTotals).map { "\($0[language]) \($1.map(String.init) ?? hiddenWord)" }
        var svg = """
            <svg class="chart" role="img" viewBox="0 0 \(width) \(height)" width="100%" aria-labelledby="\(id)-title \(id)-desc" \
            xmlns="http://www.w3.org/2000/svg"><title id="\(id)-title">\(escape(table.title[language]))</title>\
            <desc id="\(id)-desc">\(escape(values.joined(separator: language == .ja ? "、" : "; ")))</desc>
            """
        for (index, (row, value)) in zip(table.rows, table.rowTotals).enumerated() {
            let y = 4 + index * rowHeight
            svg += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 17)\" text-anchor=\"end\">\(escape(row[language]))</text>"
            if let value {
                let length = value == 0 ? 0 : max(2, value * barSpace / largest)
                svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(length)\" height=\"\(rowHeight - 8)\"></rect>"
                svg += "<text x=\"\(labelWidth + length + 6)\" y=\"\(y + 17)\">\(value)</text>"
            } else {
                svg += "<text x=\"\(labelWidth + 6)\" y=\"\(y + 17)\" class=\"hidden-count\">\(escape(hiddenWord))</text>"
            }
        }
        return svg + "</svg>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

struct StatisticsPageModel {
    struct Row {
        let label: String
        let cells: [String]
        let total: String
    }
    struct Table {
        let id, title, rowHeading, svg: String
        let columns: [String]
        let rows: [Row]
        let totals: Row
        let hiddenNote: String?
    }
    let chrome: PageChrome
    let t: [String: String]
    let staff: StaffView
    let action, csvHref: String
    let lang: String?
    let from, through: String
    let summary, notice: String
    let tables: [Table]

    init(_ frame: ConsoleFrame, report: StatisticsReport) {
        let (policy, session, language, t, csrfToken) = (frame.policy, frame.session, frame.language, frame.t, frame.csrfToken)
        chrome = PageChrome.console(t.format("statistics_title"), policy: policy, language: language, t: t, path: SitePath.consoleStatistics)
        self.t = t
        staff = StaffView(session, language: language, t: t, csrfToken: csrfToken)
        action = SitePath.consoleStatistics
        lang = language == .ja ? nil : language.rawValue
        from = report.period.from.description
        through = report.period.through.description
        var csv = "\(SitePath.consoleStatisticsCSV)?from=\(from)&through=\(through)"
        if let lang { csv += "&lang=\(lang)" }
        csvHref = csv
        summary = t.format(
            "statistics_summary",
            ["k": "\(report.k)", "cells": "\(report.hiddenCells)", "totals": "\(report.hiddenTotals)"]
        )
        notice = report.notice[language]
        let hidden = t.format("statistics_hidden")
        let totalWord = t.format("statistics_total")
        func text(_ value: Int?) -> String { value.map { $0.formatted(.number.grouping(.automatic)) } ?? hidden }
        tables = report.tables.map { table in
            Table(
                id: table.id,
                title: table.title[language],
                rowHeading: table.rowHeading[language],
                svg: StatisticsChart.svg(table, language: language, hiddenWord: hidden),
                columns: table.columns.map { $0[language] },
                rows: table.rows.enumerated().map { index, row in
                    Row(label: row[language], cells: table.cells[index].map(text), total: text(table.rowTotals[index]))
                },
                totals: Row(label: totalWord, cells: table.columnTotals.map(text), total: text(table.total)),
                hiddenNote: table.hiddenCells + table.hiddenTotals == 0
                    ? nil : t.format("statistics_table_hidden", ["cells": "\(table.hiddenCells)", "totals": "\(table.hiddenTotals)"])
            )
        }
    }
}
