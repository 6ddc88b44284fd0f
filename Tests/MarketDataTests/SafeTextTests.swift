import Testing
@testable import MarketData

/// Every character `SafeText` must escape: C0, DEL, C1 and the Unicode line and paragraph separators.
let controlScalars: [UInt32] = Array(0x00...0x1F) + Array(0x7F...0x9F) + [0x2028, 0x2029]

@Suite("Safe text: one line, control characters escaped")
struct SafeTextTests {
    @Test("each control character is escaped", arguments: controlScalars)
    func escapesEachControlCharacter(value: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(value))
        let text = "a" + String(Character(scalar)) + "b"
        let escaped = SafeText.escaped(text)
        #expect(!escaped.unicodeScalars.contains { SafeText.needsEscape($0) }, "\(value) left raw")
        let expected: String
        switch value {
        case 0x0A: expected = #"a\nb"#
        case 0x0D: expected = #"a\rb"#
        case 0x09: expected = #"a\tb"#
        default: expected = "a\\u{\(String(value, radix: 16, uppercase: true))}b"
        }
        #expect(escaped == expected)
        #expect(SafeText.escaped(escaped) == escaped, "escaping twice changes nothing")
    }

    @Test func printableTextIsUnchanged() {
        for text in ["", "plain ascii ~!@#$%^&*()", #"back\slash and "quotes""#, "über — ünïcödé ✓ 📈"] {
            #expect(SafeText.escaped(text) == text)
        }
    }

    @Test func terminalSequencesBecomeVisible() {
        #expect(SafeText.escaped("\u{1B}[2J\u{1B}]0;title\u{07}gone\r\nnext") == #"\u{1B}[2J\u{1B}]0;title\u{7}gone\r\nnext"#)
    }

    @Test func oneLineCutsLongTextWithoutSplittingAnEscape() {
        #expect(SafeText.oneLine("short", limit: 200) == "short")
        #expect(SafeText.oneLine(String(repeating: "x", count: 10), limit: 10) == String(repeating: "x", count: 10))
        #expect(SafeText.oneLine(String(repeating: "x", count: 11), limit: 10) == String(repeating: "x", count: 9) + "…")
        // "abcdefg" then ESC: the 6-character escape does not fit in 9 and is dropped whole.
        #expect(SafeText.oneLine("abcdefg\u{1B}[0m and more", limit: 10) == "abcdefg…")
        let long = SafeText.oneLine(String(repeating: "\n", count: 1000), limit: 200)
        #expect(long.count <= 200)
        #expect(long.hasSuffix(#"\n…"#))
        #expect(!long.contains("\n"))
    }
}
