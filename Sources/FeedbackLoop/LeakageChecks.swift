import Foundation
import MarketData

/// Checks a user can run to see that nothing the models see comes from the future (FreqAI's lookahead- and
/// recursive-analysis are the reference).
///
/// - **Lookahead**: the feature matrix and each model's P(up) are recomputed on the series cut at sampled bars and
///   compared, bit for bit, with the full series' values at those bars. A causal feature cannot tell the two apart.
/// - **Warm-up**: per feature, how many bars of history it needs before its value at a bar stops changing (by more
///   than a tolerance) when still earlier history is added — e.g. an EMA never forgets, an SMA-99 needs 99 bars.
public enum LeakageCheck {
    /// Builds a feature matrix from a series; the product's builder unless a test injects another.
    public typealias Features = (PriceSeries) -> FeatureMatrix

    /// What differs between the full series and the series cut at a bar: a feature column or a model's output.
    public enum Subject: Sendable, Equatable, Hashable {
        case feature(String)
        case model(ModelKind)

        public var name: String {
            switch self {
            case .feature(let name): return name
            case .model(let kind): return kind.rawValue
            }
        }
    }

    /// One feature or model whose value at some sampled bars depends on later bars.
    public struct Difference: Sendable, Equatable {
        public let subject: Subject
        /// Sampled bars where the two values differ.
        public let bars: Int
        /// The first such bar's time.
        public let firstBarTime: TimeInterval
        /// The largest absolute difference (infinite when one side is NaN and the other is not).
        public let largest: Double
    }

    public struct LookaheadReport: Sendable, Equatable {
        /// Bar times the series was cut at.
        public let sampleTimes: [TimeInterval]
        public let featuresChecked: Int
        public let modelsChecked: [ModelKind]
        /// Empty when every feature and model is causal at every sampled bar.
        public let differences: [Difference]
    }

    public enum CheckError: Error, Equatable, Sendable {
        /// Too few feature rows to cut the series anywhere before its end.
        case tooLittleData(rows: Int)
    }

    /// The full series' rows to cut at: `samples` of them spread evenly from the first row to the one before the
    /// last (cutting at the last bar would compare the series with itself).
    static func sampleRows(rows: Int, samples: Int) -> [Int] {
        let candidates = rows - 1
        guard candidates > 0, samples > 0 else { return [] }
        let count = min(samples, candidates)
        guard count > 1 else { return [candidates - 1] }
        var picked: [Int] = []
        for i in 0..<count {
            let row = Int((Double(i) * Double(candidates - 1) / Double(count - 1)).rounded())
            if picked.last != row { picked.append(row) }
        }
        return picked
    }

    /// Recomputes features and each model's P(up) on the series cut at `samples` bars and compares them with the
    /// full series' values there. Exact comparison (NaN equals NaN): causal code gives the same bits.
    public static func lookahead(series: PriceSeries, models: [any TrainedModel], samples: Int,
                                 features: Features = FeatureBuilder.features) throws -> LookaheadReport {
        let full = features(series)
        let rows = sampleRows(rows: full.rows, samples: samples)
        guard !rows.isEmpty else { throw CheckError.tooLittleData(rows: full.rows) }
        var found: [Subject: (bars: Int, first: TimeInterval, largest: Double)] = [:]
        func note(_ subject: Subject, _ a: Double, _ b: Double, at time: TimeInterval) {
            guard !same(a, b) else { return }
            let gap = a.isNaN || b.isNaN ? Double.infinity : abs(a - b)
            if let seen = found[subject] {
                found[subject] = (seen.bars + 1, seen.first, max(seen.largest, gap))
            } else {
                found[subject] = (1, time, gap)
            }
        }
        for row in rows {
            let bar = full.barIndices[row]
            let time = full.times[row]
            let cutSeries = series.prefix(through: bar)
            let cut = features(cutSeries)
            // The cut matrix ends at this bar; a matrix with another shape is itself a sign of looking ahead.
            guard let cutRow = cut.barIndices.lastIndex(of: bar), cut.names == full.names else {
                for name in full.names { note(.feature(name), .nan, 0, at: time) }
                continue
            }
            for col in 0..<full.cols { note(.feature(full.names[col]), full[row, col], cut[cutRow, col], at: time) }
            for model in models {
                let whole = (try? model.probabilityUp(series: series, features: full, row: row)) ?? .nan
                let known = (try? model.probabilityUp(series: cutSeries, features: cut, row: cutRow)) ?? .nan
                note(.model(model.kind), whole, known, at: time)
            }
        }
        let order = full.names.map { Subject.feature($0) } + models.map { Subject.model($0.kind) }
        let differences = order.compactMap { subject in
            found[subject].map { Difference(subject: subject, bars: $0.bars, firstBarTime: $0.first, largest: $0.largest) }
        }
        return LookaheadReport(sampleTimes: rows.map { full.times[$0] }, featuresChecked: full.cols,
                               modelsChecked: models.map(\.kind), differences: differences)
    }

