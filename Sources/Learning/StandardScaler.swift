/// Per-column standardisation `(x - mean) / scale`, matching scikit-learn's `StandardScaler`.
///
/// `scale` is the population standard deviation (ddof = 0). A column that is constant
/// (to within the rounding error of the variance computation, by scikit-learn's rule)
/// gets scale 1, so it maps to zeros instead of dividing by ~0.
public struct StandardScaler: Sendable, Equatable, Codable {
    /// Column means of the fitted data.
    public let mean: [Double]
    /// Column population standard deviations; 1 for constant columns.
    public let scale: [Double]

    /// Creates a scaler from known statistics; both arrays must have the same length.
    public init(mean: [Double], scale: [Double]) {
        precondition(mean.count == scale.count, "StandardScaler mean has \(mean.count) columns, scale has \(scale.count)")
        self.mean = mean
        self.scale = scale
    }

    /// Learns column means and standard deviations from `x` (no rows: mean 0, scale 1).
    public static func fit(_ x: Matrix) -> StandardScaler {
        let n = x.rows, p = x.cols
        var mean = [Double](repeating: 0, count: p)
        var variance = [Double](repeating: 0, count: p)
        guard n > 0 else { return StandardScaler(mean: mean, scale: [Double](repeating: 1, count: p)) }
        // Two passes (mean, then squared deviations) as scikit-learn does: accurate even
        // when the offset is large compared with the spread (prices around 1e5).
        x.values.withUnsafeBufferPointer { xs in
            mean.withUnsafeMutableBufferPointer { m in
                for r in 0..<n {
                    let base = r * p
                    for c in 0..<p { m[c] += xs[base + c] }
                }
                let invN = 1.0 / Double(n)
                for c in 0..<p { m[c] *= invN }
                variance.withUnsafeMutableBufferPointer { v in
                    for r in 0..<n {
                        let base = r * p
                        for c in 0..<p {
                            let d = xs[base + c] - m[c]
                            v[c] += d * d
                        }
                    }
                    for c in 0..<p { v[c] *= invN }
                }
            }
        }
        // scikit-learn's `_is_constant_feature`: a variance within the two-pass
        // algorithm's error bound is indistinguishable from zero.
        let eps = Double.ulpOfOne
        let count = Double(n)
        var scale = [Double](repeating: 1, count: p)
        for c in 0..<p {
            let bound = count * eps * variance[c] + (count * mean[c] * eps) * (count * mean[c] * eps)
            if variance[c] > bound { scale[c] = variance[c].squareRoot() }
        }
        return StandardScaler(mean: mean, scale: scale)
    }

    /// Standardises every row of `x`; `x.cols` must equal the fitted column count.
    public func transform(_ x: Matrix) -> Matrix {
        let p = mean.count
        precondition(x.cols == p, "StandardScaler fitted on \(p) columns, got \(x.cols)")
        var out = x.values
        // Divide (not multiply by 1/scale) so results are bit-identical to
        // `transform(row:)` and to scikit-learn.
        mean.withUnsafeBufferPointer { m in
            scale.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    for r in 0..<x.rows {
                        let base = r * p
                        for c in 0..<p { o[base + c] = (o[base + c] - m[c]) / s[c] }
                    }
                }
            }
        }
        return Matrix(rows: x.rows, cols: p, values: out)
    }

    /// Standardises one row; its length must equal the fitted column count.
    public func transform(row: ArraySlice<Double>) -> [Double] {
        precondition(row.count == mean.count, "StandardScaler fitted on \(mean.count) columns, got \(row.count)")
        var out = [Double]()
        out.reserveCapacity(row.count)
        for (c, value) in zip(0..., row) { out.append((value - mean[c]) / scale[c]) }
        return out
    }
}
