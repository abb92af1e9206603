import Crypto
import Foundation
import MadoguchiCore
import MadoguchiTesting
import SQLKit
import Testing

@Suite("Master key rotation (#21)")
struct KeyRotationTests {
    @Test(
        "R-SEC-1: keys rotate re-wraps every person key under the new master key in batches, online and resumable; the data stays readable; it waits for servers without the new key; an unknown master key stops it",
        arguments: TestDatabase.available
    )
    func rotate(_ kind: TestDatabase) async throws {
        try await VaultFixture.with(kind) { fixture in
            let taro = try await fixture.submit(fixture.submission(email: "taro@example.jp"))
            let hanako = try await fixture.submit(fixture.submission(email: "hanako@example.jp", name: "佐藤 花子"))
            let old = fixture.ring
            let before = try await fixture.vault.keys.keys(subjectIDs: [taro.subjectID, hanako.subjectID])
            let rotated = try KeyRing(keys: [old.masterKeys[0].key, SymmetricKey(size: .bits256)])
            let newID = rotated.current.id
            #expect(try await KeyRotation.usage(of: fixture.keyStore)[old.current.id] ?? 0 >= 2)

            // A server still on the old ring holds the rotation back; one not heard from for minutes does not.
            try await KeyRotation.announce(fixture.data, holder: "server-1", ring: old)
            try await KeyRotation.announce(fixture.data, holder: "gone", ring: old, at: Date().addingTimeInterval(-600))
            #expect(try await KeyRotation.holdersLacking(newID, in: fixture.data) == 1)
            try await KeyRotation.announce(fixture.data, holder: "server-1", ring: rotated)
            #expect(try await KeyRotation.holdersLacking(newID, in: fixture.data) == 0)

            // Batches of one: every key is re-wrapped, each batch in its own transaction; the person keys are the same.
            let count = try await KeyRotation.rewrap(fixture.keyStore, ring: rotated, batch: 1)
            #expect(count >= 2)
            let usage = try await KeyRotation.usage(of: fixture.keyStore)
            #expect(usage[old.current.id] == nil && (usage[newID] ?? 0) == count)
            let after = try await SubjectKeyStore(database: fixture.keyStore, ring: rotated, poolSize: 0).keys(subjectIDs: [
                taro.subjectID, hanako.subjectID,
            ])
            for id in [taro.subjectID, hanako.subjectID] {
                #expect(after[id].map { Data($0.withUnsafeBytes { Array($0) }) } == before[id].map { Data($0.withUnsafeBytes { Array($0) }) })
            }
            // The new master key alone opens them now.
            let newOnly = try KeyRing(keys: [rotated.current.key])
            #expect(try await SubjectKeyStore(database: fixture.keyStore, ring: newOnly, poolSize: 0).keys(subjectIDs: [taro.subjectID]).count == 1)
            // Running it again does nothing; a key made meanwhile under the old key (a server not yet restarted) is
            // picked up by the next run.
            #expect(try await KeyRotation.rewrap(fixture.keyStore, ring: rotated) == 0)
            let straggler = try await InquiryVault(database: fixture.data, keys: SubjectKeyStore(database: fixture.keyStore, ring: old, poolSize: 0))
                .submit(
                    try #require(try? fixture.policy.validate(fixture.submission(email: "jiro@example.jp")).get()),
                    policy: fixture.policy
                )
            #expect(try await KeyRotation.rewrap(fixture.keyStore, ring: rotated) == 1)
            #expect(try await SubjectKeyStore(database: fixture.keyStore, ring: newOnly, poolSize: 0).key(subjectID: straggler.subjectID) != nil)

            // A ring that lacks the key wrapping them stops with the reason, writing nothing.
            let stranger = try KeyRing(keys: [SymmetricKey(size: .bits256)])
            await #expect(throws: KeyRotation.Refusal.self) { try await KeyRotation.rewrap(fixture.keyStore, ring: stranger) }
            #expect(try await KeyRotation.usage(of: fixture.keyStore)[newID] == count + 1)
        }
    }
}
