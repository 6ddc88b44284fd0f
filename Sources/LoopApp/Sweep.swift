import FeedbackLoop
import Foundation
import MarketData
import SessionStore

/// A sweep: a grid of walk-forward replays declared once and run anywhere — the machine's cores, or a Slurm job
/// array — each task in its own process. Its folder holds everything a task needs, so a task on another machine
/// needs only the folder and the `lgc-shell` binary:
///
/// - `manifest.json` — the settings of every task, the data fingerprint of every series, the program version, and
///   a SHA-256 over all of it (a folder edited by hand or written by another version is refused);
/// - `data/N.json` — each asset's bars, exported from the session;
/// - `reports/task-N.json` — each finished task's report, written to a temporary name and renamed (a killed task
///   leaves none; a task whose report exists is never run again).
public struct SweepManifest: Codable, Equatable {
    public static let formatName = "lgc-sweep"
    public static let formatVersion = 2
    /// The most tasks one sweep declares; a larger grid is split into several sweeps.
    public static let maxTasks = 10_000

    public struct Axis: Codable, Equatable {
        public var key: String
        public var values: [String]

        public init(key: String, values: [String]) {
            self.key = key
            self.values = values
        }
    }

    public struct Asset: Codable, Equatable {
        public var symbol: String
        /// Relative to the sweep folder.
        public var file: String
        /// SHA-256 of the bars' times and prices (`Commands.dataFingerprint`).
        public var fingerprint: String
        public var rows: Int

        public init(symbol: String, file: String, fingerprint: String, rows: Int) {
            self.symbol = symbol
            self.file = file
            self.fingerprint = fingerprint
            self.rows = rows
        }
    }

    public struct Task: Codable, Equatable {
        public var id: Int
        /// Index into `assets`.
        public var asset: Int
        /// One value per axis, in axis order.
        public var values: [String]
        /// Which of the consecutive windows it replays, 0 the earliest.
        public var window: Int = 0
        /// Added to the base settings' XGBoost and LSTM seeds: repeats of one point that differ only in their
        /// random draws, so the spread between seeds shows how much of a difference is training noise.
        public var seed: Int = 0

        public init(id: Int, asset: Int, values: [String], window: Int = 0, seed: Int = 0) {
            self.id = id
            self.asset = asset
            self.values = values
            self.window = window
            self.seed = seed
        }
    }

    /// Walk-forward selection: each task replays `selectDays + evaluateDays`; the best point is chosen on the
    /// steps of the first `selectDays` only and reported, beside the default, on the last `evaluateDays` only.
    public struct Selection: Codable, Equatable {
        public var selectDays: Double
        public var evaluateDays: Double

        public init(selectDays: Double, evaluateDays: Double) {
            self.selectDays = selectDays
            self.evaluateDays = evaluateDays
        }
    }

    public var format = formatName
    public var version = formatVersion
    /// The lgc-shell version that wrote it: a task run by another version is refused (its reports could differ).
    public var program = Program.version
    public var name: String
    /// Each window's span in calendar days; the windows are consecutive and the last ends at each asset's last bar.
    public var days: Double
    /// Consecutive windows each point is replayed on, as separate tasks (a long span split to run in parallel;
    /// each window's replay starts by training on everything before it).
    public var windows: Int = 1
    /// Repeats of every point with different seeds.
    public var seeds: Int = 1
    public var selection: Selection? = nil
    public var tiers: [Int]
    public var axes: [Axis]
    /// The base settings' value of each axis: the point `selection` reports the chosen one against.
    public var defaultValues: [String] = []
    /// The session's settings every task starts from (the axes then set their own values).
    public var config: LoopConfig
    public var assets: [Asset]
    public var tasks: [Task]

    public init(name: String, days: Double, windows: Int = 1, seeds: Int = 1, selection: Selection? = nil, tiers: [Int],
                axes: [Axis], defaultValues: [String] = [], config: LoopConfig, assets: [Asset], tasks: [Task]) {
        self.name = name
        self.days = days
        self.windows = windows
        self.seeds = seeds
        self.selection = selection
        self.tiers = tiers
        self.axes = axes
        self.defaultValues = defaultValues
        self.config = config
        self.assets = assets
        self.tasks = tasks
    }

