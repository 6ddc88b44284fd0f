#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a model could not be fitted; `description` says what failed (and, for a caller's mistake, what the caller
/// should do). What a user can type about the data-dependent cases is the shell's (`Advice`).
public enum LearningError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Every training label is the same (all up or all down).
    case singleClass(label: Double)
    /// Fewer training rows than the method needs.
    case tooFewRows(have: Int, need: Int)
    /// A feature value is NaN or infinite.
    case nonFiniteInput(row: Int, col: Int)
    /// Inputs disagree in size; the message names the sizes.
    case shapeMismatch(String)
    /// The solver hit its iteration limit before the gradient was small enough.
    case didNotConverge(iterations: Int)
    /// A label is not 0 or 1 (NaN included).
    case invalidLabel(row: Int, value: Double)

    public var description: String {
        switch self {
        case .singleClass(let label):
            let kind = label == 1 ? "all up" : label == 0 ? "all down" : "all \(label)"
            return "The training part has only one class (\(kind))"
        case .tooFewRows(let have, let need):
            return "Only \(have) training rows, at least \(need) needed"
        case .nonFiniteInput(let row, let col):
            return "Non-finite value (NaN or infinity) at row \(row), column \(col) — drop the warm-up rows of the features before fitting."
        case .shapeMismatch(let detail):
            return "Shape mismatch: \(detail) — build features and labels from the same rows."
        case .didNotConverge(let iterations):
            return "The solver did not converge in \(iterations) iterations — standardise the features or allow more iterations."
        case .invalidLabel(let row, let value):
            return "Label \(value) at row \(row) is not 0 or 1 — labels must be 0 (down) or 1 (up)."
        }
    }
}

/// L2-regularised logistic regression, the same objective as scikit-learn's
/// `LogisticRegression(C: c)` (intercept fitted and not penalised):
/// minimise `0.5 * ||w||^2 + c * sum_i logloss(y_i, sigmoid(w · x_i + b))`.
public struct LogisticRegression: Sendable, Equatable, Codable {
    /// Feature weights `w`, one per column.
    public let coefficients: [Double]
    /// Intercept `b` (not penalised).
    public let intercept: Double
    /// Inverse regularisation strength used for the fit.
    public let c: Double
    /// Newton iterations the solver used (0 for a model built directly).
    public let iterations: Int

    /// Creates a model from known parameters.
    public init(coefficients: [Double], intercept: Double, c: Double = 1.0, iterations: Int = 0) {
        self.coefficients = coefficients
        self.intercept = intercept
        self.c = c
        self.iterations = iterations
    }

    /// Fits by Newton's method (IRLS) with a Cholesky solve and a backtracking line search.
    ///
    /// Converged when the largest gradient component of the objective, divided by
    /// `c * rows` (scikit-learn's normalisation, so the test does not tighten as data grows),
    /// is at most `tolerance`. Labels must be 0 or 1. `c`, `tolerance` must be positive.
    public static func fit(x: Matrix, y: [Double], c: Double = 1.0, tolerance: Double = 1e-8,
                           maxIterations: Int = 100) throws(LearningError) -> LogisticRegression {
        precondition(c > 0 && c.isFinite, "LogisticRegression c must be positive and finite, got \(c)")
        precondition(tolerance > 0, "LogisticRegression tolerance must be positive, got \(tolerance)")
        precondition(maxIterations >= 0, "LogisticRegression maxIterations must be non-negative")
        try validate(x: x, y: y)
        var solver = NewtonSolver(x: x, y: y, c: c)
        return try solver.solve(tolerance: tolerance, maxIterations: maxIterations)
    }

    /// P(y = 1) for one feature row (length must equal `coefficients.count`).
    public func probability(_ row: some Collection<Double>) -> Double {
        precondition(row.count == coefficients.count, "Model has \(coefficients.count) features, row has \(row.count)")
        var z = intercept
        for (w, v) in zip(coefficients, row) { z += w * v }
        return sigmoid(z)
    }

