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
struct SweepManifest: Codable, Equatable {
    static let formatName = "lgc-sweep"
    static let formatVersion = 2
    /// The most tasks one sweep declares; a larger grid is split into several sweeps.
    static let maxTasks = 10_000

    struct Axis: Codable, Equatable {
        var key: String
        var values: [String]
    }

    struct Asset: Codable, Equatable {
        var symbol: String
        /// Relative to the sweep folder.
        var file: String
        /// SHA-256 of the bars' times and prices (`Commands.dataFingerprint`).
        var fingerprint: String
        var rows: Int
    }

    struct Task: Codable, Equatable {
        var id: Int
        /// Index into `assets`.
        var asset: Int
        /// One value per axis, in axis order.
        var values: [String]
        /// Which of the consecutive windows it replays, 0 the earliest.
        var window: Int = 0
        /// Added to the base settings' XGBoost and LSTM seeds: repeats of one point that differ only in their
        /// random draws, so the spread between seeds shows how much of a difference is training noise.
        var seed: Int = 0
    }

    /// Walk-forward selection: each task replays `selectDays + evaluateDays`; the best point is chosen on the
    /// steps of the first `selectDays` only and reported, beside the default, on the last `evaluateDays` only.
    struct Selection: Codable, Equatable {
        var selectDays: Double
        var evaluateDays: Double
    }

    var format = formatName
    var version = formatVersion
    /// The lgc-shell version that wrote it: a task run by another version is refused (its reports could differ).
    var program = ShellMain.version
    var name: String
    /// Each window's span in calendar days; the windows are consecutive and the last ends at each asset's last bar.
    var days: Double
    /// Consecutive windows each point is replayed on, as separate tasks (a long span split to run in parallel;
    /// each window's replay starts by training on everything before it).
    var windows: Int = 1
    /// Repeats of every point with different seeds.
    var seeds: Int = 1
    var selection: Selection? = nil
    var tiers: [Int]
    var axes: [Axis]
    /// The base settings' value of each axis: the point `selection` reports the chosen one against.
    var defaultValues: [String] = []
    /// The session's settings every task starts from (the axes then set their own values).
    var config: LoopConfig
    var assets: [Asset]
    var tasks: [Task]

