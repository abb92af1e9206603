import Crypto
import Foundation
import SQLKit

/// The register of leak incidents (R-BRE-1, APPI Art. 26): what happened and the report items, the report deadlines
/// that follow from them, the dates the reports were made, the people concerned and their notification by mail
/// through the outbox. Every change is audited; the people linked are erased with the person (the incident keeps
/// its count).
public struct IncidentRegister: Sendable {
    public let vault: InquiryVault
    var database: Database { vault.database }

    public init(vault: InquiryVault) {
        self.vault = vault
    }

    public static let migration = Migration(
        version: 21,
        name: "incident register",
        portable: [
            """
            CREATE TABLE incidents (
                id TEXT PRIMARY KEY,
                number TEXT NOT NULL UNIQUE,
                found_on TEXT NOT NULL,
                report TEXT NOT NULL,
                reportable {bool} NOT NULL,
                preliminary_reported_on TEXT,
                final_reported_on TEXT,
                created_by TEXT NOT NULL,
                created_at {timestamp} NOT NULL,
                updated_at {timestamp} NOT NULL
            )
            """,
            """
            CREATE TABLE incident_people (
                incident_id TEXT NOT NULL REFERENCES incidents (id),
                subject_id TEXT NOT NULL,
                linked_at {timestamp} NOT NULL,
                notified_at {timestamp},
                PRIMARY KEY (incident_id, subject_id)
            )
            """,
            "CREATE INDEX incident_people_subject ON incident_people (subject_id)",
        ]
    )

    public enum Stage: String, Sendable, Hashable, CaseIterable {
        case preliminary
        case final
    }

    // MARK: Reading

    public func incidents() async throws -> [Incident] {
        try await load(where: nil)
    }

    public func incident(id: String) async throws -> Incident? {
        guard !id.isEmpty, id.count <= 64 else { return nil }
        return try await load(where: id).first
    }

    private func load(where id: String?) async throws -> [Incident] {
        let kind = database.kind
        return try await database.read { db in
            let filter = id.map { SQLQueryString("WHERE i.id = \(bind: $0)") } ?? SQLQueryString("")
            return try await db.raw(
                """
                SELECT i.id, i.number, i.report, i.preliminary_reported_on, i.final_reported_on, i.created_by, i.created_at, i.updated_at,
                       (SELECT COUNT(*) FROM incident_people p WHERE p.incident_id = i.id) AS linked,
                       (SELECT COUNT(*) FROM incident_people p WHERE p.incident_id = i.id AND p.notified_at IS NOT NULL) AS notified
                FROM incidents i \(filter) ORDER BY i.found_on DESC, i.created_at DESC
                """
            ).all().map { row in
                Incident(
                    id: try row.decode(column: "id", as: String.self),
                    number: try row.decode(column: "number", as: String.self),
                    report: try JSONDecoder().decode(IncidentReport.self, from: Data(try row.decode(column: "report", as: String.self).utf8)),
                    preliminaryReportedOn: try row.decode(column: "preliminary_reported_on", as: String?.self).flatMap(LocalDate.init(iso:)),
                    finalReportedOn: try row.decode(column: "final_reported_on", as: String?.self).flatMap(LocalDate.init(iso:)),
                    linked: try row.decode(column: "linked", as: Int.self),
                    notified: try row.decode(column: "notified", as: Int.self),
                    createdBy: try row.decode(column: "created_by", as: String.self),
                    createdAt: try Timestamp.decode(row, column: "created_at", kind),
                    updatedAt: try Timestamp.decode(row, column: "updated_at", kind)
                )
            }
        }
    }

    // MARK: Changing

    /// Registers an incident; returns it.
    public func register(_ report: IncidentReport, actor: String, at now: Date = Date()) async throws -> Incident {
        let kind = database.kind
        let id = RecordID.make()
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        var attempt = 0
        while true {
            attempt += 1
            let number = Self.number(at: now)
            do {
                try await database.transaction { db in
                    try await db.insert(into: "incidents")
                        .columns("id", "number", "found_on", "report", "reportable", "created_by", "created_at", "updated_at")
                        .values(
                            SQLBind(id),
                            SQLBind(number),
                            SQLBind(report.foundOn.description),
                            SQLBind(json),
                            SQLBind(report.reportable),
                            SQLBind(actor),
                            Timestamp.bind(now, kind),
                            Timestamp.bind(now, kind)
                        )
                        .run()
                    try await AuditLog.append(
                        [(AuditEvent(actor: actor, action: "incident.create", record: "incident:\(id)", detail: Self.auditDetail(report)), now)],
                        in: db,
                        kind: kind
                    )
                }
                break
            } catch  where attempt < 4 {
                // The random number was taken: draw another (anything else fails again and is thrown the last time).
                continue
            }
        }
        guard let incident = try await incident(id: id) else { throw IncidentError.notFound }
        return incident
    }

