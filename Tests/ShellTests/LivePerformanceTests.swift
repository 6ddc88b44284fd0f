import Foundation
import Testing

/// `perf`, `status` and `chart live` as a user runs them: the live scores, their standard errors and naive
/// baselines on the same predictions, and the trigger's reading (issue 12).
@Suite struct LivePerformanceCommands {
    /// Six wrong directions, then four right ones, logged by hand.
    static let streak = Array(repeating: "log SELL --predicted BUY", count: 6) + Array(repeating: "log BUY --predicted BUY", count: 4)

    @Test func perfAndStatusShowScoresBesideNaiveBaselines() throws {
        let script = (["fetch demo 10 --end 2026-11-20"] + Self.streak + ["perf", "status"]).joined(separator: "; ")
        let result = try ShellProcess.run(["--json", "-q", "-c", script])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let perf = try #require(objects.first { $0["command"] as? String == "perf" })
        #expect(perf["accuracy"] as? Double == 0.4)
        #expect(perf["directional_accuracy"] as? Double == 0.4)
        #expect(perf["coverage"] as? Double == 1)
        #expect(perf["brier"] is NSNull, "hand-logged outcomes without their prediction carry no P(up)")
        let errors = try #require(perf["standard_error"] as? [String: Any])
        let expected = (0.4 * 0.6 * 10 / 9 / 10).squareRoot()
        #expect(abs((errors["directional_accuracy"] as? Double ?? 0) - expected) < 1e-12)
        let naive = try #require(perf["naive"] as? [String: [String: Any]])
        #expect(naive["always_up"]?["directional_accuracy"] as? Double == 0.4)
        #expect(naive["constant"]?["hindsight"] as? Bool == true)
        #expect(naive["constant"]?["accuracy"] as? Double == 0.6, "SELL, the commonest outcome")
        let beats = try #require(perf["beats_naive"] as? [String: Any])
        #expect(beats["directional_accuracy"] as? Bool == false)
        let trigger = try #require(perf["trigger"] as? [String: Any])
        #expect(trigger["metric"] as? String == "directional" && trigger["below"] as? Bool == true)
        #expect(trigger["threshold"] as? Double == 0.55)
        let status = try #require(objects.first { $0["command"] as? String == "status" })
        let recent = try #require(status["recent_performance"] as? [String: Any])
        #expect(recent["directional_accuracy"] as? Double == 0.4 && recent["naive"] is [String: Any])
    }

    @Test func perfTextFlagsAScoreNoBetterThanANaiveRule() throws {
        let script = (["fetch demo 10 --end 2026-11-20"] + Self.streak + ["perf", "status"]).joined(separator: "; ")
        let result = try ShellProcess.run(["-q", "-c", script], environment: ["LANG": "C.UTF-8"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("live scores over the last 10 scored predictions"))
        #expect(result.stdout.contains("⚑ does not beat a naive rule (persistence, always up, climatology) on the same predictions: "))
        #expect(result.stdout.contains("trigger: directional accuracy 40.0% < threshold 55.0%"))
        #expect(result.stdout.contains("live      directional accuracy 40.0% ± 16.3 pts (n 10) vs always_up 40.0% over the last 10"))
    }

    @Test func chartLiveDrawsTheBaselineAsASecondLine() throws {
        let script = (["fetch demo 10 --end 2026-11-20"] + Self.streak + Self.streak + ["chart live"]).joined(separator: "; ")
        let result = try ShellProcess.run(["--json", "-q", "-c", script])
        #expect(result.status == 0, "\(result.stderr)")
        let chart = try #require(try result.jsonObjects().last)
        let series = try #require(chart["series"] as? [[String: Any]])
        #expect(series.map { $0["name"] as? String } == ["live directional accuracy", "naive: always_up"])
        let live = try #require(series[0]["points"] as? [[Any]]), naive = try #require(series[1]["points"] as? [[Any]])
        #expect(live.count == 11 && naive.count == 11, "one point per full window: entries 10…20")
        #expect(live.last?.last as? Double == 0.4 && naive.last?.last as? Double == 0.4)
    }

    @Test func badSettingsAreOneLineAndChangeNothing() throws {
        let result = try ShellProcess.run(["--keep-going", "-q", "-c",
                                           "set hold_band -1; set performance_metric f1; get hold_band; get performance_metric"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: invalid value '-1' for hold_band: expected auto or a number from 0 to 0.1"))
        #expect(result.stderr.contains("error: invalid value 'f1' for performance_metric: expected accuracy or directional or brier"))
        #expect(result.stdout.split(separator: "\n").suffix(2) == ["auto", "directional"])
    }
}
