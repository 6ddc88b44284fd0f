import FeedbackLoop
import Foundation
import MarketData
import Testing

/// `set promotion better`: a retrained model must beat the current one on the same most recent holdout.
@Suite struct Promotion {
    @Test func alwaysReplacesTheCurrentModel() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        try engine.train(Tier.all[0])
        #expect(engine.models[.logistic]?.record.version == 2)
        #expect(engine.history.last?.details.promotion == nil)
    }

    @Test func aChallengerThatDoesNotBeatTheCurrentModelIsKeptAsAVersionOnly() throws {
        let engine = try makeEngine()
        try engine.setConfig("promotion", "better")
        try engine.setConfig("improvement_threshold", "1")   // nothing can beat the current model by 100 points
        try engine.train(Tier.all[1])
        let first = try engine.predict()
        engine.load(try DemoMarket.generate(days: 30, seed: 5, endingAt: fixedNow))
        try engine.train(Tier.all[1])
        #expect(engine.versions == [.logistic: 2, .xgboost: 2], "the challengers are still versions")
        #expect(engine.models[.logistic]?.record.version == 1 && engine.models[.xgboost]?.record.version == 1)
        // The rejected challengers' weights are still stored: the training's change carries every fitted version.
        guard case .trained(_, let fitted)? = engine.unstoredChanges.map(\.change).last(where: { if case .trained = $0 { true } else { false } })
        else { Issue.record("the training made no .trained change"); return }
        #expect(fitted.map(\.record.version) == [2, 2])
        let rejected = try #require(engine.history.last)
        #expect(rejected.details.promotion?.promoted == false)
        // The current models are the first ones: on the first data they predict exactly as before.
        engine.load(try DemoMarket.generate(days: 30, endingAt: fixedNow))
        #expect(try engine.predict().models == first.models)
    }

    @Test func anEqualChallengerIsPromotedWithAZeroThreshold() throws {
        let engine = try makeEngine()
        try engine.setConfig("promotion", "better")
        try engine.setConfig("improvement_threshold", "0")
        try engine.train(Tier.all[0])
        try engine.train(Tier.all[0])   // same data, same fit: equal on the holdout, so it is promoted
        let record = try #require(engine.history.last)
        #expect(record.details.promotion?.promoted == true)
        #expect(record.details.promotion?.challengerHoldout == record.details.promotion?.incumbentHoldout)
        #expect(engine.models[.logistic]?.record.version == 2)
    }

    @Test func promotionIsValidated() throws {
        var config = LoopConfig()
        #expect(throws: ConfigError.invalidValue(key: "promotion", value: "sometimes", expected: "always or better")) {
            try config.set("promotion", to: "sometimes")
        }
        try config.set("promotion", to: "BETTER")
        #expect(config.promotion == .better)
    }
}