    /// The settings task `task` replays with: the base, its grid values set like `set`, XGBoost on one thread (tasks
    /// run side by side, one per core, and one thread count gives the same fits on every engine).
    public func configuration(for task: Task) throws -> LoopConfig {
        var configuration = config.forReplay
        try configuration.set("xgboost.threads", to: "1")
        for (axis, value) in zip(axes, task.values) { try configuration.set(axis.key, to: value) }
        if task.seed != 0 {
            // Wrapping within the seeds' range, so a base seed near the top still gives distinct valid seeds.
            configuration.xgboost.seed = (configuration.xgboost.seed + task.seed) % 2_147_483_648
            configuration.lstm.seed = (configuration.lstm.seed + UInt64(task.seed)) % 2_147_483_648
        }
        return configuration
    }

    /// The bars of the task's window: `through` its last bar, replayed `from` its first (each asset's own bars).
    public func window(of task: Task, in series: PriceSeries) throws -> (from: Int, through: Int) {
        let span = selection.map { $0.selectDays + $0.evaluateDays } ?? days
        let end = series.bars[series.count - 1].time - Double(windows - 1 - task.window) * span * 86_400
        guard let through = series.bars.lastIndex(where: { $0.time <= end }) else { throw ReplayError.tooFewBars }
        let cutoff = series.bars[through].time - span * 86_400
        guard let from = series.bars.firstIndex(where: { $0.time > cutoff }), from > 0, from < through else {
            throw ReplayError.tooFewBars
        }
        return (from, through)
    }

    /// The first bar time of the evaluation span, for an asset's bars (steps before it are the selection's).
    public func evaluationStart(in series: PriceSeries) -> TimeInterval? {
        guard let selection else { return nil }
        let split = series.bars[series.count - 1].time - selection.evaluateDays * 86_400
        return series.bars.first { $0.time > split }?.time
    }

    /// Whether the task's values are the base settings' (`defaultValues`).
    public func isDefault(_ task: Task) -> Bool { task.values == defaultValues }

    /// Task `task`'s grid point, KEY → value.
    public func grid(of task: Task) -> [(String, String)] { zip(axes.map(\.key), task.values).map { ($0, $1) } }
}

/// Why a sweep folder or task cannot be used; the shell words the advice.
public enum SweepError: Error, Equatable, CustomStringConvertible {
    case noSuchSweep(name: String, folder: String)
    case exists(name: String)
    /// The manifest's checksum does not match its content: edited by hand, or damaged.
    case edited(path: String)
    case otherVersion(path: String, program: String, format: Int)
    case unreadable(path: String, reason: String)
    case noTask(Int, tasks: Int)
    /// An asset's data file no longer matches the fingerprint recorded in the manifest.
    case dataChanged(symbol: String, path: String)
    /// The session's bars of `symbol` are not those the sweep was declared on (collecting would mix them).
    case sessionDataChanged(symbol: String)
    case tooManyTasks(Int, limit: Int)
    case noTasks
    case invalidName(String)
    /// A Slurm client command (`sbatch`, `squeue`, `scancel`) is not on PATH.
    case slurmCommandMissing(String)
    /// Slurm's controller did not answer: `command` exited with `status` (-1: it did not end in time).
    case slurmUnreachable(command: String, status: Int32)
    /// The controller answers but `sbatch` refused the job array: its first error line, and the script.
    case slurmRefused(reason: String, script: String)

