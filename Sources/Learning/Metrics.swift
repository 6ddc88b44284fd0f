/// Scores for 0/1 predictions.
public enum Metrics {
    /// Fraction of positions where `predicted` equals `actual` (NaN when both are empty).
    public static func accuracy(predicted: [Double], actual: [Double]) -> Double {
        precondition(predicted.count == actual.count,
                     "accuracy needs equal lengths, got \(predicted.count) predictions and \(actual.count) labels")
        guard !actual.isEmpty else { return .nan }
        var hits = 0
        for (p, a) in zip(predicted, actual) where p == a { hits += 1 }
        return Double(hits) / Double(actual.count)
    }

    /// Accuracy on `test` of always predicting `train`'s majority class (ties and an empty
    /// `train` predict 1); NaN when `test` is empty.
    ///
    /// The bar a model must clear: on trending data "always up" is often right more than half the time.
    public static func majorityClassBaseline(train: [Double], test: [Double]) -> Double {
        guard !test.isEmpty else { return .nan }
        var ones = 0, zeros = 0
        for label in train {
            if label == 1 { ones += 1 } else if label == 0 { zeros += 1 }
        }
        let majority: Double = ones >= zeros ? 1 : 0
        var hits = 0
        for label in test where label == majority { hits += 1 }
        return Double(hits) / Double(test.count)
    }
}
