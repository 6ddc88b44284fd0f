/// Dense row-major matrix of Doubles.
public struct Matrix: Sendable, Equatable, Codable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let cols: Int
    /// Row-major storage: element (r, c) is `values[r * cols + c]`.
    public var values: [Double]

    /// Wraps row-major `values`; `values.count` must equal `rows * cols`.
    public init(rows: Int, cols: Int, values: [Double]) {
        precondition(rows >= 0 && cols >= 0, "Matrix dimensions must be non-negative, got \(rows)x\(cols)")
        precondition(values.count == rows * cols, "Matrix \(rows)x\(cols) needs \(rows * cols) values, got \(values.count)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// Element at row `r`, column `c`.
    public subscript(r: Int, c: Int) -> Double {
        get {
            precondition(r >= 0 && r < rows && c >= 0 && c < cols, "Matrix index (\(r), \(c)) out of range \(rows)x\(cols)")
            return values[r * cols + c]
        }
        set {
            precondition(r >= 0 && r < rows && c >= 0 && c < cols, "Matrix index (\(r), \(c)) out of range \(rows)x\(cols)")
            values[r * cols + c] = newValue
        }
    }

    /// Row `r` as a slice of `values` (its indices start at `r * cols`, not 0).
    public func row(_ r: Int) -> ArraySlice<Double> {
        precondition(r >= 0 && r < rows, "Matrix row \(r) out of range 0..<\(rows)")
        return values[(r * cols)..<((r + 1) * cols)]
    }

    /// A copy of the contiguous block of rows `range`.
    public func rows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "Matrix rows \(range) out of range 0..<\(rows)")
        return Matrix(rows: range.count, cols: cols,
                      values: Array(values[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    private enum CodingKeys: String, CodingKey { case rows, cols, values }

    /// Decodes and checks that the stored shape matches the number of values.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try container.decode(Int.self, forKey: .rows)
        let cols = try container.decode(Int.self, forKey: .cols)
        let values = try container.decode([Double].self, forKey: .values)
        guard rows >= 0, cols >= 0, values.count == rows * cols else {
            throw DecodingError.dataCorruptedError(
                forKey: .values, in: container,
                debugDescription: "Matrix \(rows)x\(cols) needs \(max(0, rows * cols)) values, got \(values.count)")
        }
        self.init(rows: rows, cols: cols, values: values)
    }
}