    public var description: String {
        switch self {
        case .noSuchSweep(let name, let folder): return "no sweep '\(name)' in \(folder)"
        case .exists(let name): return "a sweep '\(name)' exists already"
        case .edited(let path): return "\(path) was changed after it was written (its checksum does not match)"
        case .otherVersion(let path, let program, let format):
            return "\(path) was written by lgc-shell \(program) (sweep format \(format)); this is \(Program.version) (format \(SweepManifest.formatVersion))"
        case .unreadable(let path, let reason): return "\(path) is not a sweep manifest (\(reason))"
        case .noTask(let task, let tasks): return "the sweep has no task \(task) (tasks 0…\(tasks - 1))"
        case .dataChanged(let symbol, let path): return "\(path) no longer holds the \(symbol) bars the sweep was declared on"
        case .sessionDataChanged(let symbol): return "the session no longer holds the \(symbol) bars the sweep was declared on"
        case .tooManyTasks(let count, let limit): return "the grid makes \(count) tasks; a sweep holds at most \(limit)"
        case .noTasks: return "the grid makes no tasks"
        case .invalidName(let name): return "invalid sweep name '\(name)': use letters, digits, '-', '_' and '.'"
        case .slurmCommandMissing(let command):
            return "'\(command)' is not on PATH: Slurm's client commands are needed — install and start the bundled single-node cluster with 'bash scripts/slurm-local.sh start', put your cluster's on PATH, or use --engine local"
        case .slurmUnreachable(let command, let status):
            let how = status < 0 ? "'\(command)' did not finish in time" : "'\(command)' exited with status \(status)"
            return "Slurm's controller does not answer (\(how)): start the bundled single-node cluster with 'bash scripts/slurm-local.sh start' (or check your cluster)"
        case .slurmRefused(let reason, let script):
            return "sbatch refused the job array: \(reason) — check --partition, --time and --sbatch-arg (the script: \(script))"
        }
    }
}

/// A sweep's folder on disk: the manifest, the data, the reports.
public struct SweepFolder: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var manifestPath: String { path + "/manifest.json" }
    public func reportPath(_ task: Int) -> String { path + "/reports/task-\(task).json" }
    public func logPath(_ task: Int) -> String { path + "/logs/task-\(task).log" }

    /// The file written: the manifest and its checksum, keys sorted, so its bytes depend only on its content.
    private struct Sealed: Codable {
        var checksum: String
        var manifest: SweepManifest
    }

    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }

    public static func checksum(_ manifest: SweepManifest) throws -> String {
        SHA256.hex(try encoder().encode(manifest))
    }

    /// Writes the manifest and every asset's bars; the folder must not exist yet.
    public static func create(at path: String, manifest: SweepManifest, series: [PriceSeries]) throws -> SweepFolder {
        let manager = FileManager.default
        guard !manager.fileExists(atPath: path) else {
            throw SweepError.exists(name: (path as NSString).lastPathComponent)
        }
        try manager.createDirectory(atPath: path + "/data", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: path + "/reports", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: path + "/logs", withIntermediateDirectories: true)
        let folder = SweepFolder(path: path)
        for (asset, bars) in zip(manifest.assets, series) {
            _ = try AtomicFile.write(try JSONEncoder().encode(bars), to: path + "/" + asset.file)
        }
        let sealed = Sealed(checksum: try checksum(manifest), manifest: manifest)
        _ = try AtomicFile.write(try encoder().encode(sealed), to: folder.manifestPath)
        return folder
    }

    /// The manifest, refused when edited, damaged or written by another version.
    public func manifest() throws -> SweepManifest {
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw SweepError.noSuchSweep(name: (path as NSString).lastPathComponent, folder: (path as NSString).deletingLastPathComponent)
        }
        let sealed: Sealed
        do {
            sealed = try JSONDecoder().decode(Sealed.self, from: data)
        } catch {
            throw SweepError.unreadable(path: manifestPath, reason: "not the JSON lgc-shell writes")
        }
        let manifest = sealed.manifest
        guard manifest.format == SweepManifest.formatName, manifest.version == SweepManifest.formatVersion,
              manifest.program == Program.version else {
            throw SweepError.otherVersion(path: manifestPath, program: manifest.program, format: manifest.version)
        }
        guard try Self.checksum(manifest) == sealed.checksum else { throw SweepError.edited(path: manifestPath) }
        return manifest
    }

    /// An asset's bars, checked against the manifest's fingerprint.
    public func series(_ asset: SweepManifest.Asset) throws -> PriceSeries {
        let file = path + "/" + asset.file
        guard let data = FileManager.default.contents(atPath: file),
              let series = try? JSONDecoder().decode(PriceSeries.self, from: data), series.count > 0,
              DataFingerprint.of(series, through: series.count - 1) == asset.fingerprint else {
            throw SweepError.dataChanged(symbol: asset.symbol, path: file)
        }
        return series
    }

    /// Whether task `task` has its report.
    public func isDone(_ task: Int) -> Bool { FileManager.default.fileExists(atPath: reportPath(task)) }
}

