import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A Slurm time limit as `sbatch --time` reads it: `MINUTES`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`,
/// `D-HH:MM:SS`, or `UNLIMITED`/`INFINITE`. Kept as typed (the script passes it on); `minutes` is what it means.
public struct SlurmTimeLimit: Sendable, Equatable {
    public let text: String
    /// nil for no limit.
    public let minutes: Double?

    public static let expected = "a Slurm time limit: MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (such as 30, 2:00:00 or 1-12)"

    /// nil when `text` is none of Slurm's forms (a part that is not a whole number, minutes or seconds past 59 after
    /// the first field, hours past 23 after a day).
    public static func parse(_ text: String) -> SlurmTimeLimit? {
        if ["unlimited", "infinite"].contains(text.lowercased()) { return SlurmTimeLimit(text: text, minutes: nil) }
        func whole(_ part: Substring, below limit: Int? = nil) -> Int? {
            guard !part.isEmpty, part.count <= 9, part.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(part) else { return nil }
            if let limit, value >= limit { return nil }
            return value
        }
        let dash = text.split(separator: "-", omittingEmptySubsequences: false)
        if dash.count == 2 {
            guard let days = whole(dash[0]) else { return nil }
            let rest = dash[1].split(separator: ":", omittingEmptySubsequences: false)
            guard (1...3).contains(rest.count), let hours = whole(rest[0], below: 24) else { return nil }
            let minutes = rest.count > 1 ? whole(rest[1], below: 60) : 0
            let seconds = rest.count > 2 ? whole(rest[2], below: 60) : 0
            guard let minutes, let seconds else { return nil }
            return SlurmTimeLimit(text: text, minutes: Double(days * 1440 + hours * 60 + minutes) + Double(seconds) / 60)
        }
        guard dash.count == 1 else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return whole(parts[0]).map { SlurmTimeLimit(text: text, minutes: Double($0)) }
        case 2:
            guard let minutes = whole(parts[0]), let seconds = whole(parts[1], below: 60) else { return nil }
            return SlurmTimeLimit(text: text, minutes: Double(minutes) + Double(seconds) / 60)
        case 3:
            guard let hours = whole(parts[0]), let minutes = whole(parts[1], below: 60), let seconds = whole(parts[2], below: 60) else { return nil }
            return SlurmTimeLimit(text: text, minutes: Double(hours * 60 + minutes) + Double(seconds) / 60)
        default:
            return nil
        }
    }
}

/// How the job array of a sweep is asked for: everything `sweep run --engine slurm` puts in its script.
public struct SlurmSubmission: Sendable, Equatable {
    public var partition: String?
    public var time: SlurmTimeLimit?
    /// At most this many of the array's tasks at once (`%K`).
    public var maxParallel: Int?
    /// Further `sbatch` options, each one word (`--account=lab`, `--qos=low`), after the engine's own.
    public var extraArguments: [String] = []

    public init(partition: String? = nil, time: SlurmTimeLimit? = nil, maxParallel: Int? = nil, extraArguments: [String] = []) {
        self.partition = partition
        self.time = time
        self.maxParallel = maxParallel
        self.extraArguments = extraArguments
    }

    /// Options the engine sets itself: given again, the array, its logs or its job name (by which the engine
    /// finds it in the queue) would no longer be what the engine expects.
    public static let reserved = ["-a", "--array", "-o", "--output", "-e", "--error", "-J", "--job-name", "-D", "--chdir",
                           "--wrap", "--parsable"]

    /// The reserved option `argument` sets, if any (`--array=1-3` and `-a1-3` both set `--array`).
    public static func reservedOption(in argument: String) -> String? {
        reserved.first { option in
            argument == option || (option.hasPrefix("--") ? argument.hasPrefix(option + "=") : argument.hasPrefix(option))
        }
    }

    /// `0-3,7,9-12`: ascending task ids as Slurm's `--array` writes them (runs of consecutive ids as ranges).
    public static func compressed(_ tasks: [Int]) -> String {
        var parts: [String] = []
        var ids = Array(Set(tasks)).sorted()[...]
        while let first = ids.popFirst() {
            var last = first
            while ids.first == last + 1 { last = ids.removeFirst() }
            parts.append(first == last ? "\(first)" : "\(first)-\(last)")
        }
        return parts.joined(separator: ",")
    }

    /// The `--array` value: the ids, then `%K` when the parallelism is capped.
    public func arraySpec(_ tasks: [Int]) -> String {
        Self.compressed(tasks) + (maxParallel.map { "%\($0)" } ?? "")
    }

    public static func jobName(sweep: String) -> String { "lgc-sweep-" + sweep }

    /// The batch script: one array element runs `EXECUTABLE sweep task FOLDER $SLURM_ARRAY_TASK_ID` with its output
    /// in the task's log, which starts and ends with a stamp line (`SlurmLog`); a task that exits non-zero, or exits
    /// zero without its report, leaves the `.failed` marker beside its log (as the local engine does) and fails its
    /// element. `folder` and `executable` are absolute: an element runs on whichever node Slurm picks.
    public func script(sweep: String, folder: String, executable: String, tasks: [Int]) -> String {
        var directives = [
            "--job-name=" + Self.jobName(sweep: sweep),
            "--array=" + arraySpec(tasks),
            // Slurm expands %a; a '%' of the path itself is written %%.
            "--output=" + folder.replacingOccurrences(of: "%", with: "%%") + "/logs/task-%a.log",
            "--chdir=" + folder,
            "--cpus-per-task=1",
        ]
        if let partition { directives.append("--partition=" + partition) }
        if let time { directives.append("--time=" + time.text) }
        directives += extraArguments
        var lines = [
            "#!/bin/bash",
            "# lgc-shell sweep \(sweep): tasks \(Self.compressed(tasks)) as one Slurm job array, written by 'sweep run \(sweep) --engine slurm'.",
        ]
        lines += directives.map { "#SBATCH " + Self.directiveWord($0) }
        lines += [
            "folder=" + Self.shellQuoted(folder),
            "task=\"$SLURM_ARRAY_TASK_ID\"",
            "log=\"$folder/logs/task-$task.log\"",
            "rm -f \"$log.failed\"",
            "echo \"\(SlurmLog.startPrefix) $(date +%s.%N) task $task on $(hostname) in Slurm job ${SLURM_ARRAY_JOB_ID}_$task\"",
            Self.shellQuoted(executable) + " sweep task \"$folder\" \"$task\"",
            "status=$?",
            "if [ \"$status\" -eq 0 ] && [ ! -e \"$folder/reports/task-$task.json\" ]; then status=1; fi",
            "echo \"\(SlurmLog.endPrefix) $(date +%s.%N) task $task status $status\"",
            "if [ \"$status\" -ne 0 ]; then echo \"task $task ended with status $status\"; : > \"$log.failed\"; fi",
            "exit \"$status\"",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// A word for an `#SBATCH` line: sbatch splits those lines at blanks outside double quotes.
    public static func directiveWord(_ word: String) -> String {
        word.contains(where: \.isWhitespace) ? "\"" + word + "\"" : word
    }

    /// `'…'` for bash, a `'` inside written `'\''`.
    public static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The stamp lines a Slurm element writes at the top and bottom of its log (seconds since 1970, from the node's
/// clock): how long Slurm took to start the array, and when its last task ended. Reports stay as every engine
/// writes them; the times of the run live here.
public enum SlurmLog {
    public static let startPrefix = "lgc-sweep: started at"
    public static let endPrefix = "lgc-sweep: ended at"

    /// When task `task`'s last Slurm run started and ended, from its log; nil where the log has no such line.
    public static func stamps(_ folder: SweepFolder, task: Int) -> (start: Double?, end: Double?) {
        guard let data = FileManager.default.contents(atPath: folder.logPath(task)) else { return (nil, nil) }
        var start: Double?, end: Double?
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix(startPrefix) { start = Double(line.dropFirst(startPrefix.count).split(separator: " ").first ?? "") }
            if line.hasPrefix(endPrefix) { end = Double(line.dropFirst(endPrefix.count).split(separator: " ").first ?? "") }
        }
        return (start, end)
    }
}

