import Testing

@testable import MadoguchiServer

@Suite("Message placeholders")
struct TextFormatTests {
    let texts = ["mail": "{company}より: 受付番号 {number}。{company} / {unknown} / {", "plain": "変更なし"]

    @Test("each {name} is replaced once, unknown names and lone braces stay as written")
    func replaces() {
        #expect(
            texts.format("mail", ["company": "株式会社サンプル", "number": "Q1"])
                == "株式会社サンプルより: 受付番号 Q1。株式会社サンプル / {unknown} / {"
        )
        #expect(texts.format("plain", ["company": "x"]) == "変更なし")
        #expect(texts.format("missing-key") == "missing-key")
    }

    @Test("a value that looks like a placeholder is not expanded (a person's input cannot pull in other values)")
    func valuesAreNotExpanded() {
        #expect(texts.format("mail", ["company": "{number}", "number": "Q1"]) == "{number}より: 受付番号 Q1。{number} / {unknown} / {")
    }
}
