import Foundation

/// What applying a replay installed into a loop.
public struct ReplayApplication: Sendable {
    /// The replay's trainings as appended to the history, renumbered after the loop's own versions.
    public let records: [TrainingRecord]
    /// Model → version of the replayed models that became current.
    public let currentVersions: [ModelKind: Int]
    /// Scored predictions appended to the log.
    public let outcomes: Int
}

/// A replay's simulated loop at its end: its state, and every outcome it scored (the state's log keeps only the
/// last `log_window`).
public struct ReplayedLoop: Sendable {
    public let state: LoopState
    public let scored: [ScoredPrediction]

    public var history: [TrainingRecord] { state.history }
    public var models: [ModelKind: ModelSlot] { state.models }
    public var log: PredictionLog { state.log }
}

extension LoopState {
    /// Installs the result of a replay as this loop's own: the replayed current models become current (models the
    /// replay did not train stay), its trainings are appended to the history as versions numbered after this
    /// loop's, every prediction it scored is appended to the log with its virtual time, and the tiers it trained
    /// take its last-training times and log marks. Data, config, clock and the pending prediction stay.
    ///
    /// ```swift
    /// let (report, replayed) = try engine.replay(from: start, stepBars: 1, tiers: [1, 2], policy: .triggers)
    /// if !report.cancelled { try engine.adopt(replay: replayed) }
    /// ```
    public mutating func adopt(_ replayed: ReplayedLoop) -> (application: ReplayApplication, changes: [LoopChange]) {
        var newVersions = versions
        let records = replayed.history.map { record in
            let version = (versions[record.model] ?? 0) + record.version
            newVersions[record.model] = max(newVersions[record.model] ?? 0, version)
            return TrainingRecord(time: record.time, model: record.model, version: version, tier: record.tier,
                                  accuracy: record.accuracy, baselineAccuracy: record.baselineAccuracy,
                                  trainRows: record.trainRows, testRows: record.testRows, seconds: record.seconds,
                                  details: record.details, dataStart: record.dataStart, dataEnd: record.dataEnd,
                                  dataSymbol: record.dataSymbol, dataInterval: record.dataInterval)
        }
        var kept: [ModelSlot] = []
        var currentVersions: [ModelKind: Int] = [:]
        for (kind, slot) in replayed.models.sorted(by: { $0.key < $1.key }) {
            let version = (versions[kind] ?? 0) + slot.record.version
            guard let record = records.first(where: { $0.model == kind && $0.version == version }) else { continue }
            let renumbered = ModelSlot(model: slot.model, record: record)
            models[kind] = renumbered
            kept.append(renumbered)
            currentVersions[kind] = version
        }
        let mark = log.totalLogged
        var changes: [LoopChange] = [.trained(records, models: kept), .currentVersions(models.mapValues(\.record.version))]
        for entry in replayed.scored {
            changes.append(.scored(log.append(predicted: entry.predicted, actual: entry.actual, at: entry.scoredAt,
                                              prediction: entry.prediction, realisedReturn: entry.realisedReturn)))
        }
        for (tier, time) in replayed.state.lastTraining { lastTraining[tier] = time }
        for (tier, replayMark) in replayed.state.logMarks { logMarks[tier] = mark + replayMark }
        history += records
        versions = newVersions
        changes.append(.tierClocks(lastTraining: lastTraining, logMarks: logMarks))
        return (ReplayApplication(records: records, currentVersions: currentVersions, outcomes: replayed.scored.count), changes)
    }
}

extension LoopEngine {
    /// Installs a replay's result (see `LoopState.adopt`); refused while a training runs.
    @discardableResult
    public func adopt(replay replayed: ReplayedLoop) throws -> ReplayApplication {
        guard !trainingInProgress else { throw LoopError.trainingInProgress }
        var next = state
        let (application, changes) = next.adopt(replayed)
        replaceState(next, adding: changes)
        return application
    }
}
