extension TrainingRecord {
    /// Whether the holdout accuracy is above the majority-class baseline on the same holdout (`baselineAccuracy`,
    /// the same rule for every model kind); nil when either is not a number (an empty holdout).
    ///
    /// Strictly above: a model that only ties "always predict the training majority" has learned nothing usable.
    public var beatsBaseline: Bool? {
        guard accuracy.isFinite, baselineAccuracy.isFinite else { return nil }
        return accuracy > baselineAccuracy
    }
}
