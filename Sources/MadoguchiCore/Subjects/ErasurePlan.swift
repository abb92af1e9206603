import Foundation

/// Every table of the data schema that can hold a person — a `subject_id`, an e-mail blind index, a sealed field or
/// a key id — and what erasure does with it (R-DSR-5). `SubjectRights.erase` carries out the plan; the person's
/// erasure notice (`ErasureRetention.kept`) and `docs/erasure.md` are generated from it; a test reads the live schema
/// on both databases and fails when a table with such a column is in neither list.
public enum ErasurePlan {
    /// A table whose rows of the person go (or are emptied of everything personal).
    public struct Erased: Sendable {
        public let table: String
        public let how: LocalizedText
    }

    /// A table that keeps rows about the person, with the reason.
    public struct Kept: Sendable {
        public let table: String
        public let item: LocalizedText
        public let reason: LocalizedText
    }

    public static let erased: [Erased] = [
        Erased(
            table: "subjects",
            how: LocalizedText(
                ja: "本人の記録とメールアドレスのブラインドインデックス(同じアドレスからの次のお問い合わせは別の人として扱います)",
                en: "The person's record and the blind index of their address (a later inquiry from it starts a new person)"
            )
        ),
        Erased(table: "inquiries", how: LocalizedText(ja: "お問い合わせ", en: "Their inquiries")),
        Erased(table: "inquiry_fields", how: LocalizedText(ja: "お問い合わせの各項目(お問い合わせと一緒に)", en: "Every field of those inquiries (with the inquiry)")),
        Erased(table: "inquiry_answers", how: LocalizedText(ja: "回答(お問い合わせと一緒に)", en: "Answers to them (with the inquiry)")),
        Erased(table: "inquiry_forwards", how: LocalizedText(ja: "部署への転送の記録とメモ(お問い合わせと一緒に)", en: "Forwarding records and notes (with the inquiry)")),
        Erased(table: "consents", how: LocalizedText(ja: "同意の記録", en: "Their consents")),
        Erased(table: "suspensions", how: LocalizedText(ja: "利用停止の記録", en: "Their suspensions")),
        Erased(
            table: "outbox",
            how: LocalizedText(
                ja: "送信待ちのメール(本人宛て、ご請求と確認コードのメールを含む。送信済みのメールは送信時に本文を消去しています)",
                en: "Mail still queued for them, including request and code mail (sent mail keeps no content after sending)"
            )
        ),
        Erased(table: "identifier_links", how: LocalizedText(ja: "ブラウザー識別子との結び付き", en: "Links between their browsers' identifiers and them")),
        Erased(table: "consent_events", how: LocalizedText(ja: "結び付いた識別子の記録(インフォマティブデータ)", en: "The events of those identifiers (informative data)")),
        Erased(
            table: "requests",
            how: LocalizedText(
                ja: "ご請求の内容(メールアドレス・氏名・電話番号・詳細)を、その鍵ごと消去します。番号・種類・日付・結果だけが残ります",
                en:
                    "The content of their requests (address, name, phone, details), destroyed with its key; only the number, type, dates and outcome stay"
            )
        ),
        Erased(table: "access_codes", how: LocalizedText(ja: "本人確認コード(ハッシュ)とそのメールの鍵", en: "One-time codes (hashed) and the keys of their mail")),
        Erased(
            table: "download_codes",
            how: LocalizedText(ja: "開示のダウンロード用の確認コード(ハッシュ)", en: "One-time codes (hashed) for downloading a disclosure")
        ),
        Erased(table: "access_sessions", how: LocalizedText(ja: "本人ページのセッション", en: "Sessions of their own page")),
        Erased(
            table: "address_limits",
            how: LocalizedText(ja: "確認コードを送った回数(1 時間ごと)", en: "How many codes were sent to their address this hour")
        ),
        Erased(
            table: "campaign_recipients",
            how: LocalizedText(ja: "メールマガジンなどの送信先としての記録", en: "Their place on the recipient lists of campaigns")
        ),
        Erased(
            table: "survey_answers",
            how: LocalizedText(
                ja: "アンケートへのご回答(選択肢ごとの人数の集計は、どなたの回答かを含まない統計として残ります)",
                en: "Their survey answers (the count per choice stays, as statistics that name no one)"
            )
        ),
        Erased(
            table: "incident_people",
            how: LocalizedText(
                ja: "漏えい等の事案との結び付きと通知の記録(事案の記録と対象人数は、どなたかを含まずに残ります)",
                en: "Their link to a leak incident and its notification (the incident and its count of people stay, naming no one)"
            )
        ),
    ]