    private static func same(_ a: Double, _ b: Double) -> Bool {
        a == b || (a.isNaN && b.isNaN)
    }

    // MARK: Warm-up

    public struct WarmupReport: Sendable, Equatable {
        public struct Feature: Sendable, Equatable {
            public let name: String
            /// Bars of history (the bar itself included) after which adding earlier bars changes the value by at
            /// most the tolerance at every sampled bar; nil when even the longest window tried did not settle.
            public let bars: Int?
        }

        public let features: [Feature]
        public let sampleTimes: [TimeInterval]
        /// The shortest history tried: the fewest bars that give a feature row. A feature that needs fewer is
        /// reported with this many ("at most").
        public let shortestWindow: Int
        /// The longest history tried: the shortest history among the sampled bars.
        public let longestWindow: Int
        public let tolerance: Double
    }

    /// Window lengths to try, from the shortest that yields a feature row up to `longest`: dense at first, then
    /// about 25 % apart, and always `longest` itself.
    static func windows(shortest: Int, longest: Int) -> [Int] {
        guard longest >= shortest else { return [] }
        var sizes: [Int] = []
        var size = shortest
        while size < longest {
            sizes.append(size)
            size = max(size + 1, Int((Double(size) * 1.25).rounded(.up)))
        }
        sizes.append(longest)
        return sizes
    }

    /// For each feature, the history it needs: at each of `samples` bars from the later part of the series, the value
    /// computed from only the last W bars is compared with the value from the whole history, for growing W.
    public static func warmup(series: PriceSeries, samples: Int, tolerance: Double = 1e-9,
                              features: Features = FeatureBuilder.features) throws -> WarmupReport {
        let full = features(series)
        let shortest = FeatureBuilder.warmup + 1
        // Sample the later half, where the most history lies behind each bar.
        let later = full.rows / 2
        let picked = sampleRows(rows: full.rows - later + 1, samples: samples).map { $0 + later }
        guard !picked.isEmpty, full.rows >= 2 else { throw CheckError.tooLittleData(rows: full.rows) }
        let longest = picked.map { full.barIndices[$0] + 1 }.min() ?? shortest
        let sizes = windows(shortest: shortest, longest: longest)
        // settledFrom[col]: the shortest window from which every longer window tried was within tolerance.
        var withinAt = Array(repeating: Array(repeating: true, count: sizes.count), count: full.cols)
        for row in picked {
            let bar = full.barIndices[row]
            for (index, size) in sizes.enumerated() {
                let window = PriceSeries(symbol: series.symbol, source: series.source,
                                         bars: Array(series.bars[(bar - size + 1)...bar]))
                let matrix = features(window)
                guard let last = matrix.barIndices.indices.last, matrix.names == full.names else {
                    for col in 0..<full.cols { withinAt[col][index] = false }
                    continue
                }
                for col in 0..<full.cols {
                    let a = full[row, col], b = matrix[last, col]
                    let close = same(a, b) || abs(a - b) <= tolerance
                    if !close { withinAt[col][index] = false }
                }
            }
        }
        let result = full.names.enumerated().map { col, name -> WarmupReport.Feature in
            // The first window after which every longer one is within tolerance.
            var settled: Int?
            for index in stride(from: sizes.count - 1, through: 0, by: -1) {
                guard withinAt[col][index] else { break }
                settled = sizes[index]
            }
            // Within tolerance only at the longest window tried says nothing about shorter ones: the whole history
            // was needed, which is "did not settle" unless the longest window is the full history of every sample.
            if settled == longest, sizes.count > 1 { settled = nil }
            return WarmupReport.Feature(name: name, bars: settled)
        }
        return WarmupReport(features: result, sampleTimes: picked.map { full.times[$0] }, shortestWindow: shortest,
                            longestWindow: longest, tolerance: tolerance)
    }
}
