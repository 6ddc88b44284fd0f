import FeedbackLoop
import Foundation
import LoopApp

/// `--time` of `sweep run --engine slurm`: refused here, before anything is submitted, as Slurm would refuse it.
struct SlurmTimeKind: ArgumentKind {
    func parse(_ word: String) throws(ArgumentProblem) -> SlurmTimeLimit {
        guard let limit = SlurmTimeLimit.parse(word) else {
            throw .invalidSetting(key: "--time", text: word, expected: SlurmTimeLimit.expected)
        }
        return limit
    }

    func candidates(_ context: CompletionContext) -> [String] { ["30", "2:00:00", "1-00:00:00"] }
}

extension Commands {
    /// `sweep run --engine slurm`: `tasks` as one job array; with `--wait`, followed to its end.
    static func runOnSlurm(_ shell: ShellContext, name: String, folder: SweepFolder, manifest: SweepManifest, tasks: [Int],
                           executable: String, args: Arguments, client: SlurmClient) throws -> CommandOutput {
        let extra = args.values(of: SweepArguments.sbatchArgument)
        let settings = SlurmSubmission(partition: args.value(of: SweepArguments.partition), time: args.value(of: SweepArguments.time),
                                       maxParallel: args.value(of: SweepArguments.maxParallel), extraArguments: extra)
        let absoluteFolder = SweepFolder(path: SlurmSweepEngine.absolute(folder.path))
        let started = ContinuousClock.now
        let job = try SlurmSweepEngine.submit(tasks, folder: absoluteFolder, manifest: manifest, settings: settings,
                                              executable: executable, client: client)
        var fields: [(String, JSON)] = [("engine", .string("slurm")), ("submitted", .int(tasks.count)), ("job_id", .string(job.jobID)),
                                        ("array", .string(job.array)), ("script", .string(absoluteFolder.path + "/" + job.script))]
        var text = "submitted \(tasks.count) task\(tasks.count == 1 ? "" : "s") of sweep \(name) as Slurm job array \(job.jobID) (--array=\(job.array)); its script: \(absoluteFolder.path)/\(job.script)"
        guard args.has(SweepArguments.wait) else {
            text += "\nfollow it with 'sweep status \(name)', cancel it with 'sweep cancel \(name)'"
            return CommandOutput(fields: fields + [("waited", .bool(false))], text: text)
        }
        let live = isatty(STDERR_FILENO) == 1 && shell.format == .text && !shell.logger.quiet
        let finished = try SlurmSweepEngine.wait(for: job, folder: absoluteFolder, manifest: manifest, client: client,
                                                 isCancelled: { Interrupts.requested != 0 }) { census in
            guard live else { return }
            let ended = job.tasks.filter { census.done.contains($0) || census.failed.contains($0) }.count
            let running = job.tasks.filter(census.running.contains).count, queued = job.tasks.filter(census.queued.contains).count
            StandardStreams.writeError("\r\u{1B}[2K" + progressBar(done: ended, of: job.tasks.count, unicode: shell.terminal.unicode)
                                       + " \(ended)/\(job.tasks.count) ended, \(running) running, \(queued) queued  "
                                       + Format.seconds(Stopwatch.seconds(since: started)))
        }
        if live { StandardStreams.writeError("\r\u{1B}[2K") }
        let polled = Stopwatch.seconds(since: started)
        guard finished else {
            text += "\nstopped waiting after \(Format.seconds(polled)): job \(job.jobID) goes on — 'sweep status \(name)' follows it, 'sweep cancel \(name)' cancels it"
            return CommandOutput(fields: fields + [("waited", .bool(false)), ("interrupted", .bool(true))], text: text)
        }
        let done = job.tasks.filter(absoluteFolder.isDone)
        let failed = job.tasks.filter { !absoluteFolder.isDone($0) }
        let timing = SlurmSweepEngine.timing(of: job, folder: absoluteFolder)
        // From the stamps the tasks wrote when every one did (this shell polls a little after the end); else what
        // this shell waited, from the submission.
        let wall = failed.isEmpty ? (timing.wall ?? polled) : polled
        let taskSeconds = done.compactMap { SweepReports.seconds(absoluteFolder, task: $0) }.reduce(0, +)
        text += "\n\(done.count) done, \(failed.count) failed in \(Format.seconds(wall))"
        if taskSeconds > 0 { text += String(format: " (the tasks' own time: %@, %.2f× of it)", Format.seconds(taskSeconds), wall / taskSeconds) }
        if let delay = timing.delay { text += "; Slurm's scheduling delay (submission to the first task's start): \(Format.seconds(delay))" }
        for task in failed { text += "\ntask \(task) failed — its log: \(absoluteFolder.logPath(task))" }
        fields += [("waited", .bool(true)), ("done", .int(done.count)), ("failed", .array(failed.map(JSON.int))),
                   ("seconds", .number(wall)), ("task_seconds", .number(taskSeconds)), ("scheduling_delay_seconds", .number(timing.delay))]
        return CommandOutput(fields: fields, text: text)
    }