/// What the report and log files of a sweep say.
public enum SweepReports {
    /// A finished task's report: its object, its scored steps and its text (read once), nil when it is not there
    /// or not readable.
    public static func read(_ folder: SweepFolder, task: Int) -> (object: [String: Any], steps: [ScoredStep], text: String)? {
        guard let data = FileManager.default.contents(atPath: folder.reportPath(task)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let rows = object["scored_steps"] as? [[Any]] else { return nil }
        var steps: [ScoredStep] = []
        for row in rows {
            guard row.count == 5, let time = row[0] as? Double, let signal = (row[1] as? String).flatMap(Signal.init(rawValue:)),
                  let outcome = (row[4] as? String).flatMap(Signal.init(rawValue:)),
                  let step = try? ScoredStep(signal: signal, probabilityUp: row[2] as? Double, realisedReturn: row[3] as? Double,
                                             outcome: outcome, barTime: time) else { return nil }
            steps.append(step)
        }
        return (object, steps, String(decoding: data, as: UTF8.self))
    }

    /// The task's own run time, from its report.
    public static func seconds(_ folder: SweepFolder, task: Int) -> Double? {
        guard let data = FileManager.default.contents(atPath: folder.reportPath(task)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["seconds"] as? Double
    }

    /// Whether the task's last run failed (its log ends with the failure line the engine writes).
    public static func failed(_ folder: SweepFolder, task: Int) -> Bool {
        FileManager.default.fileExists(atPath: folder.logPath(task) + ".failed")
    }
}

/// Runs a sweep's tasks as child processes of this machine, `jobs` at a time, each with its output in its log.
public struct LocalSweepEngine: Sendable {
    public let folder: SweepFolder
    public let executable: String

    public init(folder: SweepFolder, executable: String) {
        self.folder = folder
        self.executable = executable
    }

    /// The tasks still to start and those that failed, shared by the runner threads.
    private final class Work: @unchecked Sendable {
        // @unchecked: every field is touched under `lock` only.
        private let lock = NSLock()
        private var queue: ArraySlice<Int>
        private var failures: [Int] = []
        private var stopped = false
        init(_ tasks: [Int]) { queue = tasks[...] }
        func next() -> Int? { lock.withLock { stopped ? nil : queue.popFirst() } }
        func fail(_ task: Int) { lock.withLock { failures.append(task) } }
        func stop() { lock.withLock { stopped = true } }
        var failed: [Int] { lock.withLock { failures.sorted() } }
    }

    /// Returns the tasks that failed (their logs say why). `isCancelled` (Ctrl-C) is polled on the calling thread:
    /// no new task starts after it, the running ones finish.
    public func run(_ tasks: [Int], jobs: Int, isCancelled: () -> Bool) throws -> [Int] {
        let work = Work(tasks)
        let group = DispatchGroup()
        let engine = self
        for _ in 0..<max(1, min(jobs, tasks.count)) {
            DispatchQueue.global().async(group: group) {
                while let task = work.next() {
                    if !engine.runOne(task) { work.fail(task) }
                }
            }
        }
        while group.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if isCancelled() { work.stop() }
        }
        return work.failed
    }

    /// One task in its own process; false when it failed.
    private func runOne(_ task: Int) -> Bool {
        let log = folder.logPath(task)
        let marker = log + ".failed"
        try? FileManager.default.removeItem(atPath: marker)
        FileManager.default.createFile(atPath: log, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: log) else { return false }
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["sweep", "task", folder.path, String(task)]
        process.standardOutput = handle
        process.standardError = handle
        do {
            try process.run()
        } catch {
            handle.write(Data("could not start \(executable): \(error)\n".utf8))
            FileManager.default.createFile(atPath: marker, contents: nil)
            return false
        }
        process.waitUntilExit()
        let ok = process.terminationReason == .exit && process.terminationStatus == 0 && folder.isDone(task)
        if !ok {
            handle.write(Data("task \(task) ended with status \(process.terminationStatus)\n".utf8))
            FileManager.default.createFile(atPath: marker, contents: nil)
        }
        return ok
    }
}
