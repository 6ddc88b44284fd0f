import FeedbackLoop
import Foundation
import MarketData
import Testing

/// A training split into begin / fit / finish, as auto mode runs it in the background.
@Suite struct TrainingPhases {
    @Test func aBegunTrainingBlocksASecondOneUntilItFinishes() throws {
        let engine = try makeEngine()
        let job = try engine.beginTraining(Tier.all[1])
        #expect(engine.trainingInProgress)
        #expect(throws: LoopError.trainingInProgress) { try engine.train(Tier.all[0]) }
        #expect(engine.cycle().status == .skipped)
        let result = try engine.finishTraining(try LoopEngine.fit(job))
        #expect(!engine.trainingInProgress)
        #expect(result.records.map(\.model) == [.logistic, .xgboost])
        #expect(engine.versions[.xgboost] == 1)
    }

    @Test func aTrainingIsDatedAtItsStartSoIntervalsDoNotDrift() throws {
        let engine = try makeEngine()
        let job = try engine.beginTraining(Tier.all[0], at: fixedNow - 60)
        try engine.finishTraining(try LoopEngine.fit(job))
        #expect(engine.lastTraining[1] == fixedNow - 60)
        #expect(engine.decision(for: Tier.all[0], at: fixedNow + 3540).due)
        #expect(!engine.decision(for: Tier.all[0], at: fixedNow + 3539).due)
    }

    @Test func aTrainingThatOutlivesItsStateIsDiscarded() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        let before = engine.history
        let job = try engine.beginTraining(Tier.all[0])
        let fitted = try LoopEngine.fit(job)
        // A session is loaded while the fit runs: the fit belongs to the old state.
        engine.restore(engine.state)
        #expect(throws: LoopError.trainingSuperseded(tier: 1)) { try engine.finishTraining(fitted) }
        #expect(engine.history == before)
        #expect(!engine.trainingInProgress)
    }

    @Test func anAbandonedTrainingKeepsEveryModel() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        let job = try engine.beginTraining(Tier.all[0])
        engine.abandonTraining(job, error: LoopError.cancelled)
        #expect(!engine.trainingInProgress)
        #expect(engine.versions[.logistic] == 1)
        try engine.train(Tier.all[0])
        #expect(engine.versions[.logistic] == 2)
    }
}
