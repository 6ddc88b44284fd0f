import Foundation

/// Change detectors on the live error stream (1 = a wrong prediction, 0 = a right one).
///
/// Both are evaluated afresh over the outcomes scored since a tier's last training, so a retraining resets them
/// and `cycle`, `status` and tests see the same answer.
public enum DriftDetector: String, Sendable, Codable, CaseIterable {
    case off
    /// Page–Hinkley: cumulative deviation of the error from its running mean, minus a tolerance δ; fires when it
    /// rises more than λ above its minimum (the error rate went up).
    case pageHinkley = "page_hinkley"
    /// ADWIN (all split points of the window): fires when the error rates of an older and a newer part differ by
    /// more than the Hoeffding bound at confidence δ.
    case adwin

    /// Whether the detector fires on `errors` (oldest first), with its parameters.
    public func fires(on errors: [Double], delta: Double, lambda: Double) -> Bool {
        switch self {
        case .off: return false
        case .pageHinkley: return Self.pageHinkley(errors, delta: delta, lambda: lambda)
        case .adwin: return Self.adwin(errors, delta: delta)
        }
    }

    static func pageHinkley(_ errors: [Double], delta: Double, lambda: Double) -> Bool {
        var mean = 0.0, cumulative = 0.0, minimum = 0.0
        for (index, error) in errors.enumerated() {
            mean += (error - mean) / Double(index + 1)
            cumulative += error - mean - delta
            minimum = min(minimum, cumulative)
            if cumulative - minimum > lambda { return true }
        }
        return false
    }

    /// Needs at least 5 outcomes on each side of a split, so a single early mistake cannot fire it.
    static func adwin(_ errors: [Double], delta: Double) -> Bool {
        let n = errors.count
        guard n >= 10 else { return false }
        let total = errors.reduce(0, +)
        var older = 0.0
        for split in 5...(n - 5) {
            older += errors[split - 1]
            let n0 = Double(split), n1 = Double(n - split)
            let mean0 = older / n0, mean1 = (total - older) / n1
            let m = 1 / (1 / n0 + 1 / n1)
            let bound = ((1 / (2 * m)) * log(4 * Double(n) / delta)).squareRoot()
            if mean1 - mean0 > bound { return true }   // only a rise in the error rate is drift that hurts
        }
        return false
    }
}
