import Foundation
import MadoguchiCore
import Testing

@Suite("Values")
struct ValueTests {
    @Test("dates parse only as real YYYY-MM-DD days")
    func localDates() {
        #expect(LocalDate(iso: "2024-02-29")?.description == "2024-02-29")
        #expect(LocalDate(iso: "2023-02-29") == nil)
        #expect(LocalDate(iso: "2024-2-9") == nil)
        #expect(LocalDate(iso: "2024-08-08T00:00") == nil)
        #expect(LocalDate(iso: "２０２４-08-08") == nil)
        #expect(LocalDate(iso: "") == nil)
        #expect(LocalDate(iso: "2024-08-08")!.japanese == "2024年8月8日")
        #expect(LocalDate(iso: "2024-08-08")!.english == "8 August 2024")
        #expect(LocalDate(iso: "2024-12-31")! < LocalDate(iso: "2025-01-01")!)
    }

    @Test("database URLs: sqlite and postgres, with clear errors")
    func databaseLocations() throws {
        #expect(try DatabaseLocation(parsing: "sqlite:var/x.sqlite") == .sqlite(path: "var/x.sqlite"))
        #expect(try DatabaseLocation(parsing: "sqlite:///tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
        let postgres = try DatabaseLocation(parsing: "postgres://app:s%40cret@db.internal:6432/madoguchi?tlsmode=require")
        guard case let .postgres(location) = postgres else {
            Issue.record("expected postgres")
            return
        }
        #expect(location.host == "db.internal")
        #expect(location.port == 6432)
        #expect(location.username == "app")
        #expect(location.password == "s@cret")
        #expect(location.database == "madoguchi")
        #expect(location.tls == .require)
        // The printable form never shows the password.
        #expect(!postgres.description.contains("cret"))
        for bad in [
            "", "mysql://x", "sqlite:", "postgres://host/db", "postgres://u@host", "postgres://u@host/db?tlsmode=maybe",
            "postgres://u@host/db?sslcert=x",
        ] {
            #expect(throws: DatabaseLocationError.self, "\(bad)") { try DatabaseLocation(parsing: bad) }
        }
    }

    @Test("languages: ja by default, en on request, anything else refused")
    func languages() {
        #expect(Language(query: nil) == .ja)
        #expect(Language(query: "en") == .en)
        #expect(Language(query: "fr") == nil)
        #expect(Language(query: "EN") == nil)
    }
}
