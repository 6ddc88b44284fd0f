import FeedbackLoop
import Foundation

/// What one auto check did, as values: no display text, no JSON. `Notice(_:)` (AutoNotice.swift) words it.
///
/// A check runs its steps in order and stops at the first that ends it: judge the skip, refresh the data, commit the
/// data, choose the tier, train, predict. The report holds one answer per step reached.
public struct AutoCheckReport {
    /// Why a check did nothing at all.
    public enum Skip: Equatable {
        /// The loop never runs two trainings at once. `tier`: the background training's, when auto mode started it.
        case trainingInProgress(tier: Int?)
        /// A `load` replaced the loop's state while the data was fetched: the check belonged to a session now gone.
        case sessionReplaced
    }

    /// What became of the data refresh.
    public enum Refresh {
        /// The data was imported from a file: checks use what is loaded.
        case noSource
        /// A live source during `advance`: it has nothing after real time, so it was not asked.
        case notAsked
        case failed(any Error)
        /// The source served the loaded bars again. `pinnedEnd`: the demo's fixed last bar (`fetch demo --end`).
        case unchanged(pinnedEnd: TimeInterval?)
        /// New data was loaded; `fate` is what became of the pending prediction.
        case loaded(barsAdded: Int, lastClose: Double?, fate: LoopEngine.PendingFate)
        /// A command replaced the session's source while the fetch ran: its data wins, this fetch is dropped.
        case sourceReplaced
    }

    /// What the check did about training.
    public enum Training {
        /// No tier was due.
        case none
        case couldNotStart(tier: Int, error: any Error)
        /// The fit went to a worker; a later report (same time) says how it ended.
        case started(tier: Int, reason: TriggerReason)
        case finished(TierTrainingResult, reason: TriggerReason)
        /// The previous models stay. `stopping`: a background fit cancelled because the shell is quitting.
        case failed(tier: Int, error: any Error, stopping: Bool)
        /// Another session was loaded while the fit ran: nothing of this check reached it.
        case superseded(tier: Int)
    }

    /// The check's planned time on the loop's clock (triggers are judged and trainings dated as of it).
    public let time: TimeInterval
    /// The asset this report is about, in a session of several (each asset's loop is checked in turn); nil with one.
    public var asset: String?
    public var skipped: Skip?
    /// nil where the check did not refresh: skipped before it, or the report of a background training's end (the
    /// refresh was in the report of its start).
    public var refresh: Refresh?
    /// The check found no data loaded, so it could neither train nor predict.
    public var noData = false
    /// nil where the check ended before choosing a tier (skipped, no data).
    public var training: Training?
    /// The prediction on the newest bar, when one was made.
    public var prediction: Prediction?

    public init(time: TimeInterval, skipped: Skip? = nil, refresh: Refresh? = nil, training: Training? = nil) {
        self.time = time
        self.skipped = skipped
        self.refresh = refresh
        self.training = training
    }

    /// Something went wrong or was refused: always worth showing.
    public var warning: Bool {
        if skipped != nil || noData { return true }
        if case .failed? = refresh { return true }
        switch training {
        case .couldNotStart?, .failed?, .superseded?: return true
        case .none?, .started?, .finished?, nil: return false
        }
    }

    /// Something happened worth showing above the prompt: a new bar, a training, a prediction.
    public var eventful: Bool {
        if case .loaded(let added, _, _)? = refresh, added > 0 { return true }
        if prediction != nil { return true }
        switch training {
        case .started?, .finished?: return true
        default: return false
        }
    }
}

/// The background training auto mode started: what `auto` and `status` show while it runs.
public struct BackgroundTraining {
    public let tier: Int
    public let reason: TriggerReason
    /// When the fit began, on the monotonic clock (durations never read the wall clock, which can jump).
    public let measuredStart: ContinuousClock.Instant

    /// Seconds since the fit began.
    public var measuredSeconds: Double {
        let elapsed = (ContinuousClock.now - measuredStart).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
    }
}