/// The job arrays submitted for a sweep, kept in its folder (`slurm/jobs.json`, written whole and renamed), so
/// `status`, `run` and `cancel` in any later shell know which of Slurm's jobs are the sweep's.
public struct SlurmJobRecord: Codable, Equatable, Sendable {
    public var jobID: String
    public var tasks: [Int]
    /// When it was submitted, seconds since 1970.
    public var submittedAt: Double
    /// The batch script, relative to the sweep folder.
    public var script: String
    public var array: String

    public enum CodingKeys: String, CodingKey {
        case jobID = "job_id", tasks, submittedAt = "submitted_at", script, array
    }
}

extension SweepFolder {
    public var slurmPath: String { path + "/slurm" }
    public var slurmJobsPath: String { slurmPath + "/jobs.json" }

    /// The job arrays recorded for this sweep, oldest first (none when it never went to Slurm).
    public func slurmJobs() throws -> [SlurmJobRecord] {
        guard let data = FileManager.default.contents(atPath: slurmJobsPath) else { return [] }
        do {
            return try JSONDecoder().decode([SlurmJobRecord].self, from: data)
        } catch {
            throw SweepError.unreadable(path: slurmJobsPath, reason: "not the job list lgc-shell writes")
        }
    }

    public func writeSlurmJobs(_ jobs: [SlurmJobRecord]) throws {
        try FileManager.default.createDirectory(atPath: slurmPath, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        _ = try AtomicFile.write(try encoder.encode(jobs), to: slurmJobsPath)
    }
}

/// Slurm's client commands (`sbatch`, `squeue`, `scancel`), found through the shell's PATH and run with its
/// environment. Whether the controller answers is decided from exit statuses, never from what the commands print.
public struct SlurmClient {
    public let environment: [String: String]
    /// How long one command may take before the controller counts as not answering.
    public var timeout: TimeInterval = 120

