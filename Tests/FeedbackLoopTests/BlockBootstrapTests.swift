import FeedbackLoop
import Foundation
import MarketData
import Testing

/// d_t = mean + e_t with AR(1) noise e_t = φ e_{t−1} + ε_t, ε standard normal (Box–Muller on SplitMix64).
func plantedDifferences(count: Int, mean: Double, phi: Double, seed: UInt64) -> [Double] {
    var random = SplitMix64(seed: seed)
    func uniform() -> Double { (Double(random.next() >> 11) + 0.5) / 9_007_199_254_740_992 }
    var e = 0.0
    return (0..<count).map { _ in
        let normal = (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
        e = phi * e + normal
        return mean + e
    }
}

/// The moving-block bootstrap's interval: coverage, power, reproducibility and its refusals.
@Suite struct BlockBootstrapIntervals {
    /// How many of 100 seeded planted cases (n = 2,000, true mean 0.1, AR(1) noise with φ = 0.6) the interval covers.
    func coverage(blockLength: Int) throws -> Int {
        let truth = 0.1
        var covered = 0
        for seed in 1...100 {
            let d = plantedDifferences(count: 2000, mean: truth, phi: 0.6, seed: UInt64(seed))
            let ci = try BlockBootstrap.interval(of: d, blockLength: blockLength, resamples: 1000, seed: UInt64(seed) &* 7919)
            if let low = ci.low, let high = ci.high, low <= truth, truth <= high { covered += 1 }
        }
        return covered
    }

    @Test func theIntervalCoversTheTrueDifferenceAtAboutTheNominalRate() throws {
        // Nominal 95: at least 90, and not so wide that it always covers (measured: 98).
        let blocks = try coverage(blockLength: 24)
        #expect((90...99).contains(blocks), "covered \(blocks) of 100")
        // Resampling single steps ignores the dependence and is far too narrow (measured: 66): blocks matter.
        let single = try coverage(blockLength: 1)
        #expect(single < 80, "covered \(single) of 100")
    }

    @Test func aPlantedRealDifferenceIsSignificant() throws {
        let d = plantedDifferences(count: 2000, mean: 0.3, phi: 0.3, seed: 11)
        let ci = try BlockBootstrap.interval(of: d, blockLength: 24, seed: 5)
        #expect(ci.significant)
        #expect(try #require(ci.low) > 0)
        #expect(ci.n == 2000 && ci.blockLength == 24 && ci.resamples == 2000 && ci.confidence == 0.95 && ci.noInterval == nil)
        #expect(isClose(ci.mean, d.reduce(0, +) / 2000))
        #expect(ci.low! < ci.mean! && ci.mean! < ci.high!)
    }

    @Test func noDifferenceIsNotSignificant() throws {
        let d = plantedDifferences(count: 2000, mean: 0, phi: 0.3, seed: 3)
        let ci = try BlockBootstrap.interval(of: d, blockLength: 24, seed: 5)
        #expect(!ci.significant && ci.low! < 0 && ci.high! > 0)
    }

    @Test func theSameSeedGivesTheSameInterval() throws {
        let d = plantedDifferences(count: 500, mean: 0.05, phi: 0.5, seed: 9)
        let first = try BlockBootstrap.interval(of: d, blockLength: 10, seed: 42)
        #expect(try BlockBootstrap.interval(of: d, blockLength: 10, seed: 42) == first)
        let other = try BlockBootstrap.interval(of: d, blockLength: 10, seed: 43)
        #expect(other.low != first.low && other.mean == first.mean)
    }

    @Test func constantDifferencesGiveAPointInterval() throws {
        let ci = try BlockBootstrap.interval(of: Array(repeating: 0.5, count: 48), blockLength: 24)
        #expect(ci.low == 0.5 && ci.high == 0.5 && ci.significant)
    }

    @Test func tooFewStepsGiveThePointEstimateAndWhy() throws {
        let d = plantedDifferences(count: 47, mean: 1, phi: 0, seed: 1)
        let ci = try BlockBootstrap.interval(of: d, blockLength: 24)
        #expect(ci.noInterval == .tooFewSteps(n: 47, blockLength: 24))
        #expect(ci.low == nil && ci.high == nil && !ci.significant)
        #expect(isClose(ci.mean, d.reduce(0, +) / 47))
        let none = try BlockBootstrap.interval(of: [])
        #expect(none.noInterval == .noSteps && none.mean == nil && none.n == 0)
        // Exactly two blocks is enough.
        #expect(try BlockBootstrap.interval(of: d + [0], blockLength: 24).noInterval == nil)
    }

    @Test func badParametersAreRefused() {
        #expect(throws: HonestMetricsError.invalidBlockLength(0)) { try BlockBootstrap.interval(of: [1, 2], blockLength: 0) }
        #expect(throws: HonestMetricsError.invalidResamples(0)) { try BlockBootstrap.interval(of: [1, 2], resamples: 0) }
        #expect(throws: HonestMetricsError.invalidConfidence(1)) { try BlockBootstrap.interval(of: [1, 2], confidence: 1) }
        #expect(throws: HonestMetricsError.nonFiniteDifference(index: 2)) { try BlockBootstrap.interval(of: [1, 2, .nan]) }
    }

    @Test func blockLengthsFromTheBarIntervalOrTheCount() {
        #expect(BlockBootstrap.blockLength(barInterval: 3600) == 24)
        #expect(BlockBootstrap.blockLength(barInterval: 300) == 288)
        #expect(BlockBootstrap.blockLength(barInterval: 86_400) == 1)
        #expect(BlockBootstrap.blockLength(barInterval: 7 * 86_400) == 1)
        #expect(BlockBootstrap.blockLength(barInterval: 0) == 1)
        #expect(BlockBootstrap.blockLength(count: 8760) == 21)   // ∛8760 ≈ 20.6
        #expect(BlockBootstrap.blockLength(count: 1000) == 10)
        #expect(BlockBootstrap.blockLength(count: 0) == 1)
        #expect(BlockBootstrap.medianBarInterval([0, 3600, 7200, 90_000, 93_600]) == 3600)
        #expect(BlockBootstrap.medianBarInterval([0, 60, 180]) == 90)
        #expect(BlockBootstrap.medianBarInterval([5]) == nil)
    }
}