    /// Replaces the report items of incident `id`.
    public func update(id: String, with report: IncidentReport, actor: String, at now: Date = Date()) async throws {
        let kind = database.kind
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        let changed = try await database.transaction { db in
            let rows = try await db.update("incidents").set("report", to: json).set("found_on", to: report.foundOn.description)
                .set("reportable", to: report.reportable).set("updated_at", to: Timestamp.bind(now, kind))
                .where("id", .equal, id).returning("id").all()
            guard !rows.isEmpty else { return false }
            try await AuditLog.append(
                [(AuditEvent(actor: actor, action: "incident.update", record: "incident:\(id)", detail: Self.auditDetail(report)), now)],
                in: db,
                kind: kind
            )
            return true
        }
        if !changed { throw IncidentError.notFound }
    }

    /// Records the day a report was made to the Commission.
    public func recordReport(id: String, stage: Stage, on day: LocalDate, actor: String, at now: Date = Date()) async throws {
        guard let incident = try await incident(id: id) else { throw IncidentError.notFound }
        guard day >= incident.report.foundOn, day <= LocalDate(japanAt: now) else { throw IncidentError.reportDate }
        let kind = database.kind
        let column = stage == .preliminary ? "preliminary_reported_on" : "final_reported_on"
        try await database.transaction { db in
            try await db.update("incidents").set(SQLIdentifier(column), to: SQLBind(day.description))
                .set("updated_at", to: Timestamp.bind(now, kind)).where("id", .equal, id).run()
            try await AuditLog.append(
                [(AuditEvent(actor: actor, action: "incident.report", record: "incident:\(id)", detail: "stage=\(stage.rawValue) on=\(day)"), now)],
                in: db,
                kind: kind
            )
        }
    }

