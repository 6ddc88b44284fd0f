import CXGBoost
import Foundation

/// An error from libxgboost, carrying the call that failed and `XGBGetLastError()`'s message on one line.
public struct XGBoostError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let message: String

    public var description: String { "XGBoost \(call) failed: \(message)" }

    /// The library's message without what only its developers need: the `[12:34:56] ./src/file.cc:123: ` prefix
    /// and the `Stack trace:` of addresses that follows it; what is left is put on one line, control characters
    /// as spaces.
    static func summary(_ raw: String) -> String {
        var text = Substring(raw)
        if let trace = text.range(of: "Stack trace:") { text = text[..<trace.lowerBound] }
        text = text.drop(while: \.isWhitespace)
        // "[hh:mm:ss] " then "path:line: ".
        if text.first == "[", let close = text.firstIndex(of: "]"),
           text[text.index(after: text.startIndex)..<close].allSatisfy({ $0.isNumber || $0 == ":" }) {
            text = text[text.index(after: close)...].drop(while: \.isWhitespace)
            if let colon = text.range(of: ": "), let lineColon = text[..<colon.lowerBound].lastIndex(of: ":"),
               !text[..<lineColon].contains(" "),
               text[text.index(after: lineColon)..<colon.lowerBound].allSatisfy(\.isNumber),
               text.index(after: lineColon) < colon.lowerBound {
                text = text[colon.upperBound...]
            }
        }
        let words = text.unicodeScalars.split { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
        let line = words.map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
        return line.isEmpty ? "no message" : line
    }
}

/// Checks a C API status; non-zero becomes an `XGBoostError` with the library's own message.
@inline(__always)
func check(_ status: Int32, _ call: @autoclosure () -> String) throws(XGBoostError) {
    guard status != 0 else { return }
    let message = XGBGetLastError().map { String(cString: $0) } ?? "unknown error"
    throw XGBoostError(call: call(), message: XGBoostError.summary(message))
}

/// A dense float matrix handed to XGBoost. NaN entries are *missing* values, not zeros.
/// The handle is freed when the value is released; it never leaves this type.
public final class XGBoostMatrix {
    fileprivate let handle: DMatrixHandle
    public let rows: Int
    public let cols: Int

    /// `values` is row-major Double, converted to the Float XGBoost stores.
    public init(rows: Int, cols: Int, values: some Collection<Double>, labels: [Double]? = nil) throws(XGBoostError) {
        precondition(values.count == rows * cols, "matrix shape does not match its values")
        let floats = values.map { Float($0) }
        var out: DMatrixHandle?
        try check(floats.withUnsafeBufferPointer {
            XGDMatrixCreateFromMat($0.baseAddress, UInt64(rows), UInt64(cols), Float.nan, &out)
        }, "XGDMatrixCreateFromMat")
        guard let out else { throw XGBoostError(call: "XGDMatrixCreateFromMat", message: "no matrix returned") }
        handle = out
        self.rows = rows
        self.cols = cols
        if let labels {
            precondition(labels.count == rows, "one label per row")
            let floatLabels = labels.map { Float($0) }
            try check(floatLabels.withUnsafeBufferPointer {
                XGDMatrixSetFloatInfo(handle, "label", $0.baseAddress, UInt64(rows))
            }, "XGDMatrixSetFloatInfo(label)")
        }
    }

    deinit { XGDMatrixFree(handle) }

    /// Entries that are not missing (NaN counts as missing).
    public func nonMissingCount() throws(XGBoostError) -> Int {
        var count: UInt64 = 0
        try check(XGDMatrixNumNonMissing(handle, &count), "XGDMatrixNumNonMissing")
        return Int(count)
    }
}

/// Training parameters, with the seed app's defaults.
public struct XGBoostParameters: Sendable, Equatable, Codable {
    public var rounds = 100
    public var maxDepth = 6
    /// The rounds the settings allow (`xgboost.n_estimators`); a stored model has at most this many trees.
    public static let roundsRange = 1...5000
    /// The depths the settings allow (`xgboost.max_depth`); a stored tree is at most this deep.
    public static let maxDepthRange = 1...20
    public var learningRate = 0.1
    public var subsample = 1.0
    public var columnSample = 1.0
    public var minChildWeight = 1.0
    public var lambda = 1.0
    public var seed = 42
    /// 0 means one thread per core.
    public var threads = 0

    public init() {}

    var threadCount: Int { threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount }

    /// The key–value pairs given to `XGBoosterSetParam`.
    var pairs: [(String, String)] {
        [("objective", "binary:logistic"), ("eval_metric", "logloss"), ("tree_method", "hist"),
         ("max_depth", String(maxDepth)), ("eta", String(learningRate)), ("subsample", String(subsample)),
         ("colsample_bytree", String(columnSample)), ("min_child_weight", String(minChildWeight)),
         ("lambda", String(lambda)), ("seed", String(seed)), ("nthread", String(threadCount)),
         ("verbosity", "0")]
    }
}

/// A gradient-boosted tree model in libxgboost. Thread-safe: calls into the booster are serialised.
public final class XGBoostBooster: @unchecked Sendable {
    private let handle: BoosterHandle
    private let lock = NSLock()
    private var ownsHandle = true
    public let featureNames: [String]

    private init(handle: BoosterHandle, featureNames: [String]) {
        self.handle = handle
        self.featureNames = featureNames
    }

    deinit {
        if ownsHandle { XGBoosterFree(handle) }
    }