    /// The process environment with the shell's own (when it has one) over it.
    public init(environment shellEnvironment: [String: String]) {
        environment = ProcessInfo.processInfo.environment.merging(shellEnvironment) { $1 }
    }

    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// `command`'s path on PATH.
    public func locate(_ command: String) throws -> String {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + command
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw SweepError.slurmCommandMissing(command)
    }

    /// Runs `command` to its end (its output in temporary files, so neither stream can block it). A command past
    /// `timeout` is ended and reads as status -1.
    public func run(_ command: String, _ arguments: [String]) throws -> Result {
        let executable = try locate(command)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-slurm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outPath = scratch.appendingPathComponent("out").path, errPath = scratch.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            throw SweepError.slurmUnreachable(command: command, status: -1)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        do {
            try process.run()
        } catch {
            throw SweepError.slurmCommandMissing(command)
        }
        var status = Int32(-1)
        if ended.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = ended.wait(timeout: .now() + 5)
        } else {
            status = process.terminationReason == .exit ? process.terminationStatus : -1
        }
        try? out.close()
        try? err.close()
        let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return Result(status: status, stdout: read(outPath), stderr: read(errPath))
    }

    /// Whether the controller answers: a cheap `squeue` that lists only this sweep's job ids.
    public func answers(jobName: String) -> Bool {
        (try? run("squeue", ["-h", "-o", "%i", "--name=" + jobName]))?.status == 0
    }

    /// What is in the queue of the job arrays named `jobName`: array job id → task id → state. An element that has
    /// ended is not there.
    public func queue(jobName: String) throws -> [String: [Int: SlurmElementState]] {
        let result = try run("squeue", ["-h", "-r", "--name=" + jobName, "-o", "%F %K %t"])
        guard result.status == 0 else { throw SweepError.slurmUnreachable(command: "squeue", status: result.status) }
        var jobs: [String: [Int: SlurmElementState]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let task = Int(fields[1]) else { continue }
            guard let state = SlurmElementState(code: String(fields[2])) else { continue }
            jobs[String(fields[0]), default: [:]][task] = state
        }
        return jobs
    }

    /// Submits `script`; returns the job id. The controller is asked first (a cheap squeue: a controller that is
    /// down fails it as it would fail sbatch, after the same retries); a refusal then says why (sbatch's first
    /// error line).
    public func submit(script: String, jobName: String) throws -> String {
        let probe = try run("squeue", ["-h", "-o", "%i", "--name=" + jobName])
        guard probe.status == 0 else { throw SweepError.slurmUnreachable(command: "squeue", status: probe.status) }
        let result = try run("sbatch", ["--parsable", script])
        // `--parsable` prints `ID` or `ID;CLUSTER`.
        let id = result.stdout.split(whereSeparator: \.isNewline).last.map { String($0.split(separator: ";").first ?? "") } ?? ""
        if result.status == 0, !id.isEmpty, id.allSatisfy({ $0.isASCII && $0.isNumber }) { return id }
        // Down since the probe (or sbatch said nothing it could be asked about): ask again.
        guard result.status != 0, answers(jobName: jobName) else {
            throw SweepError.slurmUnreachable(command: "sbatch", status: result.status)
        }
        let reason = result.stderr.split(whereSeparator: \.isNewline).first.map(String.init) ?? "exit status \(result.status)"
        throw SweepError.slurmRefused(reason: reason, script: script)
    }

    public func cancel(jobs: [String]) throws {
        let result = try run("scancel", jobs)
        guard result.status == 0 else { throw SweepError.slurmUnreachable(command: "scancel", status: result.status) }
    }
}

