import Foundation
import SQLKit

/// What an erasure keeps, and why (R-DSR-5). Shown to the person and in `docs/erasure.md`.
public enum ErasureRetention {
    public static let kept: [(item: LocalizedText, reason: LocalizedText)] = [
        (LocalizedText(ja: "監査ログ(誰がいつ何のために操作したかの記録。氏名・メールアドレス・本文は含みません)",
                       en: "The audit log (who did what, when and for which purpose; it holds no name, address or message)"),
         LocalizedText(ja: "個人情報の安全管理措置(個人情報保護法第23条)として、取扱いの記録を改ざんできない形で残すため。",
                       en: "Records of handling are kept tamper-evident as a security measure (APPI Art. 23).")),
        (LocalizedText(ja: "消去の記録(消去した日と請求番号)", en: "The record of the erasure (its date and request number)"),
         LocalizedText(ja: "ご請求に応じたことを示すため。", en: "To show that the request was carried out.")),
        (LocalizedText(ja: "第三者提供の記録(提供日・提供先・項目)", en: "Records of provision to third parties (date, recipient, items)"),
         LocalizedText(ja: "個人情報保護法第29条・第30条により、定められた期間(1〜3年)保存する義務があるため。",
                       en: "APPI Art. 29 and 30 require them to be kept for the prescribed period (1–3 years).")),
    ]
}

/// A person's rights over their data that the system enforces itself: suspension of use per purpose (R-PUR-2,
/// R-DSR-1) and erasure by destroying the person's key (R-DSR-5).
public struct SubjectRights: Sendable {
    public let vault: InquiryVault

    /// Purpose id meaning "every purpose".
    public static let allPurposes = "*"
    /// Purpose id recording that the person stopped provision to third parties (R-DSR-1).
    public static let provisionPurpose = "third-party-provision"

    public static let migration = Migration(version: 5, name: "suspensions and erasures", portable: [
        """
        CREATE TABLE suspensions (
            subject_id TEXT NOT NULL,
            purpose_id TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at {timestamp} NOT NULL,
            PRIMARY KEY (subject_id, purpose_id)
        )
        """,
        """
        CREATE TABLE erasures (
            subject_id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            erased_at {timestamp} NOT NULL
        )
        """,
    ])

    public init(vault: InquiryVault) {
        self.vault = vault
    }

    /// Stops every use of the person's data for `purpose` (or `allPurposes`) at once: the purpose guard refuses it
    /// from the next read on, for staff and every feature alike.
    public func suspend(subjectID: String, purpose: String, actor: String, source: String, at now: Date = Date()) async throws {
        let kind = vault.database.kind
        try await vault.database.transaction { db in
            try await db.insert(into: "suspensions").columns("subject_id", "purpose_id", "source", "created_at")
                .values(SQLBind(subjectID), SQLBind(purpose), SQLBind(source), Timestamp.bind(now, kind))
                .ignoringConflicts(with: ["subject_id", "purpose_id"]).run()
            try await AuditLog.append(AuditEvent(actor: actor, action: "purpose.suspend", subjectID: subjectID, purpose: purpose,
                                                 detail: "source=\(source)"), in: db, kind: kind, at: now)
        }
    }

    /// Allows `purpose` again (the person asked to resume).
    public func resume(subjectID: String, purpose: String, actor: String, at now: Date = Date()) async throws {
        let kind = vault.database.kind
        try await vault.database.transaction { db in
            try await db.delete(from: "suspensions").where("subject_id", .equal, subjectID).where("purpose_id", .equal, purpose).run()
            try await AuditLog.append(AuditEvent(actor: actor, action: "purpose.resume", subjectID: subjectID, purpose: purpose),
                                      in: db, kind: kind, at: now)
        }
    }

    /// The purposes suspended for the person (`allPurposes` when everything is).
    public func suspendedPurposes(subjectID: String) async throws -> Set<String> {
        try await Self.suspendedPurposes(subjectID: subjectID, in: vault.database)
    }

    static func suspendedPurposes(subjectID: String, in database: Database) async throws -> Set<String> {
        Set(try await database.read { db in
            try await db.select().column("purpose_id").from("suspensions").where("subject_id", .equal, subjectID)
                .all(decodingColumn: "purpose_id", as: String.self)
        })
    }