    /// Links the people who sent the inquiries numbered `numbers` to incident `id`; all or none. Returns how many
    /// were newly linked.
    @discardableResult
    public func link(id: String, inquiryNumbers numbers: [String], actor: String, at now: Date = Date()) async throws -> Int {
        let wanted = Array(Set(numbers.map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty })).sorted()
        guard !wanted.isEmpty, wanted.count <= 500, wanted.allSatisfy({ $0.count <= 40 }) else { throw IncidentError.noInquiries }
        guard try await incident(id: id) != nil else { throw IncidentError.notFound }
        let kind = database.kind
        let found = try await database.read { db in
            try await db.select().columns("number", "subject_id").from("inquiries").where("number", .in, wanted).all().map {
                (try $0.decode(column: "number", as: String.self), try $0.decode(column: "subject_id", as: String.self))
            }
        }
        let missing = wanted.filter { number in !found.contains { $0.0 == number } }
        guard missing.isEmpty else { throw IncidentError.unknownInquiries(missing) }
        let subjects = Array(Set(found.map(\.1))).sorted()
        return try await database.transaction { db in
            var added: [String] = []
            for subject in subjects {
                let rows = try await db.insert(into: "incident_people").columns("incident_id", "subject_id", "linked_at")
                    .values(SQLBind(id), SQLBind(subject), Timestamp.bind(now, kind))
                    .ignoringConflicts(with: ["incident_id", "subject_id"]).returning("subject_id").all()
                if !rows.isEmpty { added.append(subject) }
            }
            try await AuditLog.append(
                added.map { (AuditEvent(actor: actor, action: "incident.link", subjectID: $0, record: "incident:\(id)"), now) },
                in: db,
                kind: kind
            )
            return added.count
        }
    }

    /// What notifying did.
    public struct Notification: Sendable, Hashable {
        public var queued = 0
        /// People whose address could not be found (no inquiry with an address left).
        public var unreachable = 0
    }

    /// Notifies every linked person not yet notified (APPI Art. 26(2), Rules Art. 10): their address — only it —
    /// opened for `DataUse.incidentNotice`, the mail sealed under their key and queued in the outbox in the same
    /// transaction as the record of their notification and its audit entry. A person is notified once, whoever
    /// presses the button and however often.
    public func notify(
        id: String,
        policy: Policy,
        actor: String,
        compose: (_ address: String, _ incident: Incident) -> OutgoingMail,
        at now: Date = Date()
    ) async throws -> Notification {
        guard let incident = try await incident(id: id) else { throw IncidentError.notFound }
        let kind = database.kind
        let emailFields = policy.fields.filter { $0.type == .email }.map(\.id)
        let waiting = try await database.read { db in
            try await db.select().column("subject_id").from("incident_people").where("incident_id", .equal, id)
                .where("notified_at", .is, SQLLiteral.null).orderBy("subject_id").all(decodingColumn: "subject_id", as: String.self)
        }
        var result = Notification()
        for subjectID in waiting {
            // Their newest inquiry with an address.
            let field = try await database.read { db in
                try await db.raw(
                    """
                    SELECT f.inquiry_id AS inquiry_id, f.field_id AS field_id, f.sealed AS sealed
                    FROM inquiries i JOIN inquiry_fields f ON f.inquiry_id = i.id
                    WHERE i.subject_id = \(bind: subjectID) AND f.field_id IN (\(binds: emailFields))
                    ORDER BY i.created_at DESC LIMIT 1
                    """
                ).first()
            }
            guard let field, let key = try await vault.keys.key(subjectID: subjectID) else {
                result.unreachable += 1
                continue
            }
            let inquiryID = try field.decode(column: "inquiry_id", as: String.self)
            let fieldID = try field.decode(column: "field_id", as: String.self)
            let address = try SealedField.open(
                try field.decode(column: "sealed", as: Data.self),
                key: key,
                context: "inquiry/\(inquiryID)/\(fieldID)",
                for: .incidentNotice
            )
            let sealed = try Outbox.seal(compose(address, incident), key: key)
            let queued = try await database.transaction { db in
                let claimed = try await db.update("incident_people").set("notified_at", to: Timestamp.bind(now, kind))
                    .where("incident_id", .equal, id).where("subject_id", .equal, subjectID).where("notified_at", .is, SQLLiteral.null)
                    .returning("subject_id").all()
                guard !claimed.isEmpty else { return false }
                try await Outbox.insert(sealed, subjectID: subjectID, kind: "incident-notice", in: db, dialect: kind, at: now)
                try await AuditLog.append(
                    [
                        (
                            AuditEvent(
                                actor: actor,
                                action: "inquiry.read",
                                subjectID: subjectID,
                                record: "inquiry:\(inquiryID)",
                                purpose: DataUse.incidentNotice.description,
                                detail: "fields=\(fieldID) incident=\(incident.number)"
                            ), now
                        ),
                        (AuditEvent(actor: actor, action: "incident.notify", subjectID: subjectID, record: "incident:\(id)"), now),
                    ],
                    in: db,
                    kind: kind
                )
                return true
            }
            if queued { result.queued += 1 }
        }
        return result
    }

    // MARK: Helpers

    static func auditDetail(_ report: IncidentReport) -> String {
        let flags = [
            report.specialCare ? "special-care" : nil, report.financialHarm ? "financial-harm" : nil,
            report.unlawfulPurpose ? "unlawful-purpose" : nil, report.overThousand ? "over-1000" : nil,
        ].compactMap { $0 }
        return
            "found=\(report.foundOn) kind=\(report.kind.rawValue) affected=\(report.affected) items=\(report.items.joined(separator: ",")) flags=\(flags.joined(separator: ","))"
    }

    static func number(at date: Date) -> String {
        let day = LocalDate(japanAt: date)
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let suffix = String((0..<4).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
        return String(format: "L%04d%02d%02d-", day.year, day.month, day.day) + suffix
    }
}

extension IncidentRegister {
    /// The incidents a person was linked to, for their disclosure.
    static func disclosed(subjectID: String, in database: Database) async throws -> [[String: String]] {
        let kind = database.kind
        return try await database.read { db in
            try await db.raw(
                """
                SELECT i.number AS number, i.report AS report, p.notified_at AS notified_at
                FROM incident_people p JOIN incidents i ON i.id = p.incident_id
                WHERE p.subject_id = \(bind: subjectID) ORDER BY i.found_on
                """
            ).all().map { row in
                let report = try JSONDecoder().decode(IncidentReport.self, from: Data(try row.decode(column: "report", as: String.self).utf8))
                return [
                    "number": try row.decode(column: "number", as: String.self), "kind": report.kind.rawValue,
                    "found_on": report.foundOn.description, "items": report.items.joined(separator: " "),
                    "notified_at": try Timestamp.decodeIfPresent(row, column: "notified_at", kind)?.formatted(.iso8601) ?? "",
                ]
            }
        }
    }
}
