import Foundation
@testable import Learning
import MarketData
import Testing

/// A model as the product trains it: the demo market's causal features, 100 rounds of depth 6.
private struct RealModel: Sendable {
    let booster: XGBoostBooster
    let blob: Data
    let rows: Int
    let values: [Double]
    let requirements: XGBoostModelRequirements

    /// A fresh matrix of the training rows (libxgboost caches per matrix: tests running side by side get their own).
    func matrix() throws -> XGBoostMatrix {
        try XGBoostMatrix(rows: rows, cols: requirements.featureNames.count, values: values)
    }

    static let shared: RealModel = try! make(rounds: 100, maxDepth: 6)
    /// Small enough to fuzz byte by byte.
    static let small: RealModel = try! make(rounds: 3, maxDepth: 3)

    static func make(rounds: Int, maxDepth: Int) throws -> RealModel {
        let series = try DemoMarket.generate(days: 30, seed: 7, endingAt: 1_790_000_000)
        let features = FeatureBuilder.features(for: series)
        let rows = features.rows - 1
        let labels = (0..<rows).map { series.bars[features.barIndices[$0] + 1].close > series.bars[features.barIndices[$0]].close ? 1.0 : 0 }
        let matrix = try XGBoostMatrix(rows: rows, cols: features.cols, values: features.values.prefix(rows * features.cols),
                                       labels: labels)
        var parameters = XGBoostParameters()
        parameters.rounds = rounds
        parameters.maxDepth = maxDepth
        parameters.threads = 1
        let booster = try XGBoostBooster.train(matrix, parameters: parameters, featureNames: features.names)
        return RealModel(booster: booster, blob: try booster.serialized(format: .ubjson), rows: rows,
                         values: Array(features.values.prefix(rows * features.cols)), requirements: XGBoostModelRequirements(featureNames: features.names))
    }

    var document: UBJ { try! UBJ.decode(blob) }
}

/// The path of tree `index` inside a model document.
private func tree(_ document: UBJ, _ index: Int) -> UBJ { document["learner"]["gradient_booster"]["model"]["trees"][index] }
private func setTree(_ document: inout UBJ, _ index: Int, _ tree: UBJ) {
    document["learner"]["gradient_booster"]["model"]["trees"][index] = tree
}

/// The first split node (one with children) of a tree.
private func firstSplit(after node: Int, in tree: UBJ) -> Int {
    let left = tree["left_children"].int32Values
    return (node + 1..<left.count).first { left[$0] != -1 }!
}

/// Checks `document` and returns its error, or nil when it passes.
private func refusal(_ document: UBJ, _ requirements: XGBoostModelRequirements = RealModel.shared.requirements) -> XGBoostModelError? {
    refusal(document.encoded(), requirements)
}

private func refusal(_ data: Data, _ requirements: XGBoostModelRequirements = RealModel.shared.requirements) -> XGBoostModelError? {
    do {
        _ = try XGBoostModelCheck.validate(data, requirements)
        return nil
    } catch {
        return error
    }
}

@Suite struct XGBoostModelValidation {
    private let real = RealModel.shared

    @Test func aRealModelPassesAndPredictsIdenticallyAfterValidation() throws {
        let summary = try XGBoostModelCheck.validate(real.blob, real.requirements)
        #expect(summary.trees == 100 && summary.features == 19)
        #expect(summary.nodes > 100)
        // The depth the model was trained with is enough.
        var tight = real.requirements
        tight.maximumDepth = 6
        tight.maximumTrees = 100
        #expect(throws: Never.self) { try XGBoostModelCheck.validate(real.blob, tight) }
        let loaded = try XGBoostBooster.load(real.blob, requirements: real.requirements)
        let matrix = try real.matrix()
        #expect(try loaded.predict(matrix) == (try real.booster.predict(matrix)))
        #expect(loaded.featureNames == real.requirements.featureNames)
    }

    @Test func theTestEncoderWritesLibxgboostsExactBytes() throws {
        // Crafted models below differ from real ones only where each test changes them.
        #expect(real.document.encoded() == real.blob)
        #expect(RealModel.small.document.encoded() == RealModel.small.blob)
    }

