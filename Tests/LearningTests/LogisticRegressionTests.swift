import Foundation
import Testing
@testable import Learning

/// One scikit-learn reference case written by Fixtures/make_lr_fixture.py.
struct LRFixture: Decodable {
    let name: String
    let rows: Int
    let cols: Int
    let x: [Double]
    let y: [Double]
    let scalerMean: [Double]
    let scalerScale: [Double]
    let c: Double
    let coefficients: [Double]
    let intercept: Double
    let probabilities: [Double]
    let newtonCholeskyCoefficients: [Double]
    let newtonCholeskyIntercept: Double

    var matrix: Matrix { Matrix(rows: rows, cols: cols, values: x) }

    static func load(_ name: String) throws -> LRFixture {
        let url = try #require(Bundle.module.url(forResource: "lr_\(name)", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(LRFixture.self, from: Data(contentsOf: url))
    }
}

func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Largest component of the objective's gradient divided by c·n, computed independently of the solver.
func normalisedGradient(_ model: LogisticRegression, x: Matrix, y: [Double]) -> Double {
    let probabilities = model.probabilities(x)
    var gradient = model.coefficients
    var interceptGradient = 0.0
    for r in 0..<x.rows {
        let residual = model.c * (probabilities[r] - y[r])
        interceptGradient += residual
        for j in 0..<x.cols { gradient[j] += residual * x[r, j] }
    }
    gradient.append(interceptGradient)
    return gradient.reduce(0) { max($0, abs($1)) } / (model.c * Double(x.rows))
}

@Suite("LogisticRegression against scikit-learn")
struct LogisticRegressionSklearnTests {
    static let cases = ["basic", "hard", "separable"]

    @Test(arguments: cases)
    func coefficientsMatchScikitLearn(name: String) throws {
        let fixture = try LRFixture.load(name)
        let xs = StandardScaler.fit(fixture.matrix).transform(fixture.matrix)
        let model = try LogisticRegression.fit(x: xs, y: fixture.y, c: fixture.c)

        // Requirement: agree with sklearn's lbfgs (which stops with a gradient of up to ~4e-6 left).
        #expect(maxAbsDifference(model.coefficients, fixture.coefficients) < 1e-3)
        #expect(abs(model.intercept - fixture.intercept) < 1e-3)
        #expect(normalisedGradient(model, x: xs, y: fixture.y) <= 1e-8)
    }

    @Test(arguments: cases)
    func tightToleranceMatchesExactScikitLearnSolver(name: String) throws {
        let fixture = try LRFixture.load(name)
        let xs = StandardScaler.fit(fixture.matrix).transform(fixture.matrix)
        let model = try LogisticRegression.fit(x: xs, y: fixture.y, c: fixture.c, tolerance: 1e-12)
        // sklearn's newton-cholesky solver stops with a gradient of ~1e-13, so both sit on the same optimum.
        #expect(maxAbsDifference(model.coefficients, fixture.newtonCholeskyCoefficients) < 1e-10)
        #expect(abs(model.intercept - fixture.newtonCholeskyIntercept) < 1e-10)
        #expect(normalisedGradient(model, x: xs, y: fixture.y) <= 1e-12)
    }

    @Test(arguments: cases)
    func probabilitiesMatchScikitLearn(name: String) throws {
        let fixture = try LRFixture.load(name)
        let xs = StandardScaler.fit(fixture.matrix).transform(fixture.matrix)
        let model = try LogisticRegression.fit(x: xs, y: fixture.y, c: fixture.c)
        let probabilities = model.probabilities(xs)
        #expect(probabilities.count == fixture.rows)
        #expect(maxAbsDifference(probabilities, fixture.probabilities) < 1e-5)
    }

    @Test(arguments: cases)
    func scalerMatchesScikitLearn(name: String) throws {
        let fixture = try LRFixture.load(name)
        let scaler = StandardScaler.fit(fixture.matrix)
        #expect(maxAbsDifference(scaler.mean, fixture.scalerMean) < 1e-9)
        #expect(maxAbsDifference(scaler.scale, fixture.scalerScale) < 1e-9)
    }

