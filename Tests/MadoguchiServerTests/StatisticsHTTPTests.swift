import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MadoguchiCore
import MadoguchiServer
import MadoguchiTesting
import Testing

@Suite("Statistics on the console")
struct StatisticsHTTPTests {
    @Test(
        "R-STA-1: the statistics page shows charts and tables with small counts hidden; the CSV carries the notice and is audited; a bad period is named; departments are refused",
        arguments: TestDatabase.available
    )
    func page(_ kind: TestDatabase) async throws {
        try await withServer(kind) { installation, client in
            for index in 0..<6 { _ = try await submitInquiry(client, email: "p\(index)@example.jp") }
            _ = try await submitInquiry(client, service: "executive", email: "x@example.jp")
            let month = Month(LocalDate(japanAt: Date())).description
            let operatorStaff = try await StaffBrowser.signIn(client, installation, email: "op@mirai-career.example", role: .operator)

            let page = try await operatorStaff.get(client, "/console/statistics?lang=en")
            #expect(page.status == .ok)
            #expect(page.text.contains("<svg class=\"chart\" role=\"img\""))
            #expect(page.text.contains("<title id=\"chart-inquiries-by-month-title\">Inquiries by month and service</title>"))
            #expect(page.text.contains("Counts below 5 are hidden"))
            // Six to one service, one to another: the one is hidden, and so is what would give it away.
            #expect(page.text.contains("<td>hidden</td>"))
            #expect(page.text.contains("<td>7</td>"), "the grand total of the month is shown")
            #expect(page.text.contains("who owns their copyright"))
            #expect(page.text.contains("href=\"/console/statistics?lang=en\"") || page.text.contains("/console/statistics?lang=en"))

            let csv = try await operatorStaff.get(client, "/console/statistics.csv?from=\(month)&through=\(month)&lang=en")
            #expect(csv.status == .ok && csv.headers[.contentType] == "text/csv; charset=utf-8")
            let lines = csv.text.components(separatedBy: "\r\n")
            #expect(lines[0].hasPrefix("# These statistics were compiled by"))
            #expect(lines[2] == "table,row,column,count,note")
            #expect(lines.contains("inquiries-by-month,\(month),Total,7,"))
            #expect(lines.contains { $0.hasPrefix("inquiries-by-month,\(month),") && $0.hasSuffix(",,hidden") })
            #expect(!csv.text.contains("example.jp"), "nothing personal")
            let entries = try await AuditLog.entries(in: installation.database, limit: 10_000)
            #expect(entries.contains { $0.event.action == "statistics.export" && $0.event.subjectID == nil })

            for (query, message) in [
                ("from=2026-13", "from: give the month as YYYY-MM"),
                ("through=abc", "through: give the month as YYYY-MM"),
                ("from=2026-05&through=2026-04", "the period starts after it ends"),
                ("from=2001-01&through=2026-04", "the period can be at most 120 months"),
                ("from=99999999999999999999-01", "from: give the month as YYYY-MM"),
            ] {
                let bad = try await operatorStaff.get(client, "/console/statistics?lang=en&\(query)")
                #expect(bad.status == .badRequest && bad.text.contains(message), "\(query)")
            }
            let japanese = try await operatorStaff.get(client, "/console/statistics")
            #expect(japanese.text.contains("月別・サービス別のお問い合わせ件数") && japanese.text.contains("<td>非表示</td>"))

            let member = try await StaffBrowser.signIn(
                client,
                installation,
                email: "pro@mirai-career.example",
                role: .department,
                department: "professional"
            )
            #expect(try await member.get(client, "/console/statistics").status == .forbidden)
            #expect(try await member.get(client, "/console/statistics.csv").status == .forbidden)
        }
    }
}
