import Foundation

/// What `adopt(replay:)` installed into a loop.
public struct ReplayApplication: Sendable {
    /// The replay's trainings as appended to the history, renumbered after the loop's own versions.
    public let records: [TrainingRecord]
    /// Model → version of the replayed models that became current.
    public let currentVersions: [ModelKind: Int]
    /// Scored predictions appended to the log.
    public let outcomes: Int
}

public enum ReplayApplyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The replayed log no longer holds every prediction it scored (more than `log_window`).
    case logWindowExceeded(scored: Int, logWindow: Int)

    public var description: String {
        switch self {
        case .logWindowExceeded(let scored, let logWindow):
            return "the replay scored \(scored) predictions, more than log_window (\(logWindow)) keeps — nothing was applied; replay fewer steps or raise log_window"
        }
    }
}

extension LoopEngine {
    /// Installs the result of a replay (the loop `replay(...)` returned) as this loop's own: the replayed current
    /// models become current (models the replay did not train stay), its trainings are appended to the history as
    /// versions numbered after this loop's, its scored predictions are appended to the log with their virtual
    /// times, and the tiers it trained take its last-training times and log marks. Data, config, clock and the
    /// pending prediction stay. Nothing changes when it throws.
    ///
    /// ```swift
    /// let (report, replayed) = try engine.replay(from: start, stepBars: 1, tiers: [1, 2], policy: .triggers)
    /// if !report.cancelled { try engine.adopt(replay: replayed) }
    /// ```
    @discardableResult
    public func adopt(replay loop: LoopEngine) throws -> ReplayApplication {
        guard !trainingInProgress else { throw LoopError.trainingInProgress }
        // Outcomes are appended one by one and persisted from the in-memory window, so all must still be there,
        // and the combined window must hold all the new ones.
        let added = loop.log.totalLogged
        guard loop.log.entries.count == added, added <= config.logWindow else {
            throw ReplayApplyError.logWindowExceeded(scored: added, logWindow: config.logWindow)
        }
        var newVersions = versions
        let records = loop.history.map { record in
            let version = (versions[record.model] ?? 0) + record.version
            newVersions[record.model] = max(newVersions[record.model] ?? 0, version)
            return TrainingRecord(time: record.time, model: record.model, version: version, tier: record.tier,
                                  accuracy: record.accuracy, baselineAccuracy: record.baselineAccuracy,
                                  trainRows: record.trainRows, testRows: record.testRows, seconds: record.seconds,
                                  details: record.details, dataStart: record.dataStart, dataEnd: record.dataEnd,
                                  dataSymbol: record.dataSymbol, dataInterval: record.dataInterval)
        }
        var current = models
        var currentVersions: [ModelKind: Int] = [:]
        for (kind, slot) in loop.models {
            let version = (versions[kind] ?? 0) + slot.record.version
            guard let record = records.first(where: { $0.model == kind && $0.version == version }) else { continue }
            current[kind] = ModelSlot(model: slot.model, record: record)
            currentVersions[kind] = version
        }
        let mark = log.totalLogged
        var newLog = log
        for entry in loop.log.entries {
            newLog.append(predicted: entry.predicted, actual: entry.actual, at: entry.scoredAt, prediction: entry.prediction)
        }
        var trainedAt = lastTraining, marks = logMarkAtTraining
        for (tier, time) in loop.lastTraining { trainedAt[tier] = time }
        for (tier, replayMark) in loop.logMarkAtTraining { marks[tier] = mark + replayMark }
        restore(series: series, config: config, clockOffset: clock.offset, history: history + records, models: current,
                versions: newVersions, lastTraining: trainedAt, logMarks: marks, log: newLog, pending: pending)
        return ReplayApplication(records: records, currentVersions: currentVersions, outcomes: added)
    }
}
