@testable import MadoguchiCore
import Testing

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
