import Foundation
import Testing

@testable import MadoguchiCore

@Suite("Merged write order")
struct WriteSetOrderTests {
    @Test("groups follow every set's own order, even when the first set skips a table (foreign keys)")
    func keepsEachSetsOrder() {
        // A returning person's set has no subject row; a new person's set writes the subject first.
        let groups = WriteSet.grouped([
            [("inquiries", "i1"), ("fields", "f1")],
            [("subjects", "s2"), ("inquiries", "i2"), ("fields", "f2")],
        ])
        #expect(groups.map(\.shape) == ["subjects", "inquiries", "fields"])
        #expect(groups.map(\.members) == [["s2"], ["i1", "i2"], ["f1", "f2"]])
    }

    @Test("unordered groups keep first-seen order; disagreeing sets still place every group once")
    func fallbacks() {
        #expect(WriteSet.grouped([[("a", 1)], [("b", 2)], [("a", 3)]]).map(\.shape) == ["a", "b"])
        let cycle = WriteSet.grouped([[("a", 1), ("b", 2)], [("b", 3), ("a", 4)]])
        #expect(cycle.map(\.shape).sorted() == ["a", "b"])
        #expect(cycle.flatMap(\.members).sorted() == [1, 2, 3, 4])
    }
}

@Suite("Record ids")
struct RecordIDTests {
    @Test("ids are version-7 UUIDs that sort by creation time, within a millisecond too, and differ at the same instant")
    func timeOrdered() throws {
        let earlier = try Date("2026-11-29T10:00:00Z", strategy: .iso8601)
        let ids = (0..<1_000).map { RecordID.make(at: earlier.addingTimeInterval(Double($0))) }
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { UUID(uuidString: $0) != nil && $0 == $0.lowercased() })
        #expect(ids.allSatisfy { Array($0)[14] == "7" }, "version nibble")
        #expect(ids.allSatisfy { "89ab".contains(Array($0)[19]) }, "variant bits")
        #expect(ids[0].hasPrefix("01a226bf-4900-7"), "2026-11-29T10:00Z is 0x01a226bf4900 milliseconds")
        let sameInstant = Set((0..<1_000).map { _ in RecordID.make(at: earlier) })
        #expect(sameInstant.count == 1_000)
        // Within one millisecond, the fraction of it (12 bits after the version) keeps the order.
        let withinOne = (0..<8).map { RecordID.make(at: earlier.addingTimeInterval(Double($0) * 0.000_12)) }
        #expect(withinOne.allSatisfy { $0.hasPrefix("01a226bf-4900-7") })
        #expect(withinOne == withinOne.sorted() && Set(withinOne.map { $0.prefix(18) }).count == 8, "\(withinOne)")
    }
}
