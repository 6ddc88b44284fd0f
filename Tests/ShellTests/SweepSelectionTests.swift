import FeedbackLoop
import Foundation
@testable import LoopApp
@testable import Shell
import Testing

/// Sweeps over windows and seeds, and walk-forward selection.
@Suite(.serialized) struct SweepSpans {
    static func objects(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    @Test func windowsAndSeedsAreTasksOfTheirOwnAndCollectJoinsThemIntoOneRowPerPoint() throws {
        let (shell, directory) = try Sweeps.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep new split --grid tier1_interval=1h,3h --windows 2x2d --seeds 2 --tiers 1") == .ok)
        let folder = SweepFolder(path: directory.path + "/sweeps/split")
        let manifest = try folder.manifest()
        #expect(manifest.tasks.count == 8 && manifest.windows == 2 && manifest.seeds == 2)
        #expect(manifest.tasks.map(\.window) == [0, 0, 1, 1, 0, 0, 1, 1])
        #expect(manifest.tasks.map(\.seed) == [0, 1, 0, 1, 0, 1, 0, 1])
        let seeded = try manifest.configuration(for: manifest.tasks[1]), plain = try manifest.configuration(for: manifest.tasks[0])
        #expect(seeded.xgboost.seed == plain.xgboost.seed + 1 && seeded.lstm.seed == plain.lstm.seed + 1)
        // The windows are consecutive: the first ends where the second begins, the second at the last bar.
        let bars = try folder.series(manifest.assets[0])
        let first = try manifest.window(of: manifest.tasks[0], in: bars), second = try manifest.window(of: manifest.tasks[2], in: bars)
        #expect(second.through == bars.count - 1)
        #expect(first.through == second.from - 1)
        #expect(second.through - second.from == 47 && first.through - first.from == 47, "two days of hourly bars each")
        #expect(shell.execute("sweep run split --engine local") == .ok)
        #expect(manifest.tasks.allSatisfy { folder.isDone($0.id) })

        let result = try ShellProcess.run(["--format", "json", "-c", "fetch demo 20 --end 2026-11-20; sweep collect split"],
                                          environment: ["LGC_SESSIONS": directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        let collected = try #require(Self.objects(result.stdout).last)
        #expect(collected["added"] as? Int == 8, "every task is a replay of the session")
        let rows = try #require(collected["rows"] as? [[String: Any]])
        #expect(rows.count == 2, "one row per point: its windows and seeds joined")
        #expect(rows.map { ($0["tasks"] as? [Int])?.count } == [4, 4])
        // A row's steps: each seed's windows joined, both windows' steps.
        let reports = Commands.sweepReports(folder, manifest)
        let joined = Commands.sweepRows(manifest, reports: reports, metric: .accuracy, series: ["DEMO": bars])
        let row = try #require(joined.first { $0.id == 0 })
        #expect(row.members.count == 2)
        #expect(row.members[0].count == reports[0]!.steps.count + reports[2]!.steps.count)
        #expect(row.members[0].map(\.barTime) == row.members[0].map(\.barTime).sorted())
        var retrains = 0
        for task in row.tasks {
            let report = reports[task]!.object["report"] as? [String: Any]
            let tiers = report?["retrains"] as? [String: Any] ?? [:]
            for case let tier as [String: Any] in tiers.values { retrains += tier["count"] as? Int ?? 0 }
        }
        #expect(row.retrains == Double(retrains) / 2, "retrains per seed, both windows")
        // Bad spans: one line each, nothing written.
        for (line, expected) in [("sweep new bad --grid tier1_interval=1h --windows 1x2d", "COUNTxDURATION"),
                                 ("sweep new bad --grid tier1_interval=1h --days 2 --windows 2x1d", "not both"),
                                 ("sweep new bad --grid tier1_interval=1h --select-on 2d", "go together"),
                                 ("sweep new bad --grid tier1_interval=1h --windows 20x2d", "fetch more history")] {
            guard case .failed(let message) = shell.execute(line) else { Issue.record("accepted: \(line)"); continue }
            #expect(message.contains(expected), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/sweeps/bad"))
    }

    @Test func sweepListShowsEverySweepWithItsProgressAndNamesAFolderThatIsNotOne() throws {
        let (shell, directory) = try Sweeps.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep list") == .ok, "no sweeps yet is not an error")
        #expect(shell.execute("sweep new alpha --grid tier1_interval=1h,2h --days 2 --tiers 1") == .ok)
        #expect(shell.execute("sweep new beta --grid test_fraction=0.2,0.3 --windows 2x1d --seeds 2 --tiers 1") == .ok)
        #expect(try SweepTask.run(folder: SweepFolder(path: directory.path + "/sweeps/alpha"), task: 1) != .alreadyDone)
        try FileManager.default.createDirectory(atPath: directory.path + "/sweeps/junk", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: directory.appendingPathComponent("sweeps/notes.txt"))
        let result = try ShellProcess.run(["--format", "json", "-c", "sweep list"], environment: ["LGC_SESSIONS": directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        let sweeps = try #require(Self.objects(result.stdout).first?["sweeps"] as? [[String: Any]])
        #expect(sweeps.map { $0["name"] as? String } == ["alpha", "beta", "junk"], "folders only, sorted")
        #expect(sweeps[0]["tasks"] as? Int == 2 && sweeps[0]["done"] as? Int == 1 && sweeps[0]["pending"] as? Int == 1)
        #expect(sweeps[1]["tasks"] as? Int == 8 && sweeps[1]["windows"] as? Int == 2 && sweeps[1]["seeds"] as? Int == 2)
        #expect((sweeps[2]["error"] as? String)?.contains("not a sweep folder") == true)
    }

    /// A step that is a hit or a miss for accuracy (BUY against an up or a flat move).
    static func step(at time: TimeInterval, hit: Bool) throws -> ScoredStep {
        try ScoredStep(signal: .buy, probabilityUp: 0.6, realisedReturn: hit ? 0.01 : 0, outcome: hit ? .buy : .hold, barTime: time)
    }

    /// Hits at the given rates before and after `split`, spread evenly, `count` steps each side.
    static func planted(selection: Double, evaluation: Double, split: TimeInterval, count: Int = 48) throws -> [ScoredStep] {
        var steps: [ScoredStep] = []
        for index in 0..<count {
            steps.append(try step(at: split - Double(count - index) * 3_600, hit: Double(index % 10) < selection * 10))
        }
        for index in 0..<count {
            steps.append(try step(at: split + Double(index) * 3_600, hit: Double(index % 10) < evaluation * 10))
        }
        return steps
    }

    @Test func walkForwardSelectionChoosesOnTheSelectionSpanAndNeverLooksAtTheEvaluationSpan() throws {
        let (shell, directory) = try Sweeps.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("set tier1_interval 2h") == .ok)
        #expect(shell.execute("sweep new wf --grid tier1_interval=1h,3h,4h --select-on 2d --evaluate-on 2d --tiers 1") == .ok)
        let folder = SweepFolder(path: directory.path + "/sweeps/wf")
        let manifest = try folder.manifest()
        // The default (2h) is not in the grid: it is added, to report the chosen point against.
        #expect(manifest.tasks.map(\.values) == [["1h"], ["3h"], ["4h"], ["7200"]])
        #expect(manifest.isDefault(manifest.tasks[3]) && !manifest.isDefault(manifest.tasks[0]))
        let bars = try folder.series(manifest.assets[0])
        let split = try #require(manifest.evaluationStart(in: bars))
        #expect(split > bars.bars[bars.count - 49].time && split <= bars.bars[bars.count - 48].time)

        // Planted: 3h is best where the choice is made, 4h where it is reported.
        func reports(_ rates: [(Double, Double)]) throws -> [Int: Commands.SweepReport] {
            var reports: [Int: Commands.SweepReport] = [:]
            for (task, rate) in zip(manifest.tasks, rates) {
                reports[task.id] = (["seconds": 1.0, "report": [String: Any]()], try Self.planted(selection: rate.0, evaluation: rate.1, split: split), "")
            }
            return reports
        }
        let planted = try reports([(0.5, 0.5), (0.8, 0.3), (0.4, 0.9), (0.6, 0.6)])
        let result = try #require(Commands.walkForwardSelection(manifest, reports: planted, metric: .accuracy, series: ["DEMO": bars]).first)
        #expect(result.chosen.grid.map(\.1) == ["3h"])
        #expect(abs((result.chosenEvaluated.score?.mean ?? 0) - 0.3) < 0.05, "reported on the evaluation span only")
        #expect(abs((result.defaultEvaluated?.score?.mean ?? 0) - 0.6) < 0.05)
        #expect(result.hindsightBest.grid.map(\.1) == ["4h"], "peeking would have picked another point")
        #expect((result.difference?.interval.mean ?? 0) < 0)
        // Whatever the evaluation span holds, the choice stays; the selection span alone decides it.
        let perfectLater = try reports([(0.5, 1.0), (0.8, 0.0), (0.4, 1.0), (0.6, 1.0)])
        #expect(Commands.walkForwardSelection(manifest, reports: perfectLater, metric: .accuracy, series: ["DEMO": bars]).first?.chosen.id == 1)
        let betterEarlier = try reports([(0.5, 0.5), (0.8, 0.3), (0.9, 0.9), (0.6, 0.6)])
        #expect(Commands.walkForwardSelection(manifest, reports: betterEarlier, metric: .accuracy, series: ["DEMO": bars]).first?.chosen.id == 2)

        // End to end: real replays, collected, the selection in the JSON and said in the table.
        #expect(shell.execute("sweep run wf --engine local") == .ok)
        let result2 = try ShellProcess.run(["--format", "json", "-c", "fetch demo 20 --end 2026-11-20; set tier1_interval 2h; sweep collect wf"],
                                           environment: ["LGC_SESSIONS": directory.path])
        #expect(result2.status == 0, "\(result2.stderr)")
        let collected = try #require(Self.objects(result2.stdout).last)
        let selection = try #require(collected["selection"] as? [String: Any])
        #expect(selection["select_days"] as? Double == 2 && selection["evaluate_days"] as? Double == 2)
        let asset = try #require((selection["assets"] as? [[String: Any]])?.first)
        let chosen = try #require(asset["chosen"] as? [String: Any])
        // The chosen point is the best row of the table, which covers the selection span.
        let rows = try #require(collected["rows"] as? [[String: Any]])
        #expect(chosen["task"] as? Int == rows.first?["task"] as? Int)
        let evaluation = try #require(asset["evaluation"] as? [String: Any])
        #expect((evaluation["chosen"] as? [String: Any])?["value"] is Double)
        #expect((evaluation["default"] as? [String: Any])?["value"] is Double)
        let text = try ShellProcess.run(["-c", "fetch demo 20 --end 2026-11-20; set tier1_interval 2h; sweep collect wf"],
                                        environment: ["LGC_SESSIONS": directory.path])
        #expect(text.stdout.contains("walk-forward selection: chosen on the first 2 days, reported on the following 2 only"))
        #expect(text.stdout.contains("default: tier1_interval=7200") || text.stdout.contains("chosen: tier1_interval=7200"))
    }

    @Test func trainingPoolAllTrainsBesideTheSweepsOtherAssets() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let shell = quietShell()
        shell.openSession(directory: directory.path, persistent: false)
        defer { shell.closeSession() }
        let eth = try MultiAssetSessions.hourlyCSV("ETHUSDT", seed: 3, in: directory)
        // Both series end at the same hour (the CSV's end): the test shell's own clock is fixed in the past.
        let end = Int((Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        #expect(shell.execute("fetch demo 30 --seed 7 --end \(end)") == .ok)
        guard case .failed(let alone) = shell.execute("sweep new lonely --grid training_pool=self,all --days 2 --tiers 1") else {
            Issue.record("pooling with no other asset was accepted"); return
        }
        #expect(alone.contains("--assets"))
        #expect(shell.execute("import \(eth)") == .ok)
        #expect(shell.execute("sweep new pooled --grid training_pool=self,all --assets all --days 2 --tiers 1") == .ok)
        #expect(shell.execute("sweep run pooled --engine local") == .ok)
        let folder = SweepFolder(path: directory.path + "/sweeps/pooled")
        let manifest = try folder.manifest()
        #expect(manifest.tasks.count == 4 && manifest.tasks.allSatisfy { folder.isDone($0.id) })
        // Pooled and own-only fits differ: the pool reached the task (an ignored setting would give equal steps).
        let reports = Commands.sweepReports(folder, manifest)
        for asset in 0..<2 {
            let own = try #require(manifest.tasks.first { $0.asset == asset && $0.values == ["self"] })
            let pooled = try #require(manifest.tasks.first { $0.asset == asset && $0.values == ["all"] })
            #expect(reports[own.id]!.steps.map(\.probabilityUp) != reports[pooled.id]!.steps.map(\.probabilityUp),
                    "asset \(asset): pooling changed nothing")
        }
    }
}

/// Ctrl-C during `sweep run --engine local`, as a person at a terminal would press it.
@Suite struct CancelSweep {
    @Test func ctrlCStartsNoNewTaskAndSaysWhichAreLeft() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let session = try TerminalSession(environment: ["LGC_SESSIONS": directory.path, "LGC_HISTORY": directory.appendingPathComponent("h").path,
                                                        "LGC_SHELL": ShellProcess.executable.path], columns: 160)
        #expect(session.waitFor("lgc> "))
        var mark = session.mark
        session.type("fetch demo 30; sweep new s --grid tier2_interval=3h,6h,12h,24h --days 10 --tiers 1,2\r")
        #expect(session.waitForPrompt(after: "manifest", since: mark, timeout: 30), "\(session.screen)")
        let folder = SweepFolder(path: directory.path + "/sweeps/s")
        mark = session.mark
        session.type("sweep run s --engine local --jobs 1\r")
        // Pressed while the first task runs (its log is open), long before the four are done.
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: folder.logPath(0)) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        session.type("\u{03}")
        #expect(session.waitForPrompt(after: "not started", since: mark, timeout: 60), "\(session.screen)")
        #expect(folder.isDone(0), "the running task finished")
        #expect(!folder.isDone(3), "no new task started after Ctrl-C")
        mark = session.mark
        session.type("sweep run s --engine local\r")
        #expect(session.waitForPrompt(after: "pending task", since: mark, timeout: 120), "\(session.screen)")
        #expect((0..<4).allSatisfy(folder.isDone), "the rest ran on the next 'sweep run'")
        #expect(session.quit() == 0)
    }
}