    @Test func anOutOfRangeLeftChildIsRefused() throws {
        var document = real.document
        var first = tree(document, 0)
        let nodes = first["left_children"].int32Values.count
        first["left_children"].int32Values[0] = 1_000_000
        setTree(&document, 0, first)
        #expect(refusal(document) == .childOutOfRange(tree: 0, node: 0, child: 1_000_000, nodes: nodes))
        #expect(throws: XGBoostModelError.childOutOfRange(tree: 0, node: 0, child: 1_000_000, nodes: nodes)) {
            try XGBoostBooster.load(document.encoded(), requirements: real.requirements)
        }
        first["left_children"].int32Values[0] = -7
        setTree(&document, 0, first)
        #expect(refusal(document) == .childOutOfRange(tree: 0, node: 0, child: -7, nodes: nodes))
        first["left_children"].int32Values[0] = Int32(nodes)
        setTree(&document, 0, first)
        #expect(refusal(document) == .childOutOfRange(tree: 0, node: 0, child: nodes, nodes: nodes))
    }

    @Test func anOutOfRangeSplitIndexIsRefused() throws {
        for feature: Int32 in [19, 1 << 30, -1, Int32.min] {
            var document = real.document
            var first = tree(document, 0)
            first["split_indices"].int32Values[0] = feature
            setTree(&document, 0, first)
            #expect(refusal(document) == .splitFeatureOutOfRange(tree: 0, node: 0, feature: Int(feature), features: 19))
        }
    }

    @Test func aHugeOrInconsistentTreeCountIsRefused() throws {
        var document = real.document
        document["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = .string("2000000000")
        #expect(refusal(document) == .tooManyTrees(count: 2_000_000_000, limit: 5000))
        document["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = .string("99")
        #expect(refusal(document) == .treeCountMismatch(declared: 99, trees: 100, treeInfo: 100))
        document["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = .string("1e9")
        #expect(refusal(document) == .unexpectedValue(path: "learner.gradient_booster.model.gbtree_model_param.num_trees", found: "1e9"))
        var shortInfo = real.document
        shortInfo["learner"]["gradient_booster"]["model"]["tree_info"].items.removeLast()
        #expect(refusal(shortInfo) == .treeCountMismatch(declared: 100, trees: 100, treeInfo: 99))
        var fewerTrees = real.document
        fewerTrees["learner"]["gradient_booster"]["model"]["trees"].items.removeLast()
        #expect(refusal(fewerTrees) == .treeCountMismatch(declared: 100, trees: 99, treeInfo: 100))
    }

    @Test func sixThousandDuplicatedTreesAreRefused() throws {
        // The small model's trees, so that 6,000 of them encode quickly.
        var document = RealModel.small.document
        let first = tree(document, 0)
        document["learner"]["gradient_booster"]["model"]["trees"] = .array((0..<6000).map { index in
            var copy = first
            copy["id"] = .int(Int64(index))
            return copy
        })
        document["learner"]["gradient_booster"]["model"]["tree_info"] = .array(Array(repeating: .int(0), count: 6000))
        document["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = .string("6000")
        #expect(refusal(document) == .tooManyTrees(count: 6000, limit: 5000))
        // Duplicates within the limit keep the id of the tree they copy.
        var twice = RealModel.small.document
        setTree(&twice, 1, first)
        #expect(refusal(twice) == .treeIDMismatch(tree: 1, id: 0))
    }

    @Test func selfLoopsCyclesAndBackwardChildrenAreRefused() throws {
        let first = tree(real.document, 0)
        let split = firstSplit(after: 0, in: first)
        var document = real.document
        var loop = first
        loop["left_children"].int32Values[0] = 0
        setTree(&document, 0, loop)
        #expect(refusal(document) == .childNotForward(tree: 0, node: 0, child: 0))
        // A later split pointing back at the root closes a cycle.
        var cycle = first
        cycle["right_children"].int32Values[split] = 0
        setTree(&document, 0, cycle)
        #expect(refusal(document) == .childNotForward(tree: 0, node: split, child: 0))
        var backward = first
        backward["left_children"].int32Values[split] = Int32(split - 1)
        setTree(&document, 0, backward)
        #expect(refusal(document) == .childNotForward(tree: 0, node: split, child: split - 1))
    }

    @Test func sharedUnreachableAndOneChildNodesAreRefused() throws {
        let first = tree(real.document, 0)
        let left = first["left_children"].int32Values
        var document = real.document
        var shared = first
        shared["right_children"].int32Values[0] = left[0]
        setTree(&document, 0, shared)
        #expect(refusal(document) == .sharedNode(tree: 0, node: Int(left[0])))
        var single = first
        single["right_children"].int32Values[0] = -1
        setTree(&document, 0, single)
        #expect(refusal(document) == .singleChild(tree: 0, node: 0))
        // An extra, well-formed leaf that no split points to.
        var orphan = first
        let nodes = left.count
        orphan["left_children"].int32Values.append(-1)
        orphan["right_children"].int32Values.append(-1)
        orphan["parents"].int32Values.append(0)
        orphan["split_indices"].int32Values.append(0)
        for key in ["base_weights", "loss_changes", "split_conditions", "sum_hessian"] { orphan[key].floatValues.append(0) }
        for key in ["default_left", "split_type"] { orphan[key].byteValues.append(0) }
        orphan["tree_param"]["num_nodes"] = .string(String(nodes + 1))
        setTree(&document, 0, orphan)
        #expect(refusal(document) == .unreachableNode(tree: 0, node: nodes))
        var parent = first
        parent["parents"].int32Values[Int(left[0])] = 5
        setTree(&document, 0, parent)
        #expect(refusal(document) == .parentMismatch(tree: 0, node: Int(left[0]), parent: 5, expected: 0))
    }

    @Test func perNodeArraysMustAllHaveTheNodeCount() throws {
        let first = tree(real.document, 0)
        let nodes = first["left_children"].int32Values.count
        for key in ["base_weights", "default_left", "left_children", "loss_changes", "parents", "right_children",
                    "split_conditions", "split_indices", "split_type", "sum_hessian"] {
            var document = real.document
            var shorter = first
            switch shorter[key] {
            case .floats(var values): values.removeLast(); shorter[key] = .floats(values)
            case .int32s(var values): values.removeLast(); shorter[key] = .int32s(values)
            case .bytes(var values): values.removeLast(); shorter[key] = .bytes(values)
            default: Issue.record("unexpected type of \(key)")
            }
            setTree(&document, 0, shorter)
            #expect(refusal(document) == .arrayLength(tree: 0, array: key, count: nodes - 1, nodes: nodes), "\(key)")
        }
        var document = real.document
        var wrongCount = first
        wrongCount["tree_param"]["num_nodes"] = .string("2000000")
        setTree(&document, 0, wrongCount)
        #expect(refusal(document) == .arrayLength(tree: 0, array: "base_weights", count: nodes, nodes: 2_000_000))
        wrongCount["tree_param"]["num_nodes"] = .string("9999999")
        setTree(&document, 0, wrongCount)
        #expect(refusal(document) == .nodeCount(tree: 0, count: 9_999_999, limit: (1 << 21) - 1))
        wrongCount["tree_param"]["num_nodes"] = .string("0")
        setTree(&document, 0, wrongCount)
        #expect(refusal(document) == .nodeCount(tree: 0, count: 0, limit: (1 << 21) - 1))
    }

    @Test func treesDeeperOrLargerThanTheSettingsAllowAreRefused() throws {
        // A chain: every even node splits into a leaf (odd) and the next split, down to depth 7 in 15 nodes.
        let nodes = 15
        var chain = tree(real.document, 0)
        var left: [Int32] = [], right: [Int32] = [], parents: [Int32] = [], features: [Int32] = []
        for node in 0..<nodes {
            let splits = node % 2 == 0 && node < nodes - 1
            left.append(splits ? Int32(node + 1) : -1)
            right.append(splits ? Int32(node + 2) : -1)
            parents.append(node == 0 ? Int32.max : Int32((node - 1) / 2 * 2))
            features.append(Int32(node % 19))
        }
        chain["left_children"] = .int32s(left)
        chain["right_children"] = .int32s(right)
        chain["parents"] = .int32s(parents)
        chain["split_indices"] = .int32s(features)
        for key in ["base_weights", "loss_changes", "split_conditions", "sum_hessian"] {
            chain[key] = .floats((0..<nodes).map { Float($0) / 100 })
        }
        for key in ["default_left", "split_type"] { chain[key] = .bytes(Array(repeating: 0, count: nodes)) }
        chain["tree_param"]["num_nodes"] = .string(String(nodes))
        var document = real.document
        setTree(&document, 0, chain)
        var depthSix = real.requirements
        depthSix.maximumDepth = 6
        #expect(refusal(document, depthSix) == .tooDeep(tree: 0, node: 13, limit: 6))
        // Within the deepest allowed depth the same chain is a model libxgboost walks safely.
        #expect(refusal(document) == nil)
        let booster = try XGBoostBooster.load(document.encoded(), requirements: real.requirements)
        #expect(try booster.predict(try real.matrix()).allSatisfy { $0 > 0 && $0 < 1 })
        // Larger than a tree of the allowed depth can be: refused before its structure is walked.
        var tiny = real.requirements
        tiny.maximumDepth = 1
        guard case .nodeCount(_, _, 3) = try #require(refusal(real.blob, tiny)) else { Issue.record("node count"); return }
        var fewRounds = real.requirements
        fewRounds.maximumTrees = 99
        #expect(refusal(real.blob, fewRounds) == .tooManyTrees(count: 100, limit: 99))
    }

    @Test(arguments: ["split_conditions", "base_weights", "loss_changes", "sum_hessian"])
    func nonFiniteNumbersAreRefused(key: String) throws {
        let first = tree(real.document, 0)
        let leaf = first["left_children"].int32Values.firstIndex(of: -1)!
        for (node, value) in [(0, Float.nan), (leaf, Float.infinity), (leaf, -Float.infinity)] {
            var document = real.document
            var changed = first
            changed[key].floatValues[node] = value
            setTree(&document, 0, changed)
            #expect(refusal(document) == .nonFinite(path: "learner.gradient_booster.model.trees[0].\(key)[\(node)]"))
        }
    }

    @Test func theBaseScoreMustBeAFiniteProbability() throws {
        let path = "learner.learner_model_param.base_score"
        for (text, expected) in [("1e999", XGBoostModelError.nonFinite(path: path)),
                                 ("nan", .unexpectedValue(path: path, found: "nan")),
                                 ("inf", .unexpectedValue(path: path, found: "inf")),
                                 ("1", .unexpectedValue(path: path, found: "1")),
                                 ("0", .unexpectedValue(path: path, found: "0")),
                                 ("0x1p-1", .unexpectedValue(path: path, found: "0x1p-1"))] {
            var document = real.document
            document["learner"]["learner_model_param"]["base_score"] = .string(text)
            #expect(refusal(document) == expected, "\(text)")
        }
        var document = real.document
        document["learner"]["learner_model_param"]["base_score"] = .string("2.5E-1")
        #expect(refusal(document) == nil)
    }

    @Test func onlyTheSchemasKeysAndTheExpectedSettingsPass() throws {
        var extra = real.document
        extra["learner"]["extra"] = .string("x")
        #expect(refusal(extra) == .unknownKey(path: "learner", key: "extra"))
        var missing = real.document
        missing["learner"].removeKey("objective")
        #expect(refusal(missing) == .missingKey(path: "learner", key: "objective"))
        var duplicated = real.document
        guard case .object(var members) = duplicated["learner"] else { Issue.record("learner"); return }
        members.append(members[0])
        duplicated["learner"] = .object(members)
        #expect(refusal(duplicated) == .duplicateKey(path: "learner", key: "attributes"))
        var attributes = real.document
        attributes["learner"]["attributes"]["best_iteration"] = .string("3")
        #expect(refusal(attributes) == .unknownKey(path: "learner.attributes", key: "best_iteration"))
        var objective = real.document
        objective["learner"]["objective"]["name"] = .string("reg:squarederror")
        #expect(refusal(objective) == .unexpectedValue(path: "learner.objective.name", found: "reg:squarederror"))
        var classes = real.document
        classes["learner"]["learner_model_param"]["num_class"] = .string("3")
        #expect(refusal(classes) == .unexpectedValue(path: "learner.learner_model_param.num_class", found: "3"))
        var version = real.document
        version["version"] = .array([.int(2), .int(0), .int(0)])
        #expect(refusal(version) == .unsupportedVersion([2, 0, 0]))
        var categorical = real.document
        var first = tree(categorical, 0)
        first["split_type"].byteValues[0] = 1
        setTree(&categorical, 0, first)
        #expect(refusal(categorical) == .categoricalSplits(tree: 0))
        first = tree(real.document, 0)
        first["categories"] = .int32s([1])
        setTree(&categorical, 0, first)
        #expect(refusal(categorical) == .categoricalSplits(tree: 0))
        var flag = real.document
        first = tree(real.document, 0)
        first["default_left"].byteValues[0] = 2
        setTree(&flag, 0, first)
        #expect(refusal(flag) == .invalidFlag(tree: 0, array: "default_left", node: 0, value: 2))
        // A typed array of another element type than libxgboost writes.
        var retyped = real.document
        first = tree(real.document, 0)
        first["left_children"] = .int64s(first["left_children"].int32Values.map(Int64.init))
        setTree(&retyped, 0, first)
        guard case .unexpectedByte(let path, _, UInt8(ascii: "L"), UInt8(ascii: "l")) = try #require(refusal(retyped)) else {
            Issue.record("retyped left_children"); return
        }
        #expect(path == "learner.gradient_booster.model.trees[0].left_children")
    }

    @Test func theFeatureSetMustMatch() throws {
        var other = real.requirements
        other.featureNames[3] = "something_else"
        #expect(refusal(real.blob, other) == .featureMismatch(index: 3, found: real.requirements.featureNames[3], expected: "something_else"))
        other.featureNames.append("one_more")
        #expect(refusal(real.blob, other) == .featureCountMismatch(found: 19, expected: 20))
        var numFeature = real.document
        numFeature["learner"]["learner_model_param"]["num_feature"] = .string("25")
        #expect(refusal(numFeature) == .featureCountMismatch(found: 25, expected: 19))
        var types = real.document
        guard case .array(var items) = types["learner"]["feature_types"] else { Issue.record("types"); return }
        items[0] = .string("c")
        types["learner"]["feature_types"] = .array(items)
        #expect(refusal(types) == .featureMismatch(index: 0, found: "c", expected: "float"))
    }

    @Test func trailingTruncatedAndGarbageBytesAreRefused() throws {
        #expect(refusal(real.blob + Data([0])) == .trailingBytes(count: 1))
        #expect(refusal(real.blob + real.blob) == .trailingBytes(count: real.blob.count))
        #expect(refusal(Data()) == .truncated(offset: 0))
        #expect(refusal(Data("not a model".utf8)) == .unexpectedByte(path: "model", offset: 0, found: UInt8(ascii: "n"), expected: UInt8(ascii: "{")))
        #expect(refusal(Data("{}".utf8)) == .missingKey(path: "model", key: "learner"))
        // Every prefix of a real model is refused, never read past its end.
        let small = RealModel.small
        for length in 0..<small.blob.count {
            #expect(refusal(small.blob.prefix(length), small.requirements) != nil, "prefix \(length)")
        }
        // A count claiming more than the bytes left is refused at once, whatever it is.
        let huge = Data([UInt8(ascii: "{"), UInt8(ascii: "L")] + [0x7f] + Array(repeating: 0xff, count: 7))
        guard case .countBeyondData = try #require(refusal(huge)) else { Issue.record("huge key length"); return }
        var generator = SeededBytes(seed: 11)
        for _ in 0..<500 {
            let garbage = Data((0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            #expect(refusal(garbage) != nil)
        }
    }

    /// Random byte changes of a real model: each is refused, or it is a model libxgboost loads and predicts with
    /// probabilities (which only a valid tree walk can give) — never a crash or a hang.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func mutatedModelsAreRefusedOrSafe(seed: UInt64) throws {
        let small = RealModel.small
        var generator = SeededBytes(seed: seed)
        var refused = 0
        let matrix = try small.matrix()
        for _ in 0..<400 {
            var bytes = [UInt8](small.blob)
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let at = Int(generator.next() % UInt64(bytes.count))
                bytes[at] = generator.next() % 4 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : bytes[at] ^ (1 << (generator.next() % 8))
            }
            do {
                let booster = try XGBoostBooster.load(Data(bytes), requirements: small.requirements)
                let predictions = try booster.predict(matrix)
                #expect(predictions.allSatisfy { $0 >= 0 && $0 <= 1 })
            } catch is XGBoostModelError {
                refused += 1
            }
        }
        #expect(refused > 200, "most random changes break the structure or the schema")
    }

    @Test func validationIsFast() throws {
        // Measured in release by `lgc-bench` (xgboost_validate); here only a sanity bound for debug builds.
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for _ in 0..<10 { _ = try XGBoostModelCheck.validate(real.blob, real.requirements) }
        }
        #expect(elapsed < .seconds(2), "\(elapsed / 10) per validation")
    }
}

/// SplitMix64, for reproducible random bytes.
struct SeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
