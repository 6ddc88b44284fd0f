import Foundation
import Testing

/// `replay` answers "does this policy beat that one, and by more than noise?": honest scores beside naive
/// baselines, paired comparisons with intervals, P&L beside buy-and-hold — in JSON, in text and in stored reports.
@Suite struct ReplayHonesty {
    static let setup = "set xgboost.threads 1; fetch demo 12 --seed 5 --end 2026-11-20; replay --days 4 --tiers 1"

    @Test func theReportCarriesScoresBaselinesComparisonsAndPnL() throws {
        let result = try ShellProcess.run(["--format", "json", "-q", "-c", Self.setup + "; replays show 1"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let report = try #require(objects.first { $0["command"] as? String == "replay" })
        for metric in ["accuracy", "directional_accuracy", "coverage", "brier", "log_loss"] {
            #expect(report[metric] is Double, "\(metric)")
        }
        let naive = try #require(report["naive"] as? [String: [String: Any]])
        #expect(Set(naive.keys) == ["constant", "persistence", "always_up", "climatology"])
        #expect(naive["constant"]?["hindsight"] as? Bool == true)
        #expect(naive["always_up"]?["directional_accuracy"] is Double)
        #expect(naive["climatology"]?["brier"] is Double)
        let pnl = try #require(report["pnl"] as? [String: Any])
        for key in ["strategy_return", "buy_and_hold_return", "fee_bps", "sharpe", "max_drawdown", "trades", "exposure"] {
            #expect(pnl[key] != nil, "\(key)")
        }
        #expect(pnl["fee_bps"] as? Double == 10)
        // Every policy scored the same bars, so holding the asset earned the same for each.
        let baselines = try #require(report["baselines"] as? [String: [String: Any]])
        let never = try #require(baselines["never_retrain"]?["pnl"] as? [String: Any])
        #expect(never["buy_and_hold_return"] as? Double == pnl["buy_and_hold_return"] as? Double)
        let comparisons = try #require(report["comparisons"] as? [[String: Any]])
        #expect(comparisons.count == 8, "the loop against two baselines on four metrics")
        for comparison in comparisons {
            #expect(comparison["a"] as? String == "loop")
            let difference = try #require(comparison["difference"] as? Double)
            guard let low = comparison["ci_low"] as? Double, let high = comparison["ci_high"] as? Double else {
                // Fewer paired steps than two blocks: a point estimate, the reason, and never "significant".
                #expect(comparison["no_interval"] as? String == "too_few_steps", "\(comparison)")
                #expect(comparison["significant"] as? Bool == false)
                continue
            }
            #expect(low <= difference && difference <= high)
            #expect(comparison["significant"] as? Bool == !(low <= 0 && 0 <= high))
            #expect(comparison["no_interval"] is NSNull)
        }
        #expect(Set(comparisons.compactMap { $0["b"] as? String }) == ["never_retrain", "retrain_every_step"])
        // The stored report is the same report.
        let stored = try #require(objects.last?["report"] as? [String: Any])
        #expect((stored["comparisons"] as? [[String: Any]])?.count == 8)
        #expect((stored["pnl"] as? [String: Any])?["strategy_return"] as? Double == pnl["strategy_return"] as? Double)
    }

    @Test func thePnLTradesWithTheConfiguredFeeAndShortingAndRecordsThem() throws {
        let result = try ShellProcess.run(["--format", "json", "-q", "-c",
                                           "set fee_bps 25; set pnl.short off; " + Self.setup])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try result.jsonObjects().first { $0["command"] as? String == "replay" })
        let pnl = try #require(report["pnl"] as? [String: Any])
        #expect(pnl["fee_bps"] as? Double == 25)
        #expect(pnl["shorting"] as? Bool == false)
        // SELL and HOLD both stay flat: the time in the market is at most the share of non-HOLD signals.
        let exposure = try #require(pnl["exposure"] as? Double), coverage = try #require(report["coverage"] as? Double)
        #expect(exposure <= coverage)
        let settings = try #require(report["settings"] as? [String: Any])
        #expect("\(settings)".contains("fee"), "the stored settings say which fee the P&L used")
    }

    @Test(arguments: [
        ("set fee_bps -5", "invalid value '-5' for fee_bps: expected a number from 0 to 1000"),
        ("set pnl.short maybe", "invalid value 'maybe' for pnl.short: expected off or on"),
    ])
    func badPnLSettingsAreOneLine(command: String, message: String) throws {
        let result = try ShellProcess.run(["-q", "-c", command], environment: ["NO_COLOR": "1"])
        #expect(result.status == 1)
        #expect(result.stderr == "-c:1: error: \(message)\n", "\(result.stderr)")
    }

    @Test func theTextSaysWhatBeatsWhatAndThatItIsNotAdvice() throws {
        let result = try ShellProcess.run(["-q", "-c", Self.setup], environment: ["NO_COLOR": "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("naive on the same steps: constant (best in hindsight)"), "\(result.stdout)")
        #expect(result.stdout.contains("loop − never_retrain: accuracy"))
        #expect(result.stdout.contains("95 % CI"))
        #expect(result.stdout.contains("vs buy-and-hold"))
        #expect(result.stdout.contains("research and education only, not trading advice"))
    }
}