    @Test func hardCaseConstantColumnGetsZeroWeight() throws {
        let fixture = try LRFixture.load("hard")
        let scaler = StandardScaler.fit(fixture.matrix)
        #expect(scaler.scale[4] == 1)
        let model = try LogisticRegression.fit(x: scaler.transform(fixture.matrix), y: fixture.y)
        // A constant column standardises to zeros, so only the penalty acts on its weight.
        #expect(abs(model.coefficients[4]) < 1e-12)
    }
}

@Suite("LogisticRegression behaviour")
struct LogisticRegressionBehaviourTests {
    /// Small deterministic non-separable data set: labels from a fixed pattern with noise flips.
    static func smallData() -> (Matrix, [Double]) {
        var values: [Double] = []
        var labels: [Double] = []
        for i in 0..<40 {
            let a = Double(i % 7) - 3
            let b = Double((i * 5) % 11) / 4 - 1.2
            values += [a, b]
            let flipped = i % 6 == 0
            labels.append((a + 0.5 * b > 0) != flipped ? 1 : 0)
        }
        return (Matrix(rows: 40, cols: 2, values: values), labels)
    }

    @Test func fittingIsDeterministic() throws {
        let (x, y) = Self.smallData()
        let first = try LogisticRegression.fit(x: x, y: y)
        let second = try LogisticRegression.fit(x: x, y: y)
        #expect(first == second)
        #expect(first.iterations > 0)
        #expect(first.iterations < 20)
    }

    @Test func convergesToStationaryPoint() throws {
        let (x, y) = Self.smallData()
        for c in [0.01, 1.0, 100.0] {
            let model = try LogisticRegression.fit(x: x, y: y, c: c)
            #expect(model.c == c)
            #expect(normalisedGradient(model, x: x, y: y) <= 1e-8)
        }
    }

    @Test func strongerRegularisationShrinksCoefficients() throws {
        let (x, y) = Self.smallData()
        let norm: (LogisticRegression) -> Double = { $0.coefficients.reduce(0) { $0 + $1 * $1 } }
        let weak = try LogisticRegression.fit(x: x, y: y, c: 10)
        let strong = try LogisticRegression.fit(x: x, y: y, c: 0.01)
        #expect(norm(strong) < norm(weak))
    }

    @Test func separableDataStaysFinite() throws {
        // Perfectly separated by a wide margin and unscaled: without the penalty the weight would diverge.
        let values: [Double] = (0..<50).map { i in i < 25 ? -1000 - Double(i) : 1000 + Double(i) }
        let x = Matrix(rows: 50, cols: 1, values: values)
        let y: [Double] = (0..<50).map { $0 < 25 ? 0 : 1 }
        let model = try LogisticRegression.fit(x: x, y: y)
        #expect(model.coefficients[0].isFinite && model.intercept.isFinite)
        #expect(model.coefficients[0] > 0)
        #expect(model.coefficients[0] < 1)
        #expect(model.probabilities(x).allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
        #expect(model.probability([1500.0]) > 0.99)
        #expect(model.probability([-1500.0]) < 0.01)
    }

    @Test func singleFeatureRowAndMatrixPathsAgreeExactly() throws {
        let (x, y) = Self.smallData()
        let model = try LogisticRegression.fit(x: x, y: y)
        let all = model.probabilities(x)
        for r in 0..<x.rows {
            #expect(model.probability(x.row(r)) == all[r])
            #expect(model.probability(Array(x.row(r))) == all[r])
        }
    }

    @Test func probabilityIsStableForExtremeScores() {
        let model = LogisticRegression(coefficients: [1], intercept: 0)
        #expect(model.probability([800.0]) == 1)
        #expect(model.probability([-800.0]) == 0)
        #expect(model.probability([-40.0]) > 0)
        #expect(model.probability([0.0]) == 0.5)
    }

    @Test func codableRoundTrip() throws {
        let (x, y) = Self.smallData()
        let model = try LogisticRegression.fit(x: x, y: y)
        let decoded = try JSONDecoder().decode(LogisticRegression.self, from: JSONEncoder().encode(model))
        #expect(decoded == model)
    }
}

