import FeedbackLoop
import Foundation
import MarketData
import Testing
@testable import Shell

@Suite struct StatusSettings {
    @Test("status lists the settings that differ from their defaults, and adaptive factors when on")
    func changedAndAdaptive() throws {
        let shell = quietShell()
        #expect(shell.execute("fetch demo 30 --seed 7") == .ok)
        let plain = try fields(shell, "status")
        #expect((plain["changed_settings"] as? [String: Any])?.isEmpty == true)
        #expect((plain["adaptive_intervals"] as? [String: Any])?["enabled"] as? Bool == false)
        let plainText = try text(shell, "status")
        #expect(plainText.contains("\nsettings  all defaults\n"))
        #expect(!plainText.contains("adaptive  "))

        for line in ["set max_model_age 6h", "set adaptive_intervals on", "set tier2_interval 3h"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        let status = try fields(shell, "status")
        let changed = try #require(status["changed_settings"] as? [String: Any])
        #expect(changed.keys.sorted() == ["adaptive_intervals", "max_model_age", "tier2_interval"])
        #expect(changed["max_model_age"] as? Double == 21_600 && changed["adaptive_intervals"] as? String == "on")
        let adaptive = try #require(status["adaptive_intervals"] as? [String: Any])
        let ratio = try #require(shell.engine.volatilityRatio())
        #expect(abs(try #require(adaptive["volatility_ratio"] as? Double) - ratio) < 1e-12, "JSON keeps 17 digits")
        let factor = min(2, max(0.5, 1 / ratio))
        let tiers = try #require(adaptive["tiers"] as? [String: [String: Double]])
        #expect(abs(try #require(tiers["tier2"]?["factor"]) - factor) < 1e-12)
        #expect(abs(try #require(tiers["tier2"]?["interval_seconds"]) - 10_800 * factor) < 1e-6)
        let statusText = try text(shell, "status")
        #expect(statusText.contains("\nsettings  changed from defaults: tier2_interval 10800, max_model_age 21600, adaptive_intervals on\n"))
        #expect(statusText.contains("\nadaptive  tier1 x\(Format.fixed(factor, 2)) (\(DurationText.format(3600 * factor))), tier2 x"))
        #expect(statusText.contains("; recent/long-run volatility \(Format.fixed(ratio, 2))"))
    }
}

@Suite struct PerfPairs {
    @Test("perf's JSON pairs count the same predictions: window_* and lifetime_*")
    func pairs() throws {
        let shell = quietShell()
        for line in ["fetch demo 30 --seed 7", "train tier1", "set evaluation_window 2", "log BUY --predicted BUY",
                     "log SELL --predicted BUY", "log HOLD --predicted HOLD"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        let perf = try fields(shell, "perf")
        #expect(perf["window_total"] as? Int == 2 && perf["window_correct"] as? Int == 1)
        #expect(perf["lifetime_total"] as? Int == 3 && perf["lifetime_correct"] as? Int == 2)
        #expect(perf["total_predictions"] as? Int == 3 && perf["total_correct"] as? Int == 2)
        #expect(perf["accuracy"] as? Double == 0.5)
        #expect(perf["correct_predictions"] == nil && perf["window_predictions"] == nil)
        let status = try #require(try fields(shell, "status")["recent_performance"] as? [String: Any])
        #expect(status["window_correct"] as? Int == 1 && status["lifetime_total"] as? Int == 3)
    }
}

@Suite struct HelpLayout {
    @Test("an abstract ends in one mark: a question keeps its question mark, others get a full stop")
    func abstractPunctuation() throws {
        let replay = Commands.helpFor(try #require(Commands.find("replay")), shell: quietShell()).text
        #expect(replay.contains("would this retraining policy have done well?\n") && !replay.contains("?."))
        let perf = Commands.helpFor(try #require(Commands.find("perf")), shell: quietShell()).text
        #expect(perf.contains("beside naive baselines.\n"))
    }

    @Test("no option name runs into its description, in any command's help", arguments: Commands.all.map(\.name))
    func optionsSeparated(name: String) throws {
        let command = try #require(Commands.find(name))
        let lines = Commands.helpFor(command, shell: quietShell()).text.split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        for flag in command.flags {
            let option = "--\(flag.name)" + (flag.valueName.map { " \($0)" } ?? "")
            let index = try #require(lines.firstIndex { $0.hasPrefix("  " + option) }, "\(name): \(option) listed")
            let rest = lines[index].dropFirst(2 + option.count)
            if rest.isEmpty {
                // A long name: its description on the next line, indented past it.
                #expect(lines[index + 1].hasPrefix("   ") && lines[index + 1].hasSuffix(flag.summary), "\(name) \(option)")
            } else {
                #expect(rest.hasPrefix("  ") && rest.trimmingCharacters(in: .whitespaces) == flag.summary, "\(name) \(option)")
            }
        }
    }

    @Test("replay's options line up in one column after the longest name")
    func replayColumn() throws {
        let lines = Commands.optionLines(try #require(Commands.find("replay")).flags)
        #expect(lines.contains { $0.hasPrefix("  --baselines on|off  ") })
        let names = try #require(Commands.find("replay")).flags.map { "--\($0.name)" + ($0.valueName.map { " \($0)" } ?? "") }
        // Every description starts in the same column: two spaces after the longest name.
        let width = names.map(\.count).max()! + 4
        #expect(lines.count == names.count)
        #expect(lines.allSatisfy { $0.count > width && $0.dropFirst(width - 2).hasPrefix("  ") && $0.dropFirst(width).first != " " })
    }
}