/// Where a queued array element stands, from squeue's compact state codes.
public enum SlurmElementState: Equatable, Sendable {
    /// Waiting to start (pending, configuring, requeued, held, suspended).
    case queued
    /// Running or completing.
    case running

    /// nil for the codes of an element that has ended (completed, failed, cancelled, timed out…).
    public init?(code: String) {
        switch code {
        case "R", "CG", "SO", "SI", "ST": self = .running
        case "PD", "CF", "RQ", "RH", "RF", "RS", "S", "RD": self = .queued
        default: return nil
        }
    }
}

/// Where every task of a sweep stands, from its report and log files and, when it has recorded job arrays, from
/// Slurm's queue (asked first, so a task that ends meanwhile reads as done, never as lost).
public struct SweepCensus {
    /// Whether Slurm was asked, and what came of it.
    public enum SlurmAnswer: Equatable {
        /// No job array is recorded for the sweep: nothing to ask.
        case notAsked
        case answered
        /// The files alone say where the tasks stand: queued and running ones cannot be told apart from the rest.
        case unreachable(SweepError)
    }

    public var tasks: Int
    public var done: [Int] = []
    /// Waiting in Slurm's queue.
    public var queued: [Int] = []
    public var running: [Int] = []
    /// A failure marker beside the log, or (Slurm answering) not done, out of the queue, its recorded job ended.
    public var failed: [Int] = []
    /// Never run, or forgotten by `sweep cancel`.
    public var notStarted: [Int] = []
    public var slurm: SlurmAnswer = .notAsked
    /// The recorded job arrays with an element still queued or running.
    public var liveJobs: [String] = []

    /// The job `SlurmJobRecord` a task was last submitted in, by task.
    public static func owners(_ records: [SlurmJobRecord]) -> [Int: String] {
        var owner: [Int: String] = [:]
        for record in records { for task in record.tasks { owner[task] = record.jobID } }
        return owner
    }

    public static func take(_ folder: SweepFolder, manifest: SweepManifest, client: SlurmClient) throws -> SweepCensus {
        let records = try folder.slurmJobs()
        var census = SweepCensus(tasks: manifest.tasks.count)
        var states: [Int: SlurmElementState] = [:]
        let owner = owners(records)
        if !records.isEmpty {
            do {
                let queue = try client.queue(jobName: SlurmSubmission.jobName(sweep: manifest.name))
                let recorded = Set(records.map(\.jobID))
                for (job, elements) in queue where recorded.contains(job) {
                    census.liveJobs.append(job)
                    for (task, state) in elements where owner[task] == job { states[task] = state }
                }
                census.liveJobs.sort { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
                census.slurm = .answered
            } catch let error as SweepError {
                census.slurm = .unreachable(error)
            }
        }
        for task in manifest.tasks.map(\.id) {
            if folder.isDone(task) {
                census.done.append(task)
            } else if let state = states[task] {
                if state == .running { census.running.append(task) } else { census.queued.append(task) }
            } else if SweepReports.failed(folder, task: task) || (census.slurm == .answered && owner[task] != nil) {
                census.failed.append(task)
            } else {
                census.notStarted.append(task)
            }
        }
        return census
    }

    /// Tasks to run now: every one neither done nor in Slurm's queue, or with `retryFailed` only the failed ones.
    public func runnable(retryFailed: Bool) -> [Int] {
        retryFailed ? failed : (failed + notStarted).sorted()
    }
}

/// `sweep run --engine slurm`: one job array for the tasks to run, recorded in the sweep's folder.
public enum SlurmSweepEngine {
    /// Writes the batch script (`slurm/submit-N.sbatch`), submits it and records the job; returns the record.
    public static func submit(_ tasks: [Int], folder: SweepFolder, manifest: SweepManifest, settings: SlurmSubmission,
                       executable: String, client: SlurmClient) throws -> SlurmJobRecord {
        precondition(!tasks.isEmpty, "a job array needs a task")
        _ = try client.locate("sbatch")
        _ = try client.locate("squeue")
        let manager = FileManager.default
        try manager.createDirectory(atPath: folder.slurmPath, withIntermediateDirectories: true)
        let numbers = ((try? manager.contentsOfDirectory(atPath: folder.slurmPath)) ?? []).compactMap { name -> Int? in
            guard name.hasPrefix("submit-"), name.hasSuffix(".sbatch") else { return nil }
            return Int(name.dropFirst("submit-".count).dropLast(".sbatch".count))
        }
        let relative = "slurm/submit-\((numbers.max() ?? 0) + 1).sbatch"
        let scriptPath = folder.path + "/" + relative
        let text = settings.script(sweep: manifest.name, folder: folder.path, executable: executable, tasks: tasks)
        _ = try AtomicFile.write(Data(text.utf8), to: scriptPath)
        // An earlier failure's marker would make a queued task read as failed while Slurm cannot be asked.
        for task in tasks { try? manager.removeItem(atPath: folder.logPath(task) + ".failed") }
        let submittedAt = Date().timeIntervalSince1970
        let id = try client.submit(script: scriptPath, jobName: SlurmSubmission.jobName(sweep: manifest.name))
        let record = SlurmJobRecord(jobID: id, tasks: tasks.sorted(), submittedAt: submittedAt, script: relative,
                                    array: settings.arraySpec(tasks))
        try folder.writeSlurmJobs(try folder.slurmJobs() + [record])
        return record
    }