    /// `sweep run --engine local`: `tasks` as separate processes, `--jobs` at a time.
    static func runLocally(_ shell: ShellContext, name: String, folder: SweepFolder, tasks pending: [Int], executable: String,
                           args: Arguments) throws -> CommandOutput {
        let jobs = args.value(of: SweepArguments.jobs) ?? ProcessInfo.processInfo.activeProcessorCount
        let start = ContinuousClock.now
        let failed = try LocalSweepEngine(folder: folder, executable: executable)
            .run(pending, jobs: jobs, isCancelled: { Interrupts.requested != 0 })
        let wall = Stopwatch.seconds(since: start)
        let taskSeconds = pending.compactMap { SweepReports.seconds(folder, task: $0) }.reduce(0, +)
        // Ctrl-C starts no new task (the running ones finish): those never started are pending still.
        let ran = pending.filter { folder.isDone($0) }.count
        let notStarted = pending.count - ran - failed.count
        var text = "ran \(ran) of \(pending.count) \(args.has(SweepArguments.retryFailed) ? "failed" : "pending") task\(pending.count == 1 ? "" : "s") in \(Format.seconds(wall)) on \(min(jobs, pending.count)) process\(min(jobs, pending.count) == 1 ? "" : "es")"
        if taskSeconds > 0 { text += String(format: " (the tasks' own time: %@, %.2f× of it)", Format.seconds(taskSeconds), wall / taskSeconds) }
        for task in failed { text += "\ntask \(task) failed — its log: \(folder.logPath(task))" }
        if notStarted > 0 {
            text += "\ninterrupted: \(notStarted) task\(notStarted == 1 ? " was" : "s were") not started — 'sweep run \(name) --engine local' runs \(notStarted == 1 ? "it" : "them")"
        }
        return CommandOutput(fields: [("engine", .string("local")), ("submitted", .int(pending.count)), ("job_id", .null),
                                      ("failed", .array(failed.map(JSON.int))), ("not_started", .int(notStarted)),
                                      ("seconds", .number(wall)), ("task_seconds", .number(taskSeconds))],
                             text: text)
    }

    static func progressBar(done: Int, of total: Int, unicode: Bool) -> String {
        let filled = total == 0 ? 0 : done * 30 / total
        return "[" + String(repeating: unicode ? "█" : "#", count: filled) + String(repeating: unicode ? "░" : "-", count: 30 - filled) + "]"
    }

    /// `sweep cancel NAME`: scancel on the sweep's recorded jobs still in Slurm's queue, which are forgotten.
    static func cancelSweep(_ shell: ShellContext, name: String) throws -> CommandOutput {
        let folder = try sweepFolder(shell, name: name)
        let manifest = try folder.manifest()
        let (jobs, tasks) = try SlurmSweepEngine.cancel(folder: folder, manifest: manifest, client: SlurmClient(environment: shell.environment))
        guard !jobs.isEmpty else {
            return CommandOutput(fields: [("cancelled", .array([])), ("tasks", .array([]))],
                                 text: "nothing to cancel: no Slurm job of sweep \(name) is queued or running")
        }
        return CommandOutput(fields: [("cancelled", .array(jobs.map(JSON.string))), ("tasks", .array(tasks.map(JSON.int)))],
                             text: "cancelled Slurm job\(jobs.count == 1 ? "" : "s") \(jobs.joined(separator: ", ")): \(tasks.count) unfinished task\(tasks.count == 1 ? " is" : "s are") pending again ('sweep run \(name)' runs \(tasks.count == 1 ? "it" : "them"))")
    }
}
