import FeedbackLoop
import Foundation
import LoopApp
import MarketData

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
        let replaySeconds = Stopwatch.seconds(since: replayStart)
        // The report `replay` stores, with the settings and data it came from (so `replays diff` can tell tasks apart).
        let fields = Commands.reportFields(report, baselines: [], tiers: tiers, pnl: configuration.pnlSettings, series: series)
            + Commands.provenance(config: configuration, series: series, startIndex: startIndex, endIndex: endIndex,
                                  stepBars: 1, tiers: tiers, baselines: false, compare: nil)
        let seconds = Stopwatch.seconds(since: start)
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
            ("scored_steps", .array(report.scoredSteps.map(SweepTask.stepJSON))),
        ])
        // Written whole to a temporary name and renamed: a killed task leaves no report, so it runs again.
        _ = try AtomicFile.write(Data(object.serialized().utf8), to: folder.reportPath(id))
        return .ran(seconds: seconds)
    }

}

extension SweepTask {
    /// A scored step as the report keeps it: `[bar_time, signal, p_up|null, return|null, outcome]`.
    static func stepJSON(_ step: ScoredStep) -> JSON {
        .array([.number(step.barTime), .string(step.signal.rawValue), step.probabilityUp.map(JSON.number) ?? .null,
                step.realisedReturn.map(JSON.number) ?? .null, .string(step.outcome.rawValue)])
    }
}