@Suite("LogisticRegression errors")
struct LogisticRegressionErrorTests {
    let x = Matrix(rows: 4, cols: 2, values: [0, 1, 1, 0, 2, 2, 3, 1])

    @Test func singleClassIsRejected() {
        #expect(throws: LearningError.singleClass(label: 1)) {
            try LogisticRegression.fit(x: x, y: [1, 1, 1, 1])
        }
        #expect(throws: LearningError.singleClass(label: 0)) {
            try LogisticRegression.fit(x: x, y: [0, 0, 0, 0])
        }
        #expect(LearningError.singleClass(label: 1).description == "The training part has only one class (all up)")
    }

    @Test func nonFiniteInputNamesTheCell() {
        var bad = x
        bad[2, 1] = .nan
        #expect(throws: LearningError.nonFiniteInput(row: 2, col: 1)) {
            try LogisticRegression.fit(x: bad, y: [0, 1, 0, 1])
        }
        bad[2, 1] = 0
        bad[3, 0] = -.infinity
        #expect(throws: LearningError.nonFiniteInput(row: 3, col: 0)) {
            try LogisticRegression.fit(x: bad, y: [0, 1, 0, 1])
        }
    }

    @Test func tooFewRowsIsRejected() {
        #expect(throws: LearningError.tooFewRows(have: 1, need: 2)) {
            try LogisticRegression.fit(x: x.rows(0..<1), y: [1])
        }
        #expect(throws: LearningError.tooFewRows(have: 0, need: 2)) {
            try LogisticRegression.fit(x: Matrix(rows: 0, cols: 2, values: []), y: [])
        }
    }

    @Test func shapeMismatchIsRejected() {
        #expect(throws: LearningError.shapeMismatch("4 feature rows but 3 labels")) {
            try LogisticRegression.fit(x: x, y: [0, 1, 0])
        }
    }

    @Test func labelsOtherThanZeroOrOneAreRejected() {
        #expect(throws: LearningError.invalidLabel(row: 2, value: 2)) {
            try LogisticRegression.fit(x: x, y: [0, 1, 2, 1])
        }
        #expect {
            try LogisticRegression.fit(x: x, y: [0, 1, .nan, 1])
        } throws: { error in
            guard case .invalidLabel(let row, let value) = error as? LearningError else { return false }
            return row == 2 && value.isNaN
        }
    }

    @Test func iterationLimitIsReported() throws {
        let (data, labels) = LogisticRegressionBehaviourTests.smallData()
        #expect(throws: LearningError.didNotConverge(iterations: 0)) {
            try LogisticRegression.fit(x: data, y: labels, maxIterations: 0)
        }
        #expect(throws: LearningError.didNotConverge(iterations: 1)) {
            try LogisticRegression.fit(x: data, y: labels, tolerance: 1e-15, maxIterations: 1)
        }
    }

    @Test func overflowingInputsFailCleanly() {
        // Finite but so large that x² overflows: the solver must report failure, not loop or return NaN.
        let huge = Matrix(rows: 4, cols: 1, values: [-1e300, 1e300, -2e300, 2e300])
        #expect(throws: LearningError.didNotConverge(iterations: 0)) {
            try LogisticRegression.fit(x: huge, y: [0, 1, 1, 0])
        }
    }

    @Test func everyErrorDescriptionIsOneActionableLine() {
        // A caller's mistake says what the caller should do; what a user types about too little or one-sided data
        // is the shell's advice (Shell/Advice.swift), so those say only what failed.
        let callerMistakes: [LearningError] = [
            .nonFiniteInput(row: 3, col: 4), .shapeMismatch("4 feature rows but 3 labels"), .didNotConverge(iterations: 100),
            .invalidLabel(row: 1, value: 2),
        ]
        let fromTheData: [LearningError] = [.singleClass(label: 0), .tooFewRows(have: 1, need: 2)]
        for error in callerMistakes + fromTheData {
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains(" — ") == callerMistakes.contains(error), "\(error)")
        }
        #expect(LearningError.singleClass(label: 0).description.contains("all down"))
        #expect(LearningError.nonFiniteInput(row: 3, col: 4).description.contains("row 3, column 4"))
    }
}