    /// P(y = 1) for every row of `x` (`x.cols` must equal `coefficients.count`).
    public func probabilities(_ x: Matrix) -> [Double] {
        let p = coefficients.count
        precondition(x.cols == p, "Model has \(p) features, matrix has \(x.cols) columns")
        var out = [Double](repeating: 0, count: x.rows)
        x.values.withUnsafeBufferPointer { xs in
            coefficients.withUnsafeBufferPointer { w in
                for r in 0..<x.rows {
                    let base = r * p
                    var z = intercept
                    for j in 0..<p { z += w[j] * xs[base + j] }
                    out[r] = sigmoid(z)
                }
            }
        }
        return out
    }

    private static func validate(x: Matrix, y: [Double]) throws(LearningError) {
        guard y.count == x.rows else {
            throw .shapeMismatch("\(x.rows) feature rows but \(y.count) labels")
        }
        guard x.rows >= 2 else { throw .tooFewRows(have: x.rows, need: 2) }
        if let bad = x.values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput(row: bad / x.cols, col: bad % x.cols)
        }
        var ones = 0
        for (i, label) in y.enumerated() {
            if label == 1 { ones += 1 } else if label != 0 { throw .invalidLabel(row: i, value: label) }
        }
        if ones == 0 { throw .singleClass(label: 0) }
        if ones == y.count { throw .singleClass(label: 1) }
    }
}

/// Logistic function without overflow for large |z|.
@inline(__always)
private func sigmoid(_ z: Double) -> Double {
    if z >= 0 { return 1 / (1 + exp(-z)) }
    let e = exp(z)
    return e / (1 + e)
}

/// Newton/IRLS state: all buffers are allocated once and reused across iterations.
private struct NewtonSolver {
    let x: Matrix
    let y: [Double]
    let c: Double
    let n: Int
    let p: Int
    /// Parameters: `p` weights, then the intercept.
    var theta: [Double]
    var z: [Double]
    var dz: [Double]
    var weights: [Double]
    var residuals: [Double]
    var gradient: [Double]
    var hessian: [Double]
    var direction: [Double]

    init(x: Matrix, y: [Double], c: Double) {
        self.x = x
        self.y = y
        self.c = c
        n = x.rows
        p = x.cols
        let dim = p + 1
        theta = [Double](repeating: 0, count: dim)
        // Start from the best intercept-only model (w = 0, b = log-odds of the base rate),
        // which is closer to the optimum than all zeros.
        let positives = y.reduce(0, +)
        theta[p] = log(positives / (Double(n) - positives))
        z = [Double](repeating: 0, count: n)
        dz = [Double](repeating: 0, count: n)
        weights = [Double](repeating: 0, count: n)
        residuals = [Double](repeating: 0, count: n)
        gradient = [Double](repeating: 0, count: dim)
        hessian = [Double](repeating: 0, count: dim * dim)
        direction = [Double](repeating: 0, count: dim)
    }

    mutating func solve(tolerance: Double, maxIterations: Int) throws(LearningError) -> LogisticRegression {
        let threshold = tolerance * c * Double(n)
        var iteration = 0
        linearPredictor(of: theta, into: &z)
        // The line search evaluates the objective at the point it accepts, so only the
        // starting point needs its own evaluation.
        var objective = objectiveAlongDirection(step: 0)
        while true {
            accumulateGradientAndHessian()
            // `max` would skip a NaN component and let an overflowed fit pass as converged.
            let gradientNorm = gradient.contains(where: \.isNaN)
                ? Double.nan : gradient.reduce(0) { max($0, abs($1)) }
            if gradientNorm <= threshold {
                return LogisticRegression(coefficients: Array(theta[0..<p]), intercept: theta[p],
                                          c: c, iterations: iteration)
            }
            if iteration == maxIterations { throw .didNotConverge(iterations: iteration) }
            guard solveNewtonSystem(), let accepted = lineSearch(objective: objective) else {
                throw .didNotConverge(iterations: iteration)
            }
            objective = accepted
            // Recomputed rather than updated by z += step * dz, so rounding cannot accumulate.
            linearPredictor(of: theta, into: &z)
            iteration += 1
        }
    }