    /// The settings task `task` replays with: the base, its grid values set like `set`, XGBoost on one thread (tasks
    /// run side by side, one per core, and one thread count gives the same fits on every engine).
    func configuration(for task: Task) throws -> LoopConfig {
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
    func window(of task: Task, in series: PriceSeries) throws -> (from: Int, through: Int) {
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
    func evaluationStart(in series: PriceSeries) -> TimeInterval? {
        guard let selection else { return nil }
        let split = series.bars[series.count - 1].time - selection.evaluateDays * 86_400
        return series.bars.first { $0.time > split }?.time
    }

    /// Whether the task's values are the base settings' (`defaultValues`).
    func isDefault(_ task: Task) -> Bool { task.values == defaultValues }

    /// Task `task`'s grid point, KEY → value.
    func grid(of task: Task) -> [(String, String)] { zip(axes.map(\.key), task.values).map { ($0, $1) } }
}

/// Why a sweep folder or task cannot be used; the shell words the advice.
enum SweepError: Error, Equatable, CustomStringConvertible {
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

    var description: String {
        switch self {
        case .noSuchSweep(let name, let folder): return "no sweep '\(name)' in \(folder)"
        case .exists(let name): return "a sweep '\(name)' exists already"
        case .edited(let path): return "\(path) was changed after it was written (its checksum does not match)"
        case .otherVersion(let path, let program, let format):
            return "\(path) was written by lgc-shell \(program) (sweep format \(format)); this is \(ShellMain.version) (format \(SweepManifest.formatVersion))"
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
struct SweepFolder {
    let path: String

    var manifestPath: String { path + "/manifest.json" }
    func reportPath(_ task: Int) -> String { path + "/reports/task-\(task).json" }
    func logPath(_ task: Int) -> String { path + "/logs/task-\(task).log" }

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

    static func checksum(_ manifest: SweepManifest) throws -> String {
        SHA256.hex(try encoder().encode(manifest))
    }

    /// Writes the manifest and every asset's bars; the folder must not exist yet.
    static func create(at path: String, manifest: SweepManifest, series: [PriceSeries]) throws -> SweepFolder {
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
    func manifest() throws -> SweepManifest {
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
              manifest.program == ShellMain.version else {
            throw SweepError.otherVersion(path: manifestPath, program: manifest.program, format: manifest.version)
        }
        guard try Self.checksum(manifest) == sealed.checksum else { throw SweepError.edited(path: manifestPath) }
        return manifest
    }

    /// An asset's bars, checked against the manifest's fingerprint.
    func series(_ asset: SweepManifest.Asset) throws -> PriceSeries {
        let file = path + "/" + asset.file
        guard let data = FileManager.default.contents(atPath: file),
              let series = try? JSONDecoder().decode(PriceSeries.self, from: data), series.count > 0,
              Commands.dataFingerprint(series, through: series.count - 1) == asset.fingerprint else {
            throw SweepError.dataChanged(symbol: asset.symbol, path: file)
        }
        return series
    }

    /// Whether task `task` has its report.
    func isDone(_ task: Int) -> Bool { FileManager.default.fileExists(atPath: reportPath(task)) }
}

/// One task of a sweep: a replay of one grid point on one asset, in this process.
enum SweepTask {
    /// What running a task did.
    enum Outcome: Equatable {
        /// It ran and wrote its report.
        case ran(seconds: Double)
        /// Its report existed: it is never run twice.
        case alreadyDone
    }

    static func run(folder: SweepFolder, task id: Int) throws -> Outcome {
        let manifest = try folder.manifest()
        guard manifest.tasks.indices.contains(id) else { throw SweepError.noTask(id, tasks: manifest.tasks.count) }
        if folder.isDone(id) { return .alreadyDone }
        let start = ContinuousClock.now
        let task = manifest.tasks[id]
        let asset = manifest.assets[task.asset]
        let series = try folder.series(asset)
        let configuration = try manifest.configuration(for: task)
        let (startIndex, endIndex) = try manifest.window(of: task, in: series)
        let tiers = Set(manifest.tiers)
        let state = LoopState(series: series, config: configuration, clockOffset: 0, history: [], models: [:],
                              lastTraining: [:], logMarks: [:], log: PredictionLog(capacity: configuration.logWindow),
                              pending: nil)
        let replayStart = ContinuousClock.now
        // `training_pool all` trains beside the sweep's other assets, as the session would beside its own.
        let pool = configuration.trainingPool == .all
            ? try manifest.assets.indices.filter { $0 != task.asset }.map { PooledSource(series: try folder.series(manifest.assets[$0])) }
            : []
        let (report, _) = try state.replay([ReplayRun(policy: .triggers, configuration: configuration)], from: startIndex,
                                           through: endIndex, stepBars: 1, tiers: tiers, execution: .shared, pool: pool)[0]
        let replaySeconds = measured(since: replayStart)
        // The report `replay` stores, with the settings and data it came from (so `replays diff` can tell tasks apart).
        let fields = Commands.reportFields(report, baselines: [], tiers: tiers, pnl: configuration.pnlSettings, series: series)
            + Commands.provenance(config: configuration, series: series, startIndex: startIndex, endIndex: endIndex,
                                  stepBars: 1, tiers: tiers, baselines: false, compare: nil)
        let seconds = measured(since: start)
        let object = JSON.object([
            ("task", .int(id)), ("asset", .string(asset.symbol)),
            ("grid", .object(manifest.grid(of: task).map { ($0.0, .string($0.1)) })),
            ("window", .int(task.window)), ("seed", .int(task.seed)),
            // `seconds`: the whole task (reading the manifest and bars, the replay, the report); `replay_seconds`: the
            // replay alone — the difference, with the process start, is a task's own overhead.
            ("seconds", .number(seconds)), ("replay_seconds", .number(replaySeconds)),
            ("data_fingerprint", .string(asset.fingerprint)),
            ("report", .object(fields)),
            // Every scored step, so a collect can pair any two tasks on the bars both scored.
            ("scored_steps", .array(report.scoredSteps.map(SweepReports.stepJSON))),
        ])
        // Written whole to a temporary name and renamed: a killed task leaves no report, so it runs again.
        _ = try AtomicFile.write(Data(object.serialized().utf8), to: folder.reportPath(id))
        return .ran(seconds: seconds)
    }

    static func measured(since start: ContinuousClock.Instant) -> Double {
        let elapsed = (ContinuousClock.now - start).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
    }
}