    public static let kept: [Kept] = [
        Kept(
            table: "mail_consent_records",
            item: LocalizedText(
                ja: "メールマガジンなどへの同意の記録(いつ・どの方法で・表示した文言・ポリシーの版。アドレスそのものではなく、その鍵付きハッシュと共に)",
                en: "Records of consent to mail (when, how, the words shown, the policy version — with a keyed hash of the address, not the address)"
            ),
            reason: LocalizedText(
                ja: "特定電子メール法(第3条第2項、施行規則第5条)により、最後にメールをお送りした日から1か月間保存するため。その後は自動で消去します。",
                en:
                    "The Act on Specified Electronic Mail (Art. 3(2), Rules Art. 5) requires them for a month after the last mail; they are removed automatically after that."
            )
        ),
        Kept(
            table: "audit_log",
            item: LocalizedText(
                ja: "監査ログ(誰がいつ何のために操作したかの記録。氏名・メールアドレス・本文は含みません)",
                en: "The audit log (who did what, when and for which purpose; it holds no name, address or message)"
            ),
            reason: LocalizedText(
                ja: "個人情報の安全管理措置(個人情報保護法第23条)として、取扱いの記録を改ざんできない形で残すため。",
                en: "Records of handling are kept tamper-evident as a security measure (APPI Art. 23)."
            )
        ),
        Kept(
            table: "erasures",
            item: LocalizedText(ja: "消去の記録(消去した日と請求番号)", en: "The record of the erasure (its date and request number)"),
            reason: LocalizedText(ja: "ご請求に応じたことを示すため。", en: "To show that the request was carried out.")
        ),
        Kept(
            table: "requests",
            item: LocalizedText(
                ja: "ご請求の記録(番号・種類・受付日・期限・結果。個人データは含みません)",
                en: "The record of each request (number, type, dates, due date, outcome; no personal data)"
            ),
            reason: LocalizedText(ja: "ご請求を受け付け、期限内に対応したことを示すため。", en: "To show that each request was received and answered in time.")
        ),
        Kept(
            table: "provision_records",
            item: LocalizedText(ja: "第三者提供の記録(提供日・提供先・項目)", en: "Records of provision to third parties (date, recipient, items)"),
            reason: LocalizedText(
                ja: "個人情報保護法第29条・第30条により、定められた期間(1〜3年)保存する義務があるため。",
                en: "APPI Art. 29 and 30 require them to be kept for the prescribed period (1–3 years)."
            )
        ),
        Kept(
            table: "suppressions",
            item: LocalizedText(
                ja: "配信停止の記録(メールアドレスの鍵付きハッシュと目的だけ。アドレスそのものは含みません)",
                en: "Unsubscribe records (only a keyed hash of the address and the purpose; not the address itself)"
            ),
            reason: LocalizedText(
                ja: "配信を止めたアドレスに、あとから再びメールを送らないため(特定電子メール法)。",
                en: "So that no mail is sent again to an address that stopped it (Act on Specified Electronic Mail)."
            )
        ),
    ]

    /// Columns that tie a row to a person: a table with one of them must be in `erased` or `kept`.
    public static func holdsPerson(column: String) -> Bool {
        ["subject_id", "email_index", "key_id", "identifier"].contains(column) || column.hasPrefix("sealed")
    }

    /// The "What goes" and "What stays" sections of `docs/erasure.md`.
    public static func markdown() -> String {
        var text = "## What goes\n\n| table | what |\n| --- | --- |\n"
        for entry in erased { text += "| `\(entry.table)` | \(entry.how.en) |\n" }
        text += "\n## What stays, and why\n\n| table | kept | why |\n| --- | --- | --- |\n"
        for entry in kept { text += "| `\(entry.table)` | \(entry.item.en) | \(entry.reason.en) |\n" }
        return text
    }
}

/// What an erasure keeps, and why (R-DSR-5): shown to the person, generated from `ErasurePlan.kept`.
public enum ErasureRetention {
    public static var kept: [(item: LocalizedText, reason: LocalizedText)] {
        ErasurePlan.kept.map { ($0.item, $0.reason) }
    }
}
