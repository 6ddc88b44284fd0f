import Foundation
import Testing
@testable import Learning

@Suite("Matrix")
struct MatrixTests {
    let m = Matrix(rows: 3, cols: 2, values: [1, 2, 3, 4, 5, 6])

    @Test func subscriptIsRowMajor() {
        var copy = m
        #expect(copy[1, 0] == 3)
        #expect(copy[2, 1] == 6)
        copy[0, 1] = 20
        #expect(copy.values == [1, 20, 3, 4, 5, 6])
    }

    @Test func rowIsASliceWithStorageIndices() {
        let row = m.row(2)
        #expect(Array(row) == [5, 6])
        #expect(row.startIndex == 4)
    }

    @Test func rowBlockIsACopy() {
        #expect(m.rows(1..<3) == Matrix(rows: 2, cols: 2, values: [3, 4, 5, 6]))
        #expect(m.rows(1..<1) == Matrix(rows: 0, cols: 2, values: []))
    }

    @Test func codableRoundTripAndValidation() throws {
        let decoded = try JSONDecoder().decode(Matrix.self, from: JSONEncoder().encode(m))
        #expect(decoded == m)
        let broken = Data(#"{"rows":2,"cols":2,"values":[1,2,3]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Matrix.self, from: broken) }
    }
}

@Suite("StandardScaler")
struct StandardScalerTests {
    @Test func usesPopulationStandardDeviation() {
        let x = Matrix(rows: 4, cols: 2, values: [1, 10, 2, 10, 3, 10, 4, 10])
        let scaler = StandardScaler.fit(x)
        #expect(scaler.mean == [2.5, 10])
        #expect(abs(scaler.scale[0] - 1.25.squareRoot()) < 1e-15)
        // Constant column: scale 1, so it standardises to exact zeros.
        #expect(scaler.scale[1] == 1)
        let t = scaler.transform(x)
        #expect((0..<4).allSatisfy { t[$0, 1] == 0 })
    }

    @Test func constantColumnWithInexactMeanStillGetsScaleOne() {
        // 0.1 is not representable, so the computed mean is off by rounding and the raw variance is tiny, not 0.
        let x = Matrix(rows: 7, cols: 1, values: [Double](repeating: 0.1, count: 7))
        #expect(StandardScaler.fit(x).scale == [1])
    }

    @Test func largeOffsetKeepsPrecision() {
        // Prices near 1e5 with unit spread: a one-pass sum-of-squares formula would lose most digits.
        let values: [Double] = (0..<1000).map { 100_000 + Double($0 % 2 == 0 ? 1 : -1) }
        let scaler = StandardScaler.fit(Matrix(rows: 1000, cols: 1, values: values))
        #expect(scaler.mean == [100_000])
        #expect(scaler.scale == [1])
    }

    @Test func rowAndMatrixTransformsAgreeExactly() {
        let x = Matrix(rows: 3, cols: 3, values: [1, -4, 0.3, 2, 8, 0.1, 7, 1, 0.2])
        let scaler = StandardScaler.fit(x)
        let all = scaler.transform(x)
        for r in 0..<3 { #expect(scaler.transform(row: x.row(r)) == Array(all.row(r))) }
        let t = all
        for c in 0..<3 {
            let column = (0..<3).map { t[$0, c] }
            #expect(abs(column.reduce(0, +)) < 1e-12)
            #expect(abs(column.reduce(0) { $0 + $1 * $1 } / 3 - 1) < 1e-12)
        }
    }

    @Test func emptyFitIsIdentity() {
        let scaler = StandardScaler.fit(Matrix(rows: 0, cols: 2, values: []))
        #expect(scaler == StandardScaler(mean: [0, 0], scale: [1, 1]))
    }

    @Test func codableRoundTrip() throws {
        let scaler = StandardScaler.fit(Matrix(rows: 2, cols: 2, values: [1, 2, 3, 5]))
        #expect(try JSONDecoder().decode(StandardScaler.self, from: JSONEncoder().encode(scaler)) == scaler)
    }
}

@Suite("Metrics")
struct MetricsTests {
    @Test func accuracyIsFractionEqual() {
        #expect(Metrics.accuracy(predicted: [1, 0, 1, 1], actual: [1, 1, 1, 0]) == 0.5)
        #expect(Metrics.accuracy(predicted: [0, 0, 1], actual: [0, 0, 1]) == 1)
        #expect(Metrics.accuracy(predicted: [], actual: []).isNaN)
    }

    @Test func majorityBaselinePredictsTrainingMajority() {
        // Train mostly up: always predict 1; test has 3 ups out of 5.
        #expect(Metrics.majorityClassBaseline(train: [1, 1, 0], test: [1, 0, 1, 1, 0]) == 0.6)
        // Train mostly down: always predict 0.
        #expect(Metrics.majorityClassBaseline(train: [0, 0, 1], test: [1, 0, 1, 1, 0]) == 0.4)
    }

    @Test func majorityBaselineTiesPredictUp() {
        #expect(Metrics.majorityClassBaseline(train: [0, 1], test: [1, 1, 0, 1]) == 0.75)
        #expect(Metrics.majorityClassBaseline(train: [], test: [1, 0]) == 0.5)
        #expect(Metrics.majorityClassBaseline(train: [1], test: []).isNaN)
    }
}
