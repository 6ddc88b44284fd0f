import Foundation
@testable import LoopApp
@testable import Shell
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Sweeps: the manifest, one task, the local engine.
@Suite(.serialized) struct Sweeps {
    /// A shell with its own sessions folder and the demo market loaded.
    static func shell() throws -> (ShellContext, URL) {
        let directory = try ShellProcess.temporaryDirectory()
        let shell = quietShell()
        shell.openSession(directory: directory.path, persistent: false)
        #expect(shell.execute("fetch demo 20 --end 2026-11-20") == .ok)
        return (shell, directory)
    }

    static func report(_ folder: SweepFolder, _ task: Int) throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: folder.reportPath(task)))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A report without what depends on the machine's speed: the task's and the fits' measured seconds.
    static func deterministic(_ report: [String: Any]) throws -> Data {
        var copy = report
        copy["seconds"] = nil
        copy["replay_seconds"] = nil
        var inner = try #require(copy["report"] as? [String: Any])
        inner["training_seconds"] = nil
        copy["report"] = inner
        return try JSONSerialization.data(withJSONObject: copy, options: [.sortedKeys])
    }

    @Test func theManifestRoundTripsAndRefusesEditsAndOtherVersions() throws {
        let (shell, directory) = try Self.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep new grid --grid tier1_interval=1h,2h,3h --grid test_fraction=0.2,0.3 --days 2 --tiers 1") == .ok)
        let folder = SweepFolder(path: directory.path + "/sweeps/grid")
        let manifest = try folder.manifest()
        #expect(manifest.tasks.count == 6)
        #expect(manifest.axes == [.init(key: "tier1_interval", values: ["1h", "2h", "3h"]), .init(key: "test_fraction", values: ["0.2", "0.3"])])
        #expect(manifest.tasks[4].values == ["3h", "0.2"])
        #expect(try manifest.configuration(for: manifest.tasks[4]).tier1Interval == 10_800)
        #expect(try manifest.configuration(for: manifest.tasks[4]).xgboost.threads == 1)
        #expect(manifest.assets.map(\.symbol) == ["DEMO"])
        #expect(try folder.series(manifest.assets[0]) == shell.engine.series)
        // Edited by hand: refused.
        let text = try String(contentsOfFile: folder.manifestPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"3h\"", with: "\"4h\"").write(toFile: folder.manifestPath, atomically: true, encoding: .utf8)
        #expect(throws: SweepError.edited(path: folder.manifestPath)) { try folder.manifest() }
        // Written by another version: refused with the reason.
        try text.replacingOccurrences(of: "\"program\" : \"\(ShellMain.version)\"", with: "\"program\" : \"9.9.9\"")
            .write(toFile: folder.manifestPath, atomically: true, encoding: .utf8)
        #expect(throws: SweepError.otherVersion(path: folder.manifestPath, program: "9.9.9", format: 2)) { try folder.manifest() }
        try text.write(toFile: folder.manifestPath, atomically: true, encoding: .utf8)
        #expect(try folder.manifest() == manifest)
        // The same name again, an unknown key, a bad value: one line each.
        #expect(shell.execute("sweep new grid --grid tier1_interval=1h") == .failed("a sweep 'grid' exists already — choose another name, or remove that sweep's folder first"))
        guard case .failed(let unknown) = shell.execute("sweep new other --grid tier1_intervall=1h") else { Issue.record("accepted"); return }
        #expect(unknown.contains("did you mean 'tier1_interval'"))
        guard case .failed(let bad) = shell.execute("sweep new other --grid test_fraction=2") else { Issue.record("accepted"); return }
        #expect(bad.contains("test_fraction"))
    }

    @Test func aTaskRunTwiceWritesOneReportAndTheLocalEngineMatchesItExactly() throws {
        let (shell, directory) = try Self.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep new pair --grid tier1_interval=1h,2h --days 2 --tiers 1") == .ok)
        let folder = SweepFolder(path: directory.path + "/sweeps/pair")
        guard case .ran = try SweepTask.run(folder: folder, task: 0) else { Issue.record("task 0 did not run"); return }
        let first = try Data(contentsOf: URL(fileURLWithPath: folder.reportPath(0)))
        #expect(try SweepTask.run(folder: folder, task: 0) == .alreadyDone)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.reportPath(0))) == first, "the report stays as written")
        // The same task in another process (the local engine) gives the same report, measured times aside.
        let reference = try Self.report(folder, 0)
        try FileManager.default.removeItem(atPath: folder.reportPath(0))
        #expect(shell.execute("sweep run pair --engine local --jobs 2") == .ok)
        #expect(try Self.deterministic(Self.report(folder, 0)) == Self.deterministic(reference))
        #expect(folder.isDone(1))
        let status = try #require(try JSONSerialization.jsonObject(with: Data(
            try ShellProcess.run(["--format", "json", "-c", "sweep status pair"], environment: ["LGC_SESSIONS": directory.path])
                .stdout.utf8)) as? [String: Any])
        #expect(status["done"] as? Int == 2 && status["pending"] as? Int == 0 && status["failed"] as? Int == 0)
    }

    @Test func aKilledTaskLeavesNoReportAndAFailedOneIsReportedWithItsLog() throws {
        let (shell, directory) = try Self.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep new slow --grid tier2_interval=6h,12h --days 5 --tiers 1,2") == .ok)
        let folder = SweepFolder(path: directory.path + "/sweeps/slow")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ShellProcess.executable.path)
        process.arguments = ["sweep", "task", folder.path, "0"]
        try process.run()
        Thread.sleep(forTimeInterval: 0.3)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(!folder.isDone(0), "a killed task leaves no report")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/sweeps/slow/reports")
        #expect(leftovers.allSatisfy { !$0.hasPrefix("task-") }, "\(leftovers)")
        let result = try ShellProcess.run(["--format", "json", "-c", "sweep run slow --engine local --jobs 1"],
                                          environment: ["LGC_SESSIONS": directory.path, "LGC_SHELL": ShellProcess.executable.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(folder.isDone(0) && folder.isDone(1), "the killed task ran again")
    }

    @Test func failedTasksAreReportedWithTheirLogsAndRunAgainWhenTheCauseIsGone() throws {
        let (shell, directory) = try Self.shell()
        defer { shell.closeSession() }
        #expect(shell.execute("sweep new broken --grid tier1_interval=1h,2h --days 2 --tiers 1") == .ok)
        let folder = SweepFolder(path: directory.path + "/sweeps/broken")
        let data = folder.path + "/" + (try folder.manifest()).assets[0].file
        let bars = try Data(contentsOf: URL(fileURLWithPath: data))
        // Other bars than the sweep was declared on: every task refuses them.
        try Data("{\"symbol\":\"DEMO\",\"source\":\"demo\",\"bars\":[]}".utf8).write(to: URL(fileURLWithPath: data))
        let environment = ["LGC_SESSIONS": directory.path, "LGC_SHELL": ShellProcess.executable.path]
        let failing = try ShellProcess.run(["--format", "json", "-c", "sweep run broken --engine local; sweep status broken"],
                                           environment: environment)
        let objects = failing.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        #expect(objects.count == 2, "\(failing.stdout) \(failing.stderr)")
        #expect(objects.first?["failed"] as? [Int] == [0, 1])
        let status = try #require(objects.last)
        #expect(status["failed"] as? Int == 2 && status["done"] as? Int == 0)
        let failures = try #require(status["failures"] as? [[String: Any]])
        let log = try #require(failures.first?["log"] as? String)
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("no longer holds the DEMO bars"))
        // The bars back: the failed tasks run again, and only they.
        try bars.write(to: URL(fileURLWithPath: data))
        #expect(shell.execute("sweep run broken --engine local") == .ok)
        #expect(folder.isDone(0) && folder.isDone(1))
        #expect(shell.execute("sweep status broken") == .ok)
    }

    @Test func collectAddsEachTaskOnceAndRanksWithIntervals() throws {
        let (shell, directory) = try Self.shell()
        defer { shell.closeSession() }
        for line in ["sweep new grid --grid tier1_interval=1h,3h --grid test_fraction=0.2,0.3 --days 3 --tiers 1",
                     "sweep run grid --engine local"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        // In another shell, as a user would: the same data, two collects, the session's replays.
        let result = try ShellProcess.run(["--format", "json", "-c",
                                           "fetch demo 20 --end 2026-11-20; sweep collect grid; sweep collect grid; replays"],
                                          environment: ["LGC_SESSIONS": directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = result.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        #expect(objects.count == 4)
        let first = objects[1]
        #expect(first["added"] as? Int == 4)
        let rows = try #require(first["rows"] as? [[String: Any]])
        #expect(rows.count == 4)
        for row in rows {
            #expect(Set(row.keys).isSuperset(of: ["grid", "asset", "metric", "value", "ci_low", "ci_high", "naive", "pnl", "retrains", "seconds"]))
            let value = try #require(row["value"] as? Double), low = try #require(row["ci_low"] as? Double), high = try #require(row["ci_high"] as? Double)
            #expect(low <= value && value <= high)
        }
        // Ranked best first; the best row has nothing to differ from.
        let values = rows.compactMap { $0["value"] as? Double }
        #expect(values == values.sorted(by: >))
        #expect(rows.first?["vs_best"] is NSNull)
        // Collecting again adds nothing; the session holds one replay per task.
        #expect(objects[2]["added"] as? Int == 0)
        #expect((objects[3]["replays"] as? [Any])?.count == 4, "\(objects[3])")
        // Data that no longer matches the sweep's is refused, unless forced (and then recorded).
        #expect(shell.execute("fetch demo 20 --seed 9 --end 2026-11-20") == .ok)
        guard case .failed(let refused) = shell.execute("sweep collect grid") else { Issue.record("collected on other data"); return }
        #expect(refused.contains("no longer holds the DEMO bars"))
        #expect(shell.execute("sweep collect grid --force") == .ok)
    }
}