    /// Erases the person: first their key is destroyed, which makes every sealed field of theirs unreadable in this
    /// database and in every copy of it; then their rows go (inquiries with their fields, answers and forwarding
    /// notes; consents; suspensions; queued mail; linked site identifiers and their events; the blind index). What
    /// `ErasureRetention.kept` lists stays.
    /// Running it again finishes an erasure that was interrupted.
    public func erase(subjectID: String, actor: String, source: String, at now: Date = Date()) async throws {
        try await vault.keys.destroy(subjectID: subjectID)
        let kind = vault.database.kind
        try await vault.database.transaction { db in
            let inquiries = try await db.select().column("id").from("inquiries").where("subject_id", .equal, subjectID)
                .all(decodingColumn: "id", as: String.self)
            // Answers, fields and forwarding notes go with their inquiry (ON DELETE CASCADE).
            try await db.delete(from: "inquiries").where("subject_id", .equal, subjectID).run()
            // Events of the person's linked identifiers are their data (R-INF-2): they go too.
            for identifier in try await ConsentLedger.linkedIdentifiers(subjectID: subjectID, in: db) {
                try await db.delete(from: "consent_events").where("identifier", .equal, identifier).run()
            }
            for table in ["consents", "suspensions", "outbox", "identifier_links"] {
                try await db.delete(from: table).where("subject_id", .equal, subjectID).run()
            }
            try await db.delete(from: "subjects").where("id", .equal, subjectID).run()
            try await db.insert(into: "erasures").columns("subject_id", "source", "erased_at")
                .values(SQLBind(subjectID), SQLBind(source), Timestamp.bind(now, kind))
                .ignoringConflicts(with: "subject_id").run()
            try await AuditLog.append(AuditEvent(actor: actor, action: "subject.erase", subjectID: subjectID,
                                                 detail: "source=\(source) inquiries=\(inquiries.count)"), in: db, kind: kind, at: now)
        }
    }

    /// Sets one field of one of the person's inquiries to a new value, validated by the field's rules and sealed
    /// again under the person's key; an empty value deletes the field (R-SELF-1, R-DSR-1).
    public func correct(subjectID: String, _ correction: RequestDesk.Correction, policy: Policy, actor: String, source: String,
                        at now: Date = Date()) async throws {
        let database = vault.database
        let kind = database.kind
        guard let field = policy.fields.first(where: { $0.id == correction.fieldID }) else {
            throw RequestActionError.unknownField(correction.fieldID)
        }
        guard let inquiryID = try await database.read({ db in
            try await db.select().column("id").from("inquiries").where("number", .equal, correction.inquiryNumber)
                .where("subject_id", .equal, subjectID).first(decodingColumn: "id", as: String.self)
        }) else { throw RequestActionError.unknownInquiry(correction.inquiryNumber) }
        var value = ""
        if !correction.value.isEmpty {
            switch FieldRules.normalise(correction.value, for: field) {
            case let .success(normal): value = normal
            case let .failure(problem): throw RequestActionError.invalidValue(problem)
            }
        }
        guard let key = try await vault.keys.key(subjectID: subjectID) else { throw RequestActionError.notOpen }
        let sealed = value.isEmpty ? nil : try SealedField.seal(value, key: key, context: "inquiry/\(inquiryID)/\(field.id)")
        // A changed e-mail address moves the person's blind index with it, so a code sent to the new address finds
        // them (and the old address no longer does); an address that is already someone else's is refused.
        let newIndex = field.type == .email && !value.isEmpty ? BlindIndex.of(email: value, key: vault.keys.ring.blindIndexKey) : nil
        try await database.transaction { db in
            if let newIndex {
                let holder = try await db.select().column("id").from("subjects").where("email_index", .equal, newIndex)
                    .first(decodingColumn: "id", as: String.self)
                if let holder, holder != subjectID { throw RequestActionError.emailInUse }
                if holder == nil, let oldIndex = try await db.select().column("email_index").from("subjects").where("id", .equal, subjectID)
                    .first(decodingColumn: "email_index", as: String.self) {
                    try await db.update("subjects").set("email_index", to: newIndex).where("id", .equal, subjectID).run()
                    // The person's open /me sessions follow the address they now use.
                    try await db.update("access_sessions").set("email_index", to: newIndex).where("email_index", .equal, oldIndex).run()
                    try await AuditLog.append(AuditEvent(actor: actor, action: "subject.email-change", subjectID: subjectID,
                                                         detail: "source=\(source)"), in: db, kind: kind, at: now)
                }
            }
            try await db.delete(from: "inquiry_fields").where("inquiry_id", .equal, inquiryID).where("field_id", .equal, field.id).run()
            if let sealed {
                try await db.insert(into: "inquiry_fields").columns("inquiry_id", "field_id", "sealed")
                    .values(SQLBind(inquiryID), SQLBind(field.id), SQLBind(sealed)).run()
            }
            try await AuditLog.append(AuditEvent(actor: actor, action: sealed == nil ? "field.delete" : "field.correct", subjectID: subjectID,
                                                 record: "inquiry:\(inquiryID)", detail: "field=\(field.id) source=\(source)"),
                                      in: db, kind: kind, at: now)
        }
    }

    /// When the person was erased, or nil.
    public func erasedAt(subjectID: String) async throws -> Date? {
        let kind = vault.database.kind
        guard let row = try await vault.database.read({ db in
            try await db.select().column("erased_at").from("erasures").where("subject_id", .equal, subjectID).first()
        }) else { return nil }
        return try Timestamp.decode(row, column: "erased_at", kind)
    }
}
