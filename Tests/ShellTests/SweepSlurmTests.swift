import Foundation
@testable import LoopApp
@testable import Shell
import Testing

/// The single-node cluster of `scripts/slurm-local.sh`, when it runs here (CI starts it and sets
/// `LGC_REQUIRE_SLURM=1`: then the tests that need it run, and fail, rather than being skipped, when it is down).
enum LocalSlurm {
    static let required = ProcessInfo.processInfo.environment["LGC_REQUIRE_SLURM"] == "1"

    /// Whether `sinfo` says a node can take work.
    static let answers: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sinfo", "-h", "-o", "%t"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return false }
        return text.split(whereSeparator: \.isNewline).contains { ["idle", "mix", "alloc"].contains($0.trimmingCharacters(in: .whitespaces)) }
    }()

    static var enabled: Bool { required || answers }
}

/// `sweep run --engine slurm`, `sweep status` with Slurm's queue, `sweep cancel`, `--retry-failed`.
@Suite(.serialized) struct SweepSlurm {
    /// A folder of fake Slurm commands, each a shell script, to put alone on PATH.
    static func fakeCommands(_ scripts: [String: String]) throws -> String {
        let directory = try ShellProcess.temporaryDirectory().appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, body) in scripts {
            let path = directory.appendingPathComponent(name).path
            try Data(("#!/bin/sh\n" + body + "\n").utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        return directory.path
    }

    /// A sweep of `count` one-asset tasks (tier 1 over 2 days of the pinned demo market) in a fresh sessions folder.
    static func sweep(_ name: String, tasks count: Int) throws -> (ShellContext, URL, SweepFolder) {
        let (shell, directory) = try Sweeps.shell()
        let values = (1...count).map { "\($0)h" }.joined(separator: ",")
        #expect(shell.execute("sweep new \(name) --grid tier1_interval=\(values) --days 2 --tiers 1") == .ok)
        return (shell, directory, SweepFolder(path: directory.path + "/sweeps/" + name))
    }

    /// `lgc-shell --format json -c LINE` with the sessions folder and PATH given; the objects it printed.
    static func json(_ line: String, sessions: URL, path: String? = nil) throws -> (objects: [[String: Any]], result: ShellProcess.Result) {
        var environment = ["LGC_SESSIONS": sessions.path, "LGC_SHELL": ShellProcess.executable.path]
        if let path { environment["PATH"] = path }
        let result = try ShellProcess.run(["--format", "json", "-c", line], environment: environment)
        let objects = result.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        return (objects, result)
    }

    static func fileIdentity(_ path: String) throws -> [String] {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return ["\(attributes[.systemFileNumber] ?? "")", "\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"]
    }

    // MARK: Always run: no cluster needed

    @Test func arraySpecsCompressRunsOfIdsAndCapTheParallelism() {
        #expect(SlurmSubmission.compressed([0, 1, 2, 3, 7, 9, 10, 11, 12]) == "0-3,7,9-12")
        #expect(SlurmSubmission.compressed([5]) == "5")
        #expect(SlurmSubmission.compressed([3, 1, 2, 2, 8]) == "1-3,8")
        #expect(SlurmSubmission(maxParallel: 4).arraySpec([0, 1, 2, 3, 7]) == "0-3,7%4")
        #expect(SlurmSubmission().arraySpec([0, 2]) == "0,2")
    }

    @Test(arguments: [("90", 90.0), ("5:30", 5.5), ("2:00:00", 120), ("1-12", 2160), ("1-00:30", 1470), ("2-03:04:05", 3064 + 5.0 / 60), ("0", 0)] as [(String, Double)])
    func timeLimitsReadAsSlurmReadsThem(text: String, minutes: Double) {
        #expect(SlurmTimeLimit.parse(text)?.minutes == minutes)
    }

    @Test(arguments: ["2h", "1:60", "1:2:3:4", "1-24", "-5", "1-", "", "1.5", "1-2-3", "3:00:60"])
    func malformedTimeLimitsAreRefused(text: String) {
        #expect(SlurmTimeLimit.parse(text) == nil)
    }

    @Test func theBatchScriptRunsEachTaskWithItsLogAndMarksFailures() throws {
        let settings = SlurmSubmission(partition: "short", time: SlurmTimeLimit.parse("2:00:00"), maxParallel: 3,
                                       extraArguments: ["--account=lab", "--comment=two words"])
        let script = settings.script(sweep: "depth", folder: "/shared/50%/sweeps/depth", executable: "/opt/lgc it/lgc-shell",
                                     tasks: [0, 1, 2, 5])
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.first == "#!/bin/bash")
        #expect(lines.filter { $0.hasPrefix("#SBATCH ") } == [
            "#SBATCH --job-name=lgc-sweep-depth",
            "#SBATCH --array=0-2,5%3",
            "#SBATCH --output=/shared/50%%/sweeps/depth/logs/task-%a.log",
            "#SBATCH --chdir=/shared/50%/sweeps/depth",
            "#SBATCH --cpus-per-task=1",
            "#SBATCH --partition=short",
            "#SBATCH --time=2:00:00",
            "#SBATCH --account=lab",
            "#SBATCH \"--comment=two words\"",
        ])
        #expect(lines.contains("'/opt/lgc it/lgc-shell' sweep task \"$folder\" \"$task\""))
        #expect(lines.contains("folder='/shared/50%/sweeps/depth'"))
        #expect(script.contains(": > \"$log.failed\""))
        #expect(lines.last == "exit \"$status\"")
        #expect(SlurmSubmission.reservedOption(in: "--array=1-3") == "--array")
        #expect(SlurmSubmission.reservedOption(in: "-J") == "-J")
        #expect(SlurmSubmission.reservedOption(in: "--account=lab") == nil)
    }

    @Test func badSlurmFlagsAreOneLineErrors() throws {
        let (shell, _, _) = try Self.sweep("flags", tasks: 2)
        defer { shell.closeSession() }
        #expect(shell.execute("sweep run flags --engine slurm --time 2h")
            == .failed("invalid value '2h' for --time: expected \(SlurmTimeLimit.expected)"))
        guard case .failed(let zero) = shell.execute("sweep run flags --engine slurm --max-parallel 0") else { Issue.record("accepted"); return }
        #expect(zero.hasPrefix("sweep: invalid --max-parallel '0'"))
        guard case .failed(let local) = shell.execute("sweep run flags --engine local --partition short") else { Issue.record("accepted"); return }
        #expect(local.hasPrefix("sweep: --partition goes with --engine slurm"))
        guard case .failed(let jobs) = shell.execute("sweep run flags --engine slurm --jobs 2") else { Issue.record("accepted"); return }
        #expect(jobs.hasPrefix("sweep: --jobs goes with --engine local"))
        guard case .failed(let reserved) = shell.execute("sweep run flags --engine slurm --sbatch-arg --array=0-9") else { Issue.record("accepted"); return }
        #expect(reserved.hasPrefix("sweep: --sbatch-arg cannot set --array"))
    }

    @Test func withoutSlurmOrWithItsControllerDownTheErrorSaysWhatToDo() throws {
        let (shell, directory, folder) = try Self.sweep("nowhere", tasks: 2)
        defer { shell.closeSession() }
        let manifest = try folder.manifest()
        // No Slurm on PATH at all.
        let empty = try Self.fakeCommands([:])
        let bare = SlurmClient(environment: ["PATH": empty])
        #expect(throws: SweepError.slurmCommandMissing("sbatch")) {
            _ = try SlurmSweepEngine.submit([0, 1], folder: folder, manifest: manifest, settings: SlurmSubmission(),
                                            executable: "/bin/true", client: bare)
        }
        let missing = try Self.json("sweep run nowhere --engine slurm", sessions: directory, path: empty)
        #expect(missing.result.status == 1)
        #expect(missing.objects.first?["error"] as? String == SweepError.slurmCommandMissing("sbatch").description)
        #expect(missing.result.stderr.split(separator: "\n").count == 1, "\(missing.result.stderr)")
        // A controller that does not answer: sbatch and the squeue probe both fail.
        let down = try Self.fakeCommands(["sbatch": "echo 'sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)' >&2; exit 1",
                                          "squeue": "echo 'slurm_load_jobs error: Unable to contact slurm controller' >&2; exit 1"])
        #expect(throws: SweepError.slurmUnreachable(command: "squeue", status: 1)) {
            _ = try SlurmSweepEngine.submit([0, 1], folder: folder, manifest: manifest, settings: SlurmSubmission(),
                                            executable: "/bin/true", client: SlurmClient(environment: ["PATH": down]))
        }
        let unreachable = try Self.json("sweep run nowhere --engine slurm", sessions: directory, path: down)
        #expect(unreachable.objects.first?["error"] as? String
            == "Slurm's controller does not answer ('squeue' exited with status 1): start the bundled single-node cluster with 'bash scripts/slurm-local.sh start' (or check your cluster)")
        #expect(try folder.slurmJobs().isEmpty, "nothing was recorded")
        // The controller answers but refuses the array: sbatch's own first line.
        let refusing = try Self.fakeCommands(["sbatch": "echo 'sbatch: error: invalid partition specified: nope' >&2; echo second >&2; exit 1",
                                              "squeue": "exit 0"])
        let refused = try Self.json("sweep run nowhere --engine slurm --partition nope", sessions: directory, path: refusing)
        let message = try #require(refused.objects.first?["error"] as? String)
        #expect(message.hasPrefix("sbatch refused the job array: sbatch: error: invalid partition specified: nope — check --partition"))
        #expect(!message.contains("second"))
    }

    @Test func aSubmissionIsOneRecordedArrayAndStatusAsksTheQueue() throws {
        let (shell, directory, folder) = try Self.sweep("queued", tasks: 4)
        defer { shell.closeSession() }
        let record = directory.path + "/sbatch-args"
        // A cluster that takes the array as job 42, then has task 0 running and task 1 waiting.
        let fake = try Self.fakeCommands([
            "sbatch": "echo \"$@\" > '\(record)'; echo '42;lgc-local'",
            // Out of the queue once cancelled.
            "squeue": "[ -e '\(record).cancel' ] && exit 0; case \"$*\" in *%F*) printf '42 0 R\\n42 1 PD\\n77 2 R\\n' ;; esac; exit 0",
            "scancel": "echo \"$@\" > '\(record).cancel'",
        ])
        let run = try Self.json("sweep run queued --engine slurm --max-parallel 2 --time 30 --sbatch-arg --qos=low", sessions: directory, path: fake)
        let submitted = try #require(run.objects.first, "\(run.result.stderr)")
        #expect(submitted["engine"] as? String == "slurm")
        #expect(submitted["submitted"] as? Int == 4)
        #expect(submitted["job_id"] as? String == "42")
        let script = folder.path + "/slurm/submit-1.sbatch"
        #expect(try String(contentsOfFile: record, encoding: .utf8) == "--parsable \(script)\n")
        let text = try String(contentsOfFile: script, encoding: .utf8)
        for line in ["#SBATCH --array=0-3%2", "#SBATCH --time=30", "#SBATCH --qos=low", "#SBATCH --output=\(folder.path)/logs/task-%a.log"] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        #expect(text.contains("'\(ShellProcess.executable.path)' sweep task"))
        #expect(try folder.slurmJobs().map(\.jobID) == ["42"])
        #expect(try folder.slurmJobs().first?.tasks == [0, 1, 2, 3])
        // Task 0 runs, 1 waits (pending), 2 is in the queue only under another job (not this sweep's: gone), 3 ended
        // without a report: 2 and 3 failed, with their logs.
        let status = try #require(try Self.json("sweep status queued", sessions: directory, path: fake).objects.first)
        #expect(status["tasks"] as? Int == 4)
        #expect(status["running"] as? Int == 1 && status["pending"] as? Int == 1 && status["done"] as? Int == 0)
        #expect(status["failed"] as? Int == 2)
        #expect((status["failures"] as? [[String: Any]])?.map { $0["task"] as? Int } == [2, 3])
        #expect((status["failures"] as? [[String: Any]])?.first?["log"] as? String == folder.logPath(2))
        // Running again submits only what is neither done nor queued; retry-failed the same two here.
        let again = try #require(try Self.json("sweep run queued --engine slurm --retry-failed", sessions: directory, path: fake).objects.first)
        #expect(again["submitted"] as? Int == 2)
        #expect(try folder.slurmJobs().last?.tasks == [2, 3])
        #expect(try String(contentsOfFile: folder.path + "/slurm/submit-2.sbatch", encoding: .utf8).contains("#SBATCH --array=2-3\n"))
        // Squeue gone: status still answers from the files, and says so.
        let noQueue = try Self.fakeCommands(["squeue": "exit 1"])
        let blind = try #require(try Self.json("sweep status queued", sessions: directory, path: noQueue).objects.first)
        #expect(blind["slurm"] as? String == "unreachable")
        #expect(blind["pending"] as? Int == 4 && blind["running"] as? Int == 0)
        // Cancel: scancel on the live job (42), which is forgotten; its tasks are pending again.
        let cancel = try #require(try Self.json("sweep cancel queued", sessions: directory, path: fake).objects.first)
        #expect(cancel["cancelled"] as? [String] == ["42"])
        #expect(try String(contentsOfFile: record + ".cancel", encoding: .utf8) == "42\n")
        #expect(try folder.slurmJobs().isEmpty, "both submissions (job 42 here) are forgotten")
        let after = try #require(try Self.json("sweep status queued", sessions: directory, path: fake).objects.first)
        #expect(after["pending"] as? Int == 4 && after["failed"] as? Int == 0 && after["slurm"] as? String == "not asked")
    }

    @Test func retryFailedRerunsOnlyTheFailedTasks() throws {
        let (shell, directory, folder) = try Self.sweep("retry", tasks: 3)
        defer { shell.closeSession() }
        #expect(shell.execute("sweep run retry --engine local") == .ok)
        #expect((0..<3).allSatisfy(folder.isDone))
        // Task 1 fails for real (its bars no longer match), task 2 is simply not run yet.
        try FileManager.default.removeItem(atPath: folder.reportPath(1))
        try FileManager.default.removeItem(atPath: folder.reportPath(2))
        let data = folder.path + "/" + (try folder.manifest()).assets[0].file
        let bars = try Data(contentsOf: URL(fileURLWithPath: data))
        try Data("{\"symbol\":\"DEMO\",\"source\":\"demo\",\"bars\":[]}".utf8).write(to: URL(fileURLWithPath: data))
        #expect(try LocalSweepEngine(folder: folder, executable: ShellProcess.executable.path).run([1], jobs: 1, isCancelled: { false }) == [1])
        try bars.write(to: URL(fileURLWithPath: data))
        let untouched = try Self.fileIdentity(folder.reportPath(0))
        let retried = try #require(try Self.json("sweep run retry --engine local --retry-failed; sweep status retry", sessions: directory).objects.last)
        #expect(folder.isDone(1), "the failed task ran again")
        #expect(!folder.isDone(2), "a task that never failed is not retried")
        #expect(try Self.fileIdentity(folder.reportPath(0)) == untouched, "a done task's report is left as it was")
        #expect(retried["done"] as? Int == 2 && retried["failed"] as? Int == 0 && retried["pending"] as? Int == 1)
        let nothing = try Self.json("sweep run retry --retry-failed", sessions: directory)
        #expect(nothing.objects.first?["submitted"] as? Int == 0)
        #expect(shell.execute("sweep run retry") == .ok)
        #expect(folder.isDone(2))
        #expect(try Self.fileIdentity(folder.reportPath(0)) == untouched)
    }

    // MARK: On the local cluster (scripts/slurm-local.sh start)

    @Test(.enabled(if: LocalSlurm.enabled, "needs the local Slurm cluster: bash scripts/slurm-local.sh start"))
    func aSweepOnSlurmGivesTheLocalEnginesReportsBitForBit() throws {
        try #require(LocalSlurm.answers, "the local Slurm cluster does not answer: bash scripts/slurm-local.sh start")
        let (shell, directory, folder) = try Self.sweep("cluster", tasks: 4)
        defer { shell.closeSession() }
        // The same sweep, copied, for the local engine.
        let copy = SweepFolder(path: directory.path + "/sweeps/cluster-local")
        try FileManager.default.copyItem(atPath: folder.path, toPath: copy.path)
        let slurm = try Self.json("sweep run cluster --engine slurm --max-parallel 2 --time 10 --wait; sweep status cluster",
                                  sessions: directory)
        #expect(slurm.result.status == 0, "\(slurm.result.stdout) \(slurm.result.stderr)")
        let run = try #require(slurm.objects.first)
        #expect(run["engine"] as? String == "slurm" && run["submitted"] as? Int == 4)
        #expect(run["job_id"] is String)
        #expect(run["done"] as? Int == 4, "\(run)")
        #expect((run["scheduling_delay_seconds"] as? Double).map { $0 >= 0 } == true, "\(run)")
        let status = try #require(slurm.objects.last)
        #expect(status["done"] as? Int == 4 && status["running"] as? Int == 0 && status["failed"] as? Int == 0)
        #expect(try Self.json("sweep run cluster-local --engine local", sessions: directory).result.status == 0)
        for task in 0..<4 {
            #expect(try Sweeps.deterministic(Sweeps.report(folder, task)) == Sweeps.deterministic(Sweeps.report(copy, task)), "task \(task)")
        }
        // Nothing left to submit; collected into the session once.
        #expect(try Self.json("sweep run cluster --engine slurm", sessions: directory).objects.first?["submitted"] as? Int == 0)
        let collected = try Self.json("fetch demo 20 --end 2026-11-20; sweep collect cluster", sessions: directory)
        #expect(collected.objects.last?["added"] as? Int == 4, "\(collected.result.stderr)")
    }

    @Test(.enabled(if: LocalSlurm.enabled, "needs the local Slurm cluster: bash scripts/slurm-local.sh start"))
    func cancellingAQueuedArrayLeavesItsTasksPending() throws {
        try #require(LocalSlurm.answers, "the local Slurm cluster does not answer: bash scripts/slurm-local.sh start")
        let (shell, directory, folder) = try Self.sweep("stopped", tasks: 4)
        defer { shell.closeSession() }
        // Held: nothing of it starts before the cancel.
        let run = try Self.json("sweep run stopped --engine slurm --sbatch-arg --hold; sweep status stopped; sweep cancel stopped; sweep status stopped; sweep cancel stopped",
                                sessions: directory)
        #expect(run.result.status == 0, "\(run.result.stderr)")
        #expect(run.objects.count == 5)
        #expect(run.objects[1]["pending"] as? Int == 4 && run.objects[1]["failed"] as? Int == 0)
        #expect((run.objects[1]["slurm_jobs"] as? [String])?.count == 1)
        #expect((run.objects[2]["cancelled"] as? [String]) == [try #require(run.objects[0]["job_id"] as? String)])
        #expect(run.objects[3]["pending"] as? Int == 4 && run.objects[3]["failed"] as? Int == 0)
        #expect(run.objects[4]["cancelled"] as? [String] == [], "nothing live the second time")
        #expect(try folder.slurmJobs().isEmpty)
    }
}
