import Foundation
@testable import Shell
import Testing

/// `check lookahead` and `check warmup` from the shell: JSON fields tools rely on, and bad input.
@Suite struct CheckCommand {
    @Test func lookaheadOnTheDemoMarketIsCleanAndSaysWhatItChecked() throws {
        let result = try ShellProcess.run(["--format", "json", "-q", "-c",
                                           "set xgboost.threads 1; fetch demo 10; train tier2; check lookahead --samples 12; check warmup"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let lookahead = try #require(objects.first { $0["command"] as? String == "check" })
        #expect(lookahead["samples"] as? Int == 12)
        #expect(lookahead["features_checked"] as? Int == 19)
        #expect(lookahead["models_checked"] as? [String] == ["logistic", "xgboost"])
        #expect((lookahead["differences"] as? [Any])?.isEmpty == true)
        let warmup = try #require(objects.last)
        let features = try #require(warmup["features"] as? [[String: Any]])
        #expect(features.count == 19)
        #expect(features.first { $0["name"] as? String == "sma_99_ratio" }?["bars"] as? Int == 99)
    }

    @Test(arguments: [
        ("check lookahead", "no market data loaded — run 'fetch demo' (offline) or 'import FILE.csv' first"),
        ("fetch demo 3; check lookahead --samples 0", "check: invalid --samples '0': expected a whole number from 1 to 1000 — usage: check lookahead|warmup ?--samples N?"),
        ("fetch demo 3; check sideways", "check: unknown subcommand 'sideways' — expected 'lookahead' or 'warmup' — usage: check lookahead|warmup ?--samples N?"),
        ("fetch demo 1; check warmup", "too little data to check (0 feature rows) — fetch or import more bars first"),
    ])
    func badInputIsOneLine(commands: String, message: String) throws {
        let result = try ShellProcess.run(["-q", "-c", commands], environment: ["NO_COLOR": "1"])
        #expect(result.status == 1)
        #expect(result.stderr == "-c:\(commands.split(separator: ";").count): error: \(message)\n", "\(result.stderr)")
    }
}
