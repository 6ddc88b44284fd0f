import Foundation
import MarketData
import Testing
@testable import Shell

/// An error whose wording carries one raw control character, as a lower layer's might.
private struct RawError: Error, CustomStringConvertible {
    let description: String
}

private let controlValues: [UInt32] = Array(0x00...0x1F) + Array(0x7F...0x9F) + [0x2028, 0x2029]

/// Every error is one line with its control characters escaped, made in one place for text and JSON.
@Suite struct ErrorLines {
    @Test("the central wording escapes every control character", arguments: controlValues)
    func centralPathEscapes(value: UInt32) throws {
        let raw = "before" + String(Character(try #require(Unicode.Scalar(value)))) + "after"
        let message = ShellContext.message(for: RawError(description: raw))
        #expect(!message.unicodeScalars.contains { SafeText.needsEscape($0) })
        #expect(message.hasPrefix("before\\") && message.hasSuffix("after"))
        #expect(message == SafeText.escaped(raw))
    }

    @Test func unknownCommandWithControlCharactersIsOneEscapedLine() throws {
        // Quoted, so the carriage return stays inside the word instead of separating words (a line feed ends the
        // command; the parameterised test above covers it).
        // (No NUL: a process argument ends there.)
        let line = "\"\u{1B}[2Jbogus\rx\u{7F}\u{9B}31m\""
        let result = try ShellProcess.run(["-c", line], environment: ["NO_COLOR": "1"])
        #expect(result.status == 1)
        #expect(result.stderr == #"-c:1: error: unknown command '\u{1B}[2Jbogus\rx\u{7F}\u{9B}31m' — type 'help' for the list of commands"# + "\n")
    }

    @Test func scriptLinesWithControlCharactersFailOnOneLineEach() throws {
        // Read from stdin: a carriage return, an OSC title sequence and a bell inside lines.
        let result = try ShellProcess.run(["--keep-going"], stdin: "\"bo\rgus\"\n\u{1B}]0;pwned\u{07}\nset x\u{1B}[31m 1\n")
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 3, "\(result.stderr.debugDescription)")
        #expect(lines.first == #"<stdin>:1: error: unknown command 'bo\rgus' — type 'help' for the list of commands"#)
        #expect(!result.stderr.unicodeScalars.contains { $0 != "\n" && SafeText.needsEscape($0) }, "\(result.stderr.debugDescription)")
    }

    @Test func jsonErrorsStayOneValidLine() throws {
        let result = try ShellProcess.run(["--json", "--keep-going", "-c", "\"\u{1B}[31mbad\rverb\u{85}\"; get no\u{1B}such"])
        #expect(result.status == 1)
        let objects = try result.jsonObjects()
        #expect(objects.count == 2, "\(result.stdout.debugDescription)")
        #expect(objects.allSatisfy { $0["ok"] as? Bool == false })
        let first = try #require(objects.first?["error"] as? String)
        #expect(first == #"unknown command '\u{1B}[31mbad\rverb\u{85}' — type 'help' for the list of commands"#)
        #expect(objects.first?["command"] as? String == #"\u{1B}[31mbad\rverb\u{85}"#)
        for object in objects {
            let error = try #require(object["error"] as? String)
            #expect(!error.unicodeScalars.contains { SafeText.needsEscape($0) }, "\(error.debugDescription)")
        }
        #expect(!result.stdout.unicodeScalars.contains { $0 != "\n" && SafeText.needsEscape($0) })
        // The human line on stderr says the same.
        #expect(result.stderr.contains("-c:1: error: " + first + "\n"))
    }

    @Test func userTextInStartUpErrorsIsEscaped() throws {
        let option = try ShellProcess.run(["--bad\u{1B}[2J"])
        #expect(option.status == 2)
        #expect(option.stderr.hasPrefix(#"lgc-shell: unknown option '--bad\u{1B}[2J'"#))
        let script = try ShellProcess.run(["/nonexistent/x\ny.lgc"])
        #expect(script.stderr == #"lgc-shell: /nonexistent/x\ny.lgc: no such file"# + "\n")
    }
}
