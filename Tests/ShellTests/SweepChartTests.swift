import FeedbackLoop
import Foundation
@testable import LoopApp
@testable import Shell
import Testing

/// `chart sweep NAME KEY1 ?KEY2?`: a heat map of a real sweep's metric, checked against 'sweep collect'.
@Suite(.serialized) struct SweepCharts {
    /// A shell with a 2×2 sweep 'heat' (tier1_interval 1h,3h × test_fraction 0.2,0.3, two days, tier 1), run.
    static func ranSweep() throws -> (ShellContext, URL) {
        let (shell, directory) = try Sweeps.shell()
        #expect(shell.execute("sweep new heat --grid tier1_interval=1h,3h --grid test_fraction=0.2,0.3 --days 2 --tiers 1") == .ok)
        #expect(shell.execute("sweep run heat --engine local") == .ok)
        return (shell, directory)
    }

    static func rows(_ object: [String: Any]) throws -> [[String: Any]] { try #require(object["rows"] as? [[String: Any]]) }
    static func grid(_ row: [String: Any]) throws -> [String: String] { try #require(row["grid"] as? [String: String]) }

    /// The chart's text with its wrapped notes joined again (continuation lines start with two spaces).
    static func unwrapped(_ text: String) -> String { text.replacingOccurrences(of: "\n  ", with: " ") }

    /// The map lines of a chart's text: those that start with one of `labels` and hold a figure.
    static func mapLines(_ text: String, labels: [String]) -> [String] {
        text.split(separator: "\n").map(String.init).filter { line in
            labels.contains { line.hasPrefix($0 + " ") } && (line.contains("%") || line.contains("0."))
        }
    }

    @Test func theCellsAreTheCollectedRowsAndTheBestCellIsTheBestRow() throws {
        let (shell, _) = try Self.ranSweep()
        defer { shell.closeSession() }
        for metric in ["accuracy", "brier"] {
            let chart = try fields(shell, "chart sweep heat tier1_interval test_fraction --metric \(metric)")
            let collected = try Self.rows(try fields(shell, "sweep collect heat --metric \(metric)"))
            #expect(chart["chart"] as? String == "sweep" && chart["name"] as? String == "heat" && chart["metric"] as? String == metric)
            #expect(chart["rows_key"] as? String == "tier1_interval" && chart["columns_key"] as? String == "test_fraction")
            let rowValues = try #require(chart["rows"] as? [String]), columnValues = try #require(chart["columns"] as? [String])
            #expect(rowValues == ["1h", "3h"] && columnValues == ["0.2", "0.3"])
            #expect(chart["span"] as? String == "all" && chart["finished"] as? Int == 4 && chart["tasks"] as? Int == 4)
            #expect((chart["maximised_over"] as? [String])?.isEmpty == true)
            let assets = try #require(chart["assets"] as? [[String: Any]])
            #expect(assets.count == 1)
            let asset = try #require(assets.first)
            #expect(asset["asset"] as? String == "DEMO")
            let cells = try #require(asset["cells"] as? [[Any]])
            #expect(cells.count == 2 && cells.allSatisfy { $0.count == 2 })
            // Every collected row is its cell, to the bit.
            #expect(collected.count == 4)
            for row in collected {
                let grid = try Self.grid(row)
                let r = try #require(rowValues.firstIndex(of: grid["tier1_interval"] ?? "")),
                    c = try #require(columnValues.firstIndex(of: grid["test_fraction"] ?? ""))
                #expect(cells[r][c] as? Double == row["value"] as? Double, "\(metric) at \(grid)")
            }
            // The best cell is collect's first (best) row, with its naive baseline.
            let top = collected[0], best = try #require(asset["best"] as? [String: Any])
            #expect(best["row"] as? String == (try Self.grid(top))["tier1_interval"])
            #expect(best["column"] as? String == (try Self.grid(top))["test_fraction"])
            #expect(best["value"] as? Double == top["value"] as? Double && best["task"] as? Int == top["task"] as? Int)
            #expect(asset["naive"] as? Double == top["naive"] as? Double)
            // ≈: exactly the rows collect calls not distinguishable from the best.
            let ties = Set(try #require(asset["indistinguishable"] as? [[String: Any]]).map { "\($0["row"]!) \($0["column"]!)" })
            for row in collected.dropFirst() {
                guard let versus = row["vs_best"] as? [String: Any], let apart = versus["distinguishable"] as? Bool else { continue }
                let grid = try Self.grid(row)
                #expect(ties.contains("\(grid["tier1_interval"]!) \(grid["test_fraction"]!)") == !apart, "\(grid)")
            }
        }
        // The text: the best cell carries the only *, its row names it, the naive baseline is below.
        let output = try text(shell, "chart sweep heat tier1_interval test_fraction")
        let collected = try Self.rows(try fields(shell, "sweep collect heat"))
        let top = try Self.grid(collected[0])
        #expect(output.hasPrefix("sweep heat: accuracy by tier1_interval × test_fraction on DEMO\n"), "\(output)")
        let lines = Self.mapLines(output, labels: ["1h", "3h"])
        #expect(lines.count == 2, "\(output)")
        #expect(lines.map { $0.filter { $0 == "*" }.count } == (top["tier1_interval"] == "1h" ? [1, 0] : [0, 1]), "\(output)")
        let bestLine = try #require(lines.first { $0.hasPrefix(top["tier1_interval"]! + " ") })
        let figure = Format.percent(collected[0]["value"] as? Double)
        #expect(bestLine.contains(figure + "*"), "\(bestLine)")
        #expect(Self.unwrapped(output).contains("best: tier1_interval=\(top["tier1_interval"]!) test_fraction=\(top["test_fraction"]!) \(figure)"))
        #expect(Self.unwrapped(output).contains("naive (persistence) \(Format.percent(collected[0]["naive"] as? Double)) on the same steps"))
        #expect(!output.contains("tasks finished"), "every task finished")
    }

    @Test func oneKeyTakesTheBestOverTheOtherAxisAndAtHoldsIt() throws {
        let (shell, _) = try Self.ranSweep()
        defer { shell.closeSession() }
        let collected = try Self.rows(try fields(shell, "sweep collect heat"))
        let chart = try fields(shell, "chart sweep heat test_fraction")
        #expect(chart["columns_key"] is NSNull && (chart["columns"] as? [Any])?.count == 1)
        #expect(chart["maximised_over"] as? [String] == ["tier1_interval"])
        let cells = try #require((chart["assets"] as? [[String: Any]])?.first?["cells"] as? [[Double]])
        for (index, fraction) in ["0.2", "0.3"].enumerated() {
            let values = try collected.filter { try Self.grid($0)["test_fraction"] == fraction }.compactMap { $0["value"] as? Double }
            #expect(values.count == 2)
            #expect(cells[index] == [values.max()!], "the best over tier1_interval at test_fraction \(fraction)")
        }
        let output = try text(shell, "chart sweep heat test_fraction")
        #expect(Self.unwrapped(output).contains("each cell is the best over tier1_interval (1h, 3h)"), "\(output)")
        #expect(output.contains("test_fraction  accuracy"), "one column, headed by the metric:\n\(output)")
        // --at holds the other axis instead, in its own spelling or one that sets the same.
        for at in ["tier1_interval=3h", "tier1_interval=180m"] {
            let held = try fields(shell, "chart sweep heat test_fraction --at \(at)")
            #expect(held["at"] as? [String: String] == ["tier1_interval": "3h"])
            #expect((held["maximised_over"] as? [String])?.isEmpty == true)
            let heldCells = try #require((held["assets"] as? [[String: Any]])?.first?["cells"] as? [[Double]])
            for (index, fraction) in ["0.2", "0.3"].enumerated() {
                let row = try #require(try collected.first { try Self.grid($0) == ["tier1_interval": "3h", "test_fraction": fraction] })
                #expect(heldCells[index] == [try #require(row["value"] as? Double)])
            }
        }
        #expect(try text(shell, "chart sweep heat test_fraction --at tier1_interval=3h").contains("held at tier1_interval=3h"))
    }

    @Test func badInputIsOneLineAndTheShellGoesOn() throws {
        let (shell, directory) = try Self.ranSweep()
        defer { shell.closeSession() }
        let folder = SweepFolder(path: directory.path + "/sweeps/heat")
        for (line, expected) in [
            ("chart sweep nope tier1_interval", "no sweep 'nope' in \(directory.path)/sweeps — 'sweep new NAME --grid KEY=V1,V2' declares one; Tab after 'sweep status' lists those there are"),
            ("chart sweep heat tier1_intervall", "sweep 'heat' has no axis 'tier1_intervall' — did you mean 'tier1_interval'?"),
            ("chart sweep heat depth", "sweep 'heat' has no axis 'depth' — its axes: tier1_interval, test_fraction"),
            ("chart sweep heat test_fraction TEST_FRACTION", "KEY1 and KEY2 are both 'test_fraction': give two different axes, or one"),
            ("chart sweep heat test_fraction --at tier1_interval=2h", "the sweep's tier1_interval has no value '2h' (its values: 1h, 3h)"),
            ("chart sweep heat test_fraction --at test_fraction=0.2", "--at test_fraction=… holds an axis the map already shows: hold another one"),
            ("chart sweep heat test_fraction --at 3h", "invalid --at '3h': expected KEY=VALUE, an axis of the sweep and one of its values"),
            ("chart price --metric brier", "--metric belongs to 'chart sweep', not 'chart price'"),
        ] {
            #expect(shell.execute(line) == .failed(expected), "\(line)")
        }
        guard case .failed(let missing) = shell.execute("chart sweep heat") else { Issue.record("accepted"); return }
        #expect(missing.contains("missing KEY1") && !missing.contains("\n"))
        guard case .failed(let metric) = shell.execute("chart sweep heat test_fraction --metric coverage") else { Issue.record("accepted"); return }
        #expect(metric.contains("'accuracy', 'directional_accuracy', 'brier' or 'log_loss'"))
        // A manifest edited by hand is refused, as 'sweep' refuses it.
        let original = try String(contentsOfFile: folder.manifestPath, encoding: .utf8)
        try original.replacingOccurrences(of: "\"3h\"", with: "\"4h\"").write(toFile: folder.manifestPath, atomically: true, encoding: .utf8)
        #expect(shell.execute("chart sweep heat test_fraction") == .failed("\(folder.manifestPath) was changed after it was written (its checksum does not match) — declare the sweep again with 'sweep new' (its folder is written by lgc-shell alone)"))
        try original.write(toFile: folder.manifestPath, atomically: true, encoding: .utf8)
        #expect(shell.execute("chart sweep heat test_fraction tier1_interval") == .ok)
        #expect(shell.execute("chart sweep heat test_fraction --asset DEMO") == .ok)
    }

    @Test func unfinishedTasksLeaveEmptyCellsAndSaySoAndNoneFinishedSaysToRunIt() throws {
        let (shell, directory) = try Sweeps.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep new part --grid tier1_interval=1h,2h --days 2 --tiers 1") == .ok)
        let none = try fields(shell, "chart sweep part tier1_interval")
        #expect(none["finished"] as? Int == 0 && (none["assets"] as? [Any])?.isEmpty == true)
        #expect(try text(shell, "chart sweep part tier1_interval")
            == "sweep part: none of its 2 tasks has finished — run it first: 'sweep run part --engine local'")
        let folder = SweepFolder(path: directory.path + "/sweeps/part")
        guard case .ran = try SweepTask.run(folder: folder, task: 0) else { Issue.record("task 0 did not run"); return }
        let chart = try fields(shell, "chart sweep part tier1_interval")
        let cells = try #require((chart["assets"] as? [[String: Any]])?.first?["cells"] as? [[Any]])
        #expect(cells.count == 2 && cells[0].first is Double && cells[1].first is NSNull)
        #expect((chart["assets"] as? [[String: Any]])?.first?["best"].flatMap { $0 as? [String: Any] }?["row"] as? String == "1h")
        let output = try text(shell, "chart sweep part tier1_interval")
        let missing = try #require(Self.mapLines(output + "\n", labels: ["1h"]).first)
        #expect(missing.hasSuffix("*"))
        let empty = try #require(output.split(separator: "\n").first { $0.hasPrefix("2h ") })
        #expect(empty.trimmingCharacters(in: .whitespaces).hasSuffix("·") && !empty.contains("%"), "\(output)")
        #expect(output.contains("· not finished"))
        #expect(output.hasSuffix("1 of 2 tasks finished — 'sweep run part'"), "\(output)")
    }

    @Test func theASCIIFallbackAndANarrowTerminal() throws {
        let (shell, _) = try Self.ranSweep()
        defer { shell.closeSession() }
        shell.terminal = TerminalInfo(isInteractive: false, width: 40, color: false, unicode: false)
        for line in ["chart sweep heat tier1_interval test_fraction", "chart sweep heat test_fraction --metric log_loss"] {
            let output = try text(shell, line)
            #expect(output.utf8.allSatisfy { $0 < 0x80 }, "non-ASCII in:\n\(output)")
            for row in output.split(separator: "\n") { #expect(row.count <= 40, "wider than 40: \(row)") }
            #expect(output.contains("*"))
        }
    }

    @Test func walkForwardSelectionMapsTheSelectionSpanAndSaysSo() throws {
        let (shell, _) = try Sweeps.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("set tier1_interval 2h") == .ok)
        #expect(shell.execute("sweep new wf --grid tier1_interval=1h,3h --select-on 2d --evaluate-on 2d --tiers 1") == .ok)
        #expect(shell.execute("sweep run wf --engine local") == .ok)
        let chart = try fields(shell, "chart sweep wf tier1_interval")
        #expect(chart["span"] as? String == "selection")
        // The table 'sweep collect' ranks on covers the selection span: the same figures.
        let collected = try Self.rows(try fields(shell, "sweep collect wf"))
        let cells = try #require((chart["assets"] as? [[String: Any]])?.first?["cells"] as? [[Double]])
        for (index, value) in ["1h", "3h"].enumerated() {
            let row = try #require(try collected.first { try Self.grid($0)["tier1_interval"] == value })
            #expect(cells[index] == [try #require(row["value"] as? Double)])
        }
        let output = try text(shell, "chart sweep wf tier1_interval")
        #expect(output.contains("on DEMO — the selection span"), "\(output)")
        #expect(Self.unwrapped(output).contains("walk-forward selection: these are the selection span's figures (the first 2 of 4 days)"))
        #expect(Self.unwrapped(output).contains("off the grid: the default settings (tier1_interval=7200)"), "the added default point is not a cell:\n\(output)")
    }

    @Test func oneMapPerAssetAndAssetPicksOne() throws {
        let (shell, directory) = try Sweeps.shell()
        defer { shell.closeSession() }
        // A second asset: the demo's bars, a little higher, imported as ALT.
        let bars = try #require(shell.engine.series).bars
        let csv = "timestamp,open,high,low,close,volume\n" + bars.enumerated().map { index, bar in
            let price = bar.close * (1.01 + 0.002 * sin(Double(index)))
            return "\(Int(bar.time)),\(price),\(price),\(price),\(price),1"
        }.joined(separator: "\n") + "\n"
        let path = directory.appendingPathComponent("alt.csv").path
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(shell.execute("import \(path) --symbol ALT") == .ok)
        #expect(shell.execute("sweep new both --grid tier1_interval=1h,3h --assets all --days 2 --tiers 1") == .ok)
        #expect(shell.execute("sweep new demo-only --grid tier1_interval=1h,3h --days 2 --tiers 1 --assets DEMO") == .ok)
        #expect(shell.execute("sweep run both --engine local") == .ok)
        let chart = try fields(shell, "chart sweep both tier1_interval")
        #expect((chart["assets"] as? [[String: Any]])?.map { $0["asset"] as? String } == ["DEMO", "ALT"])
        let output = try text(shell, "chart sweep both tier1_interval")
        #expect(output.contains("── DEMO ──") && output.contains("── ALT ──") && output.contains("on ALT"), "\(output)")
        let one = try fields(shell, "chart sweep both tier1_interval --asset ALT")
        #expect((one["assets"] as? [[String: Any]])?.map { $0["asset"] as? String } == ["ALT"])
        #expect(shell.execute("chart sweep demo-only tier1_interval --asset ALT") == .failed("sweep 'demo-only' was not run on ALT (its assets: DEMO)"))
    }

    @Test func tabCompletesSweepsAxesAndValues() throws {
        let (shell, _) = try Sweeps.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep new heat --grid tier1_interval=1h,3h --grid test_fraction=0.2,0.3 --days 2 --tiers 1") == .ok)
        #expect(shell.execute("sweep new other --grid tier2_interval=6h,12h --days 2 --tiers 1") == .ok)
        func complete(_ line: String) -> [String] { Completion.complete(line, shell: shell).candidates }
        #expect(complete("chart sw") == ["sweep"])
        #expect(complete("chart sweep ") == ["heat", "other"])
        #expect(complete("chart sweep he") == ["heat"])
        #expect(complete("chart sweep heat ") == ["tier1_interval", "test_fraction"])
        #expect(complete("chart sweep heat te") == ["test_fraction"])
        #expect(complete("chart sweep heat test_fraction ") == ["tier1_interval"])
        #expect(complete("chart sweep other ") == ["tier2_interval"])
        #expect(complete("chart sweep heat test_fraction --m") == ["--metric"])
        #expect(complete("chart sweep heat test_fraction --metric b") == ["brier"])
        #expect(complete("chart sweep heat test_fraction --at ") == ["tier1_interval="])
        #expect(complete("chart sweep heat test_fraction --at tier1_interval=") == ["tier1_interval=1h", "tier1_interval=3h"])
        #expect(complete("chart sweep nope ").isEmpty)
    }

    /// On a real terminal: `KEY=` completes without a trailing space, so the value's Tab completes the same word.
    @Test func tabOnATerminalCompletesTheSweepTheKeysAndAnAtValue() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let made = try ShellProcess.run(["-c", "fetch demo 20 --end 2026-11-20; sweep new heat --grid tier1_interval=1h,3h --grid test_fraction=0.2,0.3 --days 2 --tiers 1"],
                                        environment: ["LGC_SESSIONS": directory.path])
        #expect(made.status == 0, "\(made.stderr)")
        let session = try TerminalSession(environment: ["LGC_SESSIONS": directory.path, "LGC_HISTORY": directory.appendingPathComponent("history").path])
        #expect(session.waitFor("lgc> "), "no prompt: \(session.screen)")
        let mark = session.mark
        session.type("chart sweep he\ttest_f\t--at tier1_i\t3\t\r")
        #expect(session.waitForPrompt(after: "sweep heat: none of its 4 tasks has finished", since: mark), "\(session.screen)")
        #expect(session.quit() == 0)
    }

    /// A point without a score (no step scored) is never the best, for a "lower is better" metric too.
    @Test func aRowWithoutAScoreRanksLastWhicheverWayTheMetricPoints() throws {
        func row(_ id: Int, _ values: [Double]?) throws -> Commands.SweepRow {
            Commands.SweepRow(tasks: [id], grid: [("tier1_interval", "\(id)h")], asset: "DEMO", isDefault: false, members: [[]],
                              score: try values.map { try BlockBootstrap.interval(of: $0) }, naive: nil, pnl: nil, retrains: 0, seconds: 0)
        }
        let rows = [try row(0, nil), try row(1, [0.3, 0.2]), try row(2, []), try row(3, [0.1, 0.2])]
        #expect(Commands.ranked(rows, metric: .brier).map(\.id) == [3, 1, 0, 2])
        #expect(Commands.ranked(rows, metric: .accuracy).map(\.id) == [1, 3, 0, 2])
    }
}
