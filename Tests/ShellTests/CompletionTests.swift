import FeedbackLoop
import Foundation
@testable import Shell
import Testing

/// Tab completion's candidates, straight from the command table (the pty tests press the real Tab key).
@Suite struct CompletionCandidates {
    func shell() throws -> ShellContext { quietShell() }

    @Test(arguments: [
        ("tr", ["train", "trend"]), ("train t", ["tier1", "tier2", "tier3"]), ("set performance_t", ["performance_threshold"]),
        ("get xgboost.max", ["xgboost.max_depth"]), ("trend l", ["logistic", "lstm"]), ("set format ", ["text", "json"]),
        ("fetch --so", ["--source"]), ("fetch --source c", ["coingecko"]), ("chart accuracy x", ["xgboost"]),
        ("fetch demo; tra", ["train"]),
    ])
    func candidates(line: String, expected: [String]) throws {
        #expect(Completion.complete(line, shell: try shell()).candidates == expected)
    }

    @Test func sessionNamesAfterLoad() throws {
        let context = try shell()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-completion-\(UUID())").path
        context.openSession(directory: directory, persistent: false)
        defer { context.closeSession() }
        #expect(context.execute("fetch demo 3") == .ok)
        #expect(context.execute("save alpha-run") == .ok)
        #expect(context.execute("save beta") == .ok)
        #expect(Completion.complete("load al", shell: context).candidates == ["alpha-run"])
        #expect(Set(Completion.complete("load ", shell: context).candidates) == ["alpha-run", "beta"])
    }
}