    /// Polls until no element of `job` is queued or running; false when `isCancelled` stopped the wait first (the
    /// job goes on). `progress` sees each census. Polls often at first, then every few seconds, to spare the
    /// controller on a long run.
    public static func wait(for job: SlurmJobRecord, folder: SweepFolder, manifest: SweepManifest, client: SlurmClient,
                     isCancelled: () -> Bool, progress: (SweepCensus) -> Void) throws -> Bool {
        let started = ContinuousClock.now
        while true {
            let census = try SweepCensus.take(folder, manifest: manifest, client: client)
            if case .unreachable(let error) = census.slurm { throw error }
            progress(census)
            if !census.liveJobs.contains(job.jobID) { return true }
            let waited = Stopwatch.seconds(since: started)
            let interval = waited < 30 ? 0.25 : waited < 300 ? 1.0 : 5.0
            let until = ContinuousClock.now + .milliseconds(Int(interval * 1000))
            while ContinuousClock.now < until {
                if isCancelled() { return false }
                Thread.sleep(forTimeInterval: 0.05)
            }
            if isCancelled() { return false }
        }
    }

    /// What a finished array took: the wall time from submission to its last task's end, and Slurm's scheduling
    /// delay from submission to its first task's start (both from the stamps in the logs; nil where none is there).
    public static func timing(of job: SlurmJobRecord, folder: SweepFolder) -> (wall: Double?, delay: Double?) {
        let stamps = job.tasks.map { SlurmLog.stamps(folder, task: $0) }
        let starts = stamps.compactMap(\.start), ends = stamps.compactMap(\.end)
        return (ends.max().map { $0 - job.submittedAt }, starts.min().map { max(0, $0 - job.submittedAt) })
    }

    /// `sweep cancel`: `scancel` on the recorded arrays still in the queue, which are then forgotten; their tasks
    /// that were queued or running read as not started again (once out of the queue, a marker the cancelled script
    /// left is removed). Returns the jobs cancelled (none when nothing was live).
    public static func cancel(folder: SweepFolder, manifest: SweepManifest, client: SlurmClient) throws -> (jobs: [String], tasks: [Int]) {
        let records = try folder.slurmJobs()
        guard !records.isEmpty else { return ([], []) }
        let census = try SweepCensus.take(folder, manifest: manifest, client: client)
        if case .unreachable(let error) = census.slurm { throw error }
        guard !census.liveJobs.isEmpty else { return ([], []) }
        try client.cancel(jobs: census.liveJobs)
        let stopped = (census.queued + census.running).sorted()
        // Out of the queue before the markers go: a script being killed may still write one.
        let jobName = SlurmSubmission.jobName(sweep: manifest.name)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline,
              let queue = try? client.queue(jobName: jobName), census.liveJobs.contains(where: { queue[$0] != nil }) {
            Thread.sleep(forTimeInterval: 0.2)
        }
        for task in stopped where !folder.isDone(task) { try? FileManager.default.removeItem(atPath: folder.logPath(task) + ".failed") }
        // Forgotten: the cancelled arrays, and their tasks in earlier ones (else an earlier run's end would make
        // them read as failed).
        let live = Set(census.liveJobs)
        let forgotten = Set(records.filter { live.contains($0.jobID) }.flatMap(\.tasks))
        let kept = records.filter { !live.contains($0.jobID) }.compactMap { record -> SlurmJobRecord? in
            var record = record
            record.tasks.removeAll { forgotten.contains($0) }
            return record.tasks.isEmpty ? nil : record
        }
        try folder.writeSlurmJobs(kept)
        return (census.liveJobs, stopped)
    }

    /// An absolute path: a node starts the binary and reads the folder from wherever Slurm runs it.
    public static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        guard !expanded.hasPrefix("/") else { return (expanded as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath + "/" + expanded) as NSString).standardizingPath
    }
}