    private static func create(featureNames: [String], cache: [XGBoostMatrix]) throws(XGBoostError) -> XGBoostBooster {
        var out: BoosterHandle?
        var handles: [DMatrixHandle?] = cache.map { $0.handle }
        try check(XGBoosterCreate(&handles, UInt64(handles.count), &out), "XGBoosterCreate")
        guard let out else { throw XGBoostError(call: "XGBoosterCreate", message: "no booster returned") }
        let booster = XGBoostBooster(handle: out, featureNames: featureNames)
        if !featureNames.isEmpty { try booster.setFeatureNames() }
        return booster
    }

    private func setFeatureNames() throws(XGBoostError) {
        let cStrings = featureNames.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var pointers = cStrings.map { UnsafePointer<CChar>($0) }
        try check(XGBoosterSetStrFeatureInfo(handle, "feature_name", &pointers, UInt64(pointers.count)),
                  "XGBoosterSetStrFeatureInfo(feature_name)")
        let types = featureNames.map { _ in strdup("float") }
        defer { types.forEach { free($0) } }
        var typePointers = types.map { UnsafePointer<CChar>($0) }
        try check(XGBoosterSetStrFeatureInfo(handle, "feature_type", &typePointers, UInt64(typePointers.count)),
                  "XGBoosterSetStrFeatureInfo(feature_type)")
    }

    /// Fits `parameters.rounds` boosting rounds on `train` (which must carry labels).
    public static func train(_ train: XGBoostMatrix, parameters: XGBoostParameters,
                             featureNames: [String] = []) throws(XGBoostError) -> XGBoostBooster {
        let booster = try create(featureNames: featureNames, cache: [train])
        for (name, value) in parameters.pairs {
            try check(XGBoosterSetParam(booster.handle, name, value), "XGBoosterSetParam(\(name)=\(value))")
        }
        for round in 0..<parameters.rounds {
            try check(XGBoosterUpdateOneIter(booster.handle, Int32(round), train.handle), "XGBoosterUpdateOneIter")
        }
        return booster
    }

    /// Rebuilds a booster from UBJSON written by `serialized(format: .ubjson)`, from anywhere: it first passes
    /// `XGBoostModelCheck.validate` (throwing `XGBoostModelError`), so libxgboost only ever sees a model whose every
    /// index and count is in range; then the library's own errors are `XGBoostError`. The feature names stored in
    /// the model come back with it.
    public static func load(_ data: Data, requirements: XGBoostModelRequirements) throws -> XGBoostBooster {
        _ = try XGBoostModelCheck.validate(data, requirements)
        return try loadUnchecked(data)
    }

    /// Rebuilds a booster from a buffer (UBJSON or JSON) trusted to come from `serialized(format:)` in this
    /// process: libxgboost does not check a model's indices, so bytes from anywhere else go through `load(_:requirements:)`.
    static func loadUnchecked(_ data: Data) throws(XGBoostError) -> XGBoostBooster {
        var out: BoosterHandle?
        var none: [DMatrixHandle?] = []
        try check(XGBoosterCreate(&none, 0, &out), "XGBoosterCreate")
        guard let out else { throw XGBoostError(call: "XGBoosterCreate", message: "no booster returned") }
        // Owned from here on, so an error below still frees it.
        let empty = XGBoostBooster(handle: out, featureNames: [])
        try check(data.withUnsafeBytes { XGBoosterLoadModelFromBuffer(out, $0.baseAddress, UInt64($0.count)) },
                  "XGBoosterLoadModelFromBuffer")
        var count: UInt64 = 0
        var names: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        try check(XGBoosterGetStrFeatureInfo(out, "feature_name", &count, &names), "XGBoosterGetStrFeatureInfo")
        let featureNames = (0..<Int(count)).compactMap { index in names?[index].map { String(cString: $0) } }
        return empty.retitled(featureNames)
    }

    /// The same handle under its stored feature names; `self` gives up ownership.
    private func retitled(_ names: [String]) -> XGBoostBooster {
        ownsHandle = false
        return XGBoostBooster(handle: handle, featureNames: names)
    }

    public enum Format: String, Sendable { case ubjson = "ubj", json }

    /// The whole model in XGBoost's own format; `load` gives back identical predictions.
    public func serialized(format: Format) throws(XGBoostError) -> Data {
        lock.lock()
        defer { lock.unlock() }
        var length: UInt64 = 0
        var pointer: UnsafePointer<CChar>?
        try check(XGBoosterSaveModelToBuffer(handle, "{\"format\": \"\(format.rawValue)\"}", &length, &pointer),
                  "XGBoosterSaveModelToBuffer")
        guard let pointer else { return Data() }
        return Data(bytes: pointer, count: Int(length))
    }

    /// Probability of class 1 for each row.
    public func predict(_ matrix: XGBoostMatrix) throws(XGBoostError) -> [Double] {
        lock.lock()
        defer { lock.unlock() }
        var length: UInt64 = 0
        var result: UnsafePointer<Float>?
        try check(XGBoosterPredict(handle, matrix.handle, 0, 0, 0, &length, &result), "XGBoosterPredict")
        guard let result else { return [] }
        return (0..<Int(length)).map { Double(result[$0]) }
    }

    /// Average gain per feature over the splits that use it (features never used are absent).
    public func importanceByGain() throws(XGBoostError) -> [(feature: String, gain: Double)] {
        lock.lock()
        defer { lock.unlock() }
        var count: UInt64 = 0
        var names: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var dimension: UInt64 = 0
        var shape: UnsafePointer<UInt64>?
        var scores: UnsafePointer<Float>?
        try check(XGBoosterFeatureScore(handle, "{\"importance_type\": \"gain\"}", &count, &names,
                                        &dimension, &shape, &scores), "XGBoosterFeatureScore")
        guard let names, let scores else { return [] }
        return (0..<Int(count)).map { index in
            (names[index].map { String(cString: $0) } ?? "f\(index)", Double(scores[index]))
        }
    }
}