    /// `out[i] = x_i · params[0..<p] + params[p]`.
    func linearPredictor(of params: [Double], into out: inout [Double]) {
        let n = self.n, p = self.p
        x.values.withUnsafeBufferPointer { xs in
            params.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    for r in 0..<n {
                        let base = r * p
                        var s = w[p]
                        for j in 0..<p { s += w[j] * xs[base + j] }
                        o[r] = s
                    }
                }
            }
        }
    }

    /// Fills `gradient` and the upper triangle of `hessian` at `theta` (with `z` current).
    mutating func accumulateGradientAndHessian() {
        let n = self.n, p = self.p, dim = p + 1, c = self.c
        for k in gradient.indices { gradient[k] = 0 }
        for k in hessian.indices { hessian[k] = 0 }
        // Pass 1: per-row IRLS weight p(1 - p) and residual p - y.
        y.withUnsafeBufferPointer { ys in
            z.withUnsafeBufferPointer { zs in
                weights.withUnsafeMutableBufferPointer { wt in
                    residuals.withUnsafeMutableBufferPointer { rs in
                        for r in 0..<n {
                            let zr = zs[r]
                            let e = exp(-abs(zr))
                            let prob = zr >= 0 ? 1 / (1 + e) : e / (1 + e)
                            // p(1 - p) from e directly: no cancellation in 1 - p near 1.
                            wt[r] = e / ((1 + e) * (1 + e))
                            rs[r] = prob - ys[r]
                        }
                    }
                }
            }
        }
        // Pass 2: X^T r and the upper triangle of X^T W X. Four rows per sweep over the
        // triangle quarter the loads and stores of `hessian`, which dominate at p ≈ 20.
        x.values.withUnsafeBufferPointer { xs in
            weights.withUnsafeBufferPointer { wt in
                residuals.withUnsafeBufferPointer { rs in
                    gradient.withUnsafeMutableBufferPointer { g in
                        hessian.withUnsafeMutableBufferPointer { h in
                            var r = 0
                            while r + 4 <= n {
                                // Raw pointers with a plain `k` index: no overflow checks in the
                                // innermost loop, so the compiler can vectorise it.
                                let x0 = xs.baseAddress! + r * p, x1 = x0 + p, x2 = x1 + p, x3 = x2 + p
                                let w0 = wt[r], w1 = wt[r + 1], w2 = wt[r + 2], w3 = wt[r + 3]
                                let r0 = rs[r], r1 = rs[r + 1], r2 = rs[r + 2], r3 = rs[r + 3]
                                for j in 0..<p {
                                    let a0 = w0 * x0[j], a1 = w1 * x1[j], a2 = w2 * x2[j], a3 = w3 * x3[j]
                                    g[j] += r0 * x0[j] + r1 * x1[j] + r2 * x2[j] + r3 * x3[j]
                                    let hRow = h.baseAddress! + j * dim
                                    for k in j..<p {
                                        hRow[k] += a0 * x0[k] + a1 * x1[k] + a2 * x2[k] + a3 * x3[k]
                                    }
                                    hRow[p] += a0 + a1 + a2 + a3
                                }
                                g[p] += r0 + r1 + r2 + r3
                                h[p * dim + p] += w0 + w1 + w2 + w3
                                r += 4
                            }
                            while r < n {
                                let base = r * p, weight = wt[r], residual = rs[r]
                                for j in 0..<p {
                                    let a = weight * xs[base + j]
                                    g[j] += residual * xs[base + j]
                                    let rowStart = j * dim
                                    for k in j..<p { h[rowStart + k] += a * xs[base + k] }
                                    h[rowStart + p] += a
                                }
                                g[p] += residual
                                h[p * dim + p] += weight
                                r += 1
                            }
                        }
                    }
                }
            }
        }
        for j in 0..<p { gradient[j] = c * gradient[j] + theta[j] }
        gradient[p] *= c
        for j in 0..<dim {
            for k in j..<dim { hessian[j * dim + k] *= c }
        }
        for j in 0..<p { hessian[j * dim + j] += 1 }
    }

    /// Sets `direction` to `-H⁻¹ g` by Cholesky; adds growing diagonal damping if `H` is
    /// numerically not positive definite (only possible when every probability saturates).
    /// False if even heavy damping fails, i.e. the system holds non-finite numbers.
    mutating func solveNewtonSystem() -> Bool {
        let dim = p + 1
        var maxDiagonal = 1.0
        for j in 0..<dim { maxDiagonal = max(maxDiagonal, hessian[j * dim + j]) }
        var damping = 0.0
        var factor = hessian
        var attempts = 0
        while !Self.cholesky(&factor, dim: dim, damping: damping, from: hessian) {
            attempts += 1
            guard attempts <= 10 else { return false }
            damping = damping == 0 ? maxDiagonal * 1e-12 : damping * 100
        }
        // Forward then back substitution with L (lower triangle of `factor`, row-major).
        for i in 0..<dim {
            var s = -gradient[i]
            for k in 0..<i { s -= factor[i * dim + k] * direction[k] }
            direction[i] = s / factor[i * dim + i]
        }
        for i in stride(from: dim - 1, through: 0, by: -1) {
            var s = direction[i]
            for k in (i + 1)..<dim { s -= factor[k * dim + i] * direction[k] }
            direction[i] = s / factor[i * dim + i]
        }
        return true
    }

    /// Cholesky of the symmetric matrix whose upper triangle is `upper` (plus `damping` on
    /// the diagonal) into the lower triangle of `factor`; false if not positive definite.
    static func cholesky(_ factor: inout [Double], dim: Int, damping: Double, from upper: [Double]) -> Bool {
        for i in 0..<dim {
            for j in 0...i {
                var s = upper[j * dim + i] + (i == j ? damping : 0)
                for k in 0..<j { s -= factor[i * dim + k] * factor[j * dim + k] }
                if i == j {
                    guard s > 0, s.isFinite else { return false }
                    factor[i * dim + i] = s.squareRoot()
                } else {
                    factor[i * dim + j] = s / factor[j * dim + j]
                }
            }
        }
        return true
    }

    /// The objective at `theta + step * direction`, given `z` at `theta` and `dz = X d_w + d_b`
    /// (at step 0, the objective at `theta`).
    func objectiveAlongDirection(step: Double) -> Double {
        let n = self.n, p = self.p
        var penalty = 0.0
        for j in 0..<p {
            let w = theta[j] + step * direction[j]
            penalty += w * w
        }
        var loss = 0.0
        z.withUnsafeBufferPointer { zs in
            dz.withUnsafeBufferPointer { ds in
                y.withUnsafeBufferPointer { ys in
                    for r in 0..<n {
                        let zr = zs[r] + step * ds[r]
                        // log(1 + exp(z)) - y z without overflow for large |z|.
                        loss += max(zr, 0) + log1p(exp(-abs(zr))) - ys[r] * zr
                    }
                }
            }
        }
        return 0.5 * penalty + c * loss
    }

    /// Backtracking (Armijo) along `direction`; updates `theta` and returns the objective
    /// there. Nil if no step decreases the objective, which means the gradient is at
    /// rounding level but above tolerance.
    mutating func lineSearch(objective: Double) -> Double? {
        let p = self.p
        // dz = X d_w + d_b, so each trial step costs O(n) instead of O(n p).
        linearPredictor(of: direction, into: &dz)
        var slope = 0.0
        for k in 0...p { slope += gradient[k] * direction[k] }
        // The objective is a sum of non-negative terms, so its rounding error is a small
        // multiple of itself; without this slack, steps near the optimum would be refused
        // because their true decrease is below rounding.
        let slack = 1e-12 * objective
        var step = 1.0
        for _ in 0..<60 {
            let trial = objectiveAlongDirection(step: step)
            if trial <= objective + 1e-4 * step * slope + slack {
                for k in 0...p { theta[k] += step * direction[k] }
                return trial
            }
            step *= 0.5
        }
        return nil
    }
}
