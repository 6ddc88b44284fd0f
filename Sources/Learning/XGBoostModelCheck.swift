import Foundation

/// Why a stored XGBoost model was refused before it reached libxgboost. Each case names the part at fault; the
/// wording lives in `description` only, one line.
public enum XGBoostModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data ends inside a value.
    case truncated(offset: Int)
    /// A byte other than the UBJSON marker libxgboost writes there.
    case unexpectedByte(path: String, offset: Int, found: UInt8, expected: UInt8)
    /// A length or count larger than the bytes left could hold (or negative).
    case countBeyondData(path: String, offset: Int, count: Int64, remaining: Int)
    /// A string that is not UTF-8.
    case invalidText(path: String, offset: Int)
    /// Bytes after the model's closing brace.
    case trailingBytes(count: Int)
    /// A key the model schema does not have.
    case unknownKey(path: String, key: String)
    /// A key given twice in one object.
    case duplicateKey(path: String, key: String)
    /// A key the model needs is absent.
    case missingKey(path: String, key: String)
    /// A setting with a value lgc-shell never writes (objective, class count, number format …).
    case unexpectedValue(path: String, found: String)
    /// Written by an XGBoost whose model schema this reader does not know.
    case unsupportedVersion([Int64])
    /// More trees than the largest `xgboost.n_estimators` allows.
    case tooManyTrees(count: Int, limit: Int)
    /// `num_trees`, the tree array and `tree_info` disagree.
    case treeCountMismatch(declared: Int, trees: Int, treeInfo: Int)
    /// A tree's `id` is not its position.
    case treeIDMismatch(tree: Int, id: Int64)
    /// The model's feature count is not the feature set's.
    case featureCountMismatch(found: Int, expected: Int)
    /// A feature name (or its type) differs from the feature set's.
    case featureMismatch(index: Int, found: String, expected: String)
    /// A tree with no nodes, or more than a tree of the deepest allowed depth can have.
    case nodeCount(tree: Int, count: Int, limit: Int)
    /// A per-node array whose length is not the tree's node count.
    case arrayLength(tree: Int, array: String, count: Int, nodes: Int)
    /// Categorical splits, which lgc-shell never trains.
    case categoricalSplits(tree: Int)
    /// A child index outside the tree.
    case childOutOfRange(tree: Int, node: Int, child: Int, nodes: Int)
    /// A child index at or before its parent (the only way to build a cycle).
    case childNotForward(tree: Int, node: Int, child: Int)
    /// A node with one child: XGBoost nodes have two or none.
    case singleChild(tree: Int, node: Int)
    /// A node that two splits point to.
    case sharedNode(tree: Int, node: Int)
    /// A node no split points to.
    case unreachableNode(tree: Int, node: Int)
    /// A `parents` entry that does not name the node's split.
    case parentMismatch(tree: Int, node: Int, parent: Int, expected: Int)
    /// A node deeper than the deepest allowed `xgboost.max_depth`.
    case tooDeep(tree: Int, node: Int, limit: Int)
    /// A split on a feature index outside the feature set.
    case splitFeatureOutOfRange(tree: Int, node: Int, feature: Int, features: Int)
    /// A NaN or infinite number where the model needs a finite one.
    case nonFinite(path: String)
    /// A flag that is neither 0 nor 1.
    case invalidFlag(tree: Int, array: String, node: Int, value: UInt8)

    public var description: String {
        switch self {
        case .truncated(let offset):
            return "it ends inside a value at byte \(offset)"
        case .unexpectedByte(let path, let offset, let found, let expected):
            return "\(path): byte \(offset) is \(Self.show(found)), expected \(Self.show(expected))"
        case .countBeyondData(let path, let offset, let count, let remaining):
            return "\(path): the count \(count) at byte \(offset) does not fit the \(remaining) bytes left"
        case .invalidText(let path, let offset):
            return "\(path): the string at byte \(offset) is not UTF-8"
        case .trailingBytes(let count):
            return "\(count) bytes follow the end of the model"
        case .unknownKey(let path, let key):
            return "\(path) has an unknown key \(Self.quote(key))"
        case .duplicateKey(let path, let key):
            return "\(path) has the key \(Self.quote(key)) twice"
        case .missingKey(let path, let key):
            return "\(path) lacks the key \(Self.quote(key))"
        case .unexpectedValue(let path, let found):
            return "\(path) is \(Self.quote(found)), which lgc-shell never writes"
        case .unsupportedVersion(let version):
            return "written by XGBoost \(version.map(String.init).joined(separator: ".")); this build reads 1.x models"
        case .tooManyTrees(let count, let limit):
            return "it has \(count) trees, more than the \(limit) of the most boosting rounds allowed"
        case .treeCountMismatch(let declared, let trees, let treeInfo):
            return "num_trees says \(declared) but it stores \(trees) trees and \(treeInfo) tree_info entries"
        case .treeIDMismatch(let tree, let id):
            return "tree \(tree) carries the id \(id)"
        case .featureCountMismatch(let found, let expected):
            return "it uses \(found) features, the feature set has \(expected)"
        case .featureMismatch(let index, let found, let expected):
            return "feature \(index) is \(Self.quote(found)), the feature set has \(Self.quote(expected))"
        case .nodeCount(let tree, let count, let limit):
            return "tree \(tree) has \(count) nodes, allowed 1…\(limit)"
        case .arrayLength(let tree, let array, let count, let nodes):
            return "tree \(tree): \(array) has \(count) entries for \(nodes) nodes"
        case .categoricalSplits(let tree):
            return "tree \(tree) has categorical splits, which lgc-shell never trains"
        case .childOutOfRange(let tree, let node, let child, let nodes):
            return "tree \(tree): node \(node) points to child \(child), outside its \(nodes) nodes"
        case .childNotForward(let tree, let node, let child):
            return "tree \(tree): node \(node) points back to node \(child)"
        case .singleChild(let tree, let node):
            return "tree \(tree): node \(node) has one child"
        case .sharedNode(let tree, let node):
            return "tree \(tree): node \(node) is the child of two splits"
        case .unreachableNode(let tree, let node):
            return "tree \(tree): node \(node) is not reached from the root"
        case .parentMismatch(let tree, let node, let parent, let expected):
            return "tree \(tree): node \(node) names \(parent) as its parent, not \(expected)"
        case .tooDeep(let tree, let node, let limit):
            return "tree \(tree): node \(node) is deeper than the allowed depth \(limit)"
        case .splitFeatureOutOfRange(let tree, let node, let feature, let features):
            return "tree \(tree): node \(node) splits on feature \(feature), outside the \(features) features"
        case .nonFinite(let path):
            return "\(path) holds a NaN or infinite value"
        case .invalidFlag(let tree, let array, let node, let value):
            return "tree \(tree): \(array) of node \(node) is \(value), not 0 or 1"
        }
    }

    /// A byte as a character when printable, else in hex.
    private static func show(_ byte: UInt8) -> String {
        (0x21...0x7e).contains(byte) ? "'\(Character(UnicodeScalar(byte)))'" : "0x" + String(byte, radix: 16)
    }

    /// Text from the data, quoted with control characters escaped and cut to 64 characters.
    private static func quote(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            out += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return "'" + out + (text.unicodeScalars.count > 64 ? "…" : "") + "'"
    }
}

/// What a stored XGBoost model must match: the feature set it predicts from and the largest model the settings
/// can train (`xgboost.n_estimators` trees of depth `xgboost.max_depth`).
public struct XGBoostModelRequirements: Sendable, Equatable {
    public var featureNames: [String]
    public var maximumTrees: Int
    public var maximumDepth: Int

    public init(featureNames: [String], maximumTrees: Int = XGBoostParameters.roundsRange.upperBound,
                maximumDepth: Int = XGBoostParameters.maxDepthRange.upperBound) {
        self.featureNames = featureNames
        self.maximumTrees = maximumTrees
        self.maximumDepth = maximumDepth
    }

    /// Nodes of a full binary tree of the deepest allowed depth.
    public var maximumNodes: Int { (1 << (maximumDepth + 1)) - 1 }
}

/// The size of a model that passed `XGBoostModelCheck.validate`.
public struct XGBoostModelSummary: Sendable, Equatable {
    public let trees: Int
    public let nodes: Int
    public let features: Int
}

/// Parses and checks an XGBoost model as libxgboost 1.7 saves it with `{"format": "ubj"}`, before any of it
/// reaches the library. Every key of the schema is required and no other is allowed; every number the library
/// would index, loop or allocate with is bounded: tree count against the rounds allowed and consistent with
/// `num_trees` and `tree_info`, node counts against the deepest tree allowed, every per-node array the node count
/// long, every child `-1` (leaf, both children) or a later node of the same tree, each node reached exactly once
/// from the root (so no cycle, no sharing), `parents` consistent, depth within the limit, split features inside
/// the feature set, every float finite, the objective `binary:logistic`. Nothing after the model is allowed.
public enum XGBoostModelCheck {
    /// Validates `data` or throws the first problem found. Runs in time linear in `data.count`.
    public static func validate(_ data: Data, _ requirements: XGBoostModelRequirements) throws(XGBoostModelError)
        -> XGBoostModelSummary {
        let result: Result<XGBoostModelSummary, XGBoostModelError> = data.withUnsafeBytes { raw in
            var parser = Parser(reader: UBJSONReader(raw), requirements: requirements)
            do throws(XGBoostModelError) {
                return .success(try parser.model())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The reader with the schema on top of it. Keys are matched as bytes; paths are built only for errors.
    private struct Parser {
        var reader: UBJSONReader
        let requirements: XGBoostModelRequirements
        var features: Int { requirements.featureNames.count }
        var nodes = 0
        /// Per tree, reused: the split that points to each node, and each node's depth.
        var parentOf: [Int32] = []
        var depth: [UInt8] = []

        init(reader: UBJSONReader, requirements: XGBoostModelRequirements) {
            self.reader = reader
            self.requirements = requirements
        }

        /// Reads `{ key value … }` whose keys are exactly `keys`, in any order, each once; `value` reads the value
        /// of `keys[index]`.
        mutating func object(_ path: @autoclosure () -> String, keys: [StaticString],
                             _ value: (inout Parser, Int) throws(XGBoostModelError) -> Void) throws(XGBoostModelError) {
            try reader.expect(UInt8(ascii: "{"), path())
            var seen: UInt64 = 0
            while try reader.peek() != UInt8(ascii: "}") {
                let key = try reader.key(path())
                guard let index = keys.firstIndex(where: { key.spells($0) }) else {
                    throw .unknownKey(path: path(), key: String(decoding: key, as: UTF8.self))
                }
                guard seen & (1 << index) == 0 else { throw .duplicateKey(path: path(), key: "\(keys[index])") }
                seen |= 1 << index
                try value(&self, index)
            }
            _ = try reader.marker()
            if let missing = keys.indices.first(where: { seen & (1 << $0) == 0 }) {
                throw .missingKey(path: path(), key: "\(keys[missing])")
            }
        }

        /// A string value that must be `expected`.
        mutating func constant(_ expected: String, _ path: @autoclosure () -> String) throws(XGBoostModelError) {
            let found = try reader.string(path())
            guard found == expected else { throw .unexpectedValue(path: path(), found: found) }
        }

        /// A count stored as a decimal string, as libxgboost writes its parameters (`"num_trees": "100"`).
        mutating func decimal(_ path: @autoclosure () -> String) throws(XGBoostModelError) -> Int {
            let text = try reader.string(path())
            guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ (48...57).contains($0) }),
                  let value = Int(text) else {
                throw .unexpectedValue(path: path(), found: text)
            }
            return value
        }

        mutating func model() throws(XGBoostModelError) -> XGBoostModelSummary {
            var trees = 0, declaredTrees = 0, treeInfo = 0, numFeature = 0
            try object("model", keys: ["learner", "version"]) { (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                if key == 0 {
                    (trees, declaredTrees, treeInfo, numFeature) = try parser.learner()
                } else {
                    try parser.version()
                }
            }
            guard reader.atEnd else { throw .trailingBytes(count: reader.remaining) }
            guard declaredTrees == trees, treeInfo == trees else {
                throw .treeCountMismatch(declared: declaredTrees, trees: trees, treeInfo: treeInfo)
            }
            guard numFeature == features else { throw .featureCountMismatch(found: numFeature, expected: features) }
            return XGBoostModelSummary(trees: trees, nodes: nodes, features: features)
        }

        mutating func version() throws(XGBoostModelError) {
            let count = try reader.countedArray("version", minimumItemBytes: 2)
            var parts: [Int64] = []
            for _ in 0..<count { parts.append(try reader.integer("version")) }
            guard parts.count == 3, parts[0] == 1, parts.allSatisfy({ (0...1000).contains($0) }) else {
                throw .unsupportedVersion(parts)
            }
        }

        /// Returns the tree count, `num_trees`, the `tree_info` count and `num_feature`.
        mutating func learner() throws(XGBoostModelError) -> (Int, Int, Int, Int) {
            var result = (0, 0, 0, 0)
            try object("learner", keys: ["attributes", "feature_names", "feature_types", "gradient_booster",
                                         "learner_model_param", "objective"]) { (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                switch key {
                case 0: try parser.object("learner.attributes", keys: []) { (_: inout Parser, _: Int) throws(XGBoostModelError) in }
                case 1: try parser.featureList("learner.feature_names", expected: parser.requirements.featureNames)
                case 2: try parser.featureList("learner.feature_types", expected: parser.requirements.featureNames.map { _ in "float" })
                case 3: (result.0, result.1, result.2) = try parser.gradientBooster()
                case 4: result.3 = try parser.learnerModelParameters()
                default: try parser.objective()
                }
            }
            return result
        }

        mutating func featureList(_ path: String, expected: [String]) throws(XGBoostModelError) {
            let count = try reader.countedArray(path, minimumItemBytes: 3)
            guard count == expected.count else { throw .featureCountMismatch(found: count, expected: expected.count) }
            for index in 0..<count {
                let name = try reader.string("\(path)[\(index)]")
                guard name == expected[index] else { throw .featureMismatch(index: index, found: name, expected: expected[index]) }
            }
        }

        mutating func learnerModelParameters() throws(XGBoostModelError) -> Int {
            var numFeature = 0
            let path = "learner.learner_model_param"
            try object(path, keys: ["base_score", "boost_from_average", "num_class", "num_feature", "num_target"]) {
                (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                switch key {
                case 0:
                    // P(up) before any tree: a probability strictly inside (0, 1), written as a plain decimal.
                    let text = try parser.reader.string("\(path).base_score")
                    guard text.utf8.count <= 32, text.utf8.allSatisfy({ Array("0123456789.eE+-".utf8).contains($0) }),
                          let value = Double(text) else {
                        throw .unexpectedValue(path: "\(path).base_score", found: text)
                    }
                    guard value.isFinite else { throw .nonFinite(path: "\(path).base_score") }
                    guard value > 0, value < 1 else { throw .unexpectedValue(path: "\(path).base_score", found: text) }
                case 1:
                    let text = try parser.reader.string("\(path).boost_from_average")
                    guard text == "0" || text == "1" else { throw .unexpectedValue(path: "\(path).boost_from_average", found: text) }
                case 2: try parser.constant("0", "\(path).num_class")
                case 3: numFeature = try parser.decimal("\(path).num_feature")
                default: try parser.constant("1", "\(path).num_target")
                }
            }
            return numFeature
        }

        mutating func objective() throws(XGBoostModelError) {
            try object("learner.objective", keys: ["name", "reg_loss_param"]) { (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                if key == 0 {
                    try parser.constant("binary:logistic", "learner.objective.name")
                } else {
                    try parser.object("learner.objective.reg_loss_param", keys: ["scale_pos_weight"]) {
                        (parser: inout Parser, _: Int) throws(XGBoostModelError) in
                        try parser.constant("1", "learner.objective.reg_loss_param.scale_pos_weight")
                    }
                }
            }
        }

        /// Returns the tree count, `num_trees` and the `tree_info` count.
        mutating func gradientBooster() throws(XGBoostModelError) -> (Int, Int, Int) {
            var result = (0, 0, 0)
            let path = "learner.gradient_booster"
            try object(path, keys: ["model", "name"]) { (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                guard key == 0 else { return try parser.constant("gbtree", "\(path).name") }
                try parser.object("\(path).model", keys: ["gbtree_model_param", "tree_info", "trees"]) {
                    (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                    switch key {
                    case 0:
                        try parser.object("\(path).model.gbtree_model_param",
                                          keys: ["num_parallel_tree", "num_trees", "size_leaf_vector"]) {
                            (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                            let field = "\(path).model.gbtree_model_param"
                            switch key {
                            case 0: try parser.constant("1", "\(field).num_parallel_tree")
                            case 1:
                                result.1 = try parser.decimal("\(field).num_trees")
                                guard result.1 <= parser.requirements.maximumTrees else {
                                    throw .tooManyTrees(count: result.1, limit: parser.requirements.maximumTrees)
                                }
                            default: try parser.constant("0", "\(field).size_leaf_vector")
                            }
                        }
                    case 1:
                        // One group per tree; a binary objective has only group 0.
                        let count = try parser.reader.countedArray("\(path).model.tree_info", minimumItemBytes: 2)
                        guard count <= parser.requirements.maximumTrees else {
                            throw .tooManyTrees(count: count, limit: parser.requirements.maximumTrees)
                        }
                        for index in 0..<count {
                            let group = try parser.reader.integer("\(path).model.tree_info[\(index)]")
                            guard group == 0 else { throw .unexpectedValue(path: "\(path).model.tree_info[\(index)]", found: String(group)) }
                        }
                        result.2 = count
                    default:
                        let count = try parser.reader.countedArray("\(path).model.trees", minimumItemBytes: 2)
                        guard count <= parser.requirements.maximumTrees else {
                            throw .tooManyTrees(count: count, limit: parser.requirements.maximumTrees)
                        }
                        for index in 0..<count { try parser.tree(index) }
                        result.0 = count
                    }
                }
            }
            return result
        }

        static let treeKeys: [StaticString] = [
            "base_weights", "categories", "categories_nodes", "categories_segments", "categories_sizes", "default_left",
            "id", "left_children", "loss_changes", "parents", "right_children", "split_conditions", "split_indices",
            "split_type", "sum_hessian", "tree_param",
        ]
        static let treeParameterKeys: [StaticString] = ["num_deleted", "num_feature", "num_nodes", "size_leaf_vector"]

        mutating func tree(_ index: Int) throws(XGBoostModelError) {
            typealias Array = UBJSONReader.TypedArray
            let empty = Array(bytes: UnsafeRawBufferPointer(start: nil, count: 0), count: 0)
            var arrays = [Array](repeating: empty, count: Self.treeKeys.count)
            var id: Int64 = 0, numNodes = 0, numFeature = 0
            func path() -> String { "learner.gradient_booster.model.trees[\(index)]" }
            func name(_ key: Int) -> String { "\(path()).\(Self.treeKeys[key])" }
            try object(path(), keys: Self.treeKeys) { (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                switch key {
                case 0, 8, 11, 14: arrays[key] = try parser.reader.typedArray(.float32, name(key))
                case 1, 2, 7, 9, 10, 12: arrays[key] = try parser.reader.typedArray(.int32, name(key))
                case 3, 4: arrays[key] = try parser.reader.typedArray(.int64, name(key))
                case 5, 13: arrays[key] = try parser.reader.typedArray(.uint8, name(key))
                case 6: id = try parser.reader.integer(name(key))
                default:
                    try parser.object(name(key), keys: Self.treeParameterKeys) {
                        (parser: inout Parser, key: Int) throws(XGBoostModelError) in
                        switch key {
                        case 0: try parser.constant("0", "\(path()).tree_param.num_deleted")
                        case 1: numFeature = try parser.decimal("\(path()).tree_param.num_feature")
                        case 2: numNodes = try parser.decimal("\(path()).tree_param.num_nodes")
                        default: try parser.constant("0", "\(path()).tree_param.size_leaf_vector")
                        }
                    }
                }
            }
            guard id == Int64(index) else { throw .treeIDMismatch(tree: index, id: id) }
            guard numFeature == features else { throw .featureCountMismatch(found: numFeature, expected: features) }
            try checkTree(index, arrays: arrays, nodes: numNodes)
            nodes += numNodes
        }

        /// The tree's structure: sizes, a forward tree from node 0 reaching every node once, parents, depth,
        /// features, flags and finite numbers.
        mutating func checkTree(_ tree: Int, arrays: [UBJSONReader.TypedArray], nodes n: Int) throws(XGBoostModelError) {
            guard n >= 1, n <= requirements.maximumNodes else {
                throw .nodeCount(tree: tree, count: n, limit: requirements.maximumNodes)
            }
            for (key, array) in arrays.enumerated() where key != 6 && key != 15 {
                let categorical = (1...4).contains(key)
                guard array.count == (categorical ? 0 : n) else {
                    if categorical { throw .categoricalSplits(tree: tree) }
                    throw .arrayLength(tree: tree, array: "\(Self.treeKeys[key])", count: array.count, nodes: n)
                }
            }
            let baseWeights = arrays[0], defaultLeft = arrays[5], left = arrays[7], lossChanges = arrays[8]
            let parents = arrays[9], right = arrays[10], conditions = arrays[11], splitIndices = arrays[12]
            let splitType = arrays[13], hessians = arrays[14]
            if parentOf.count < n {
                parentOf = [Int32](repeating: -1, count: n)
                depth = [UInt8](repeating: 0, count: n)
            }
            let limit = requirements.maximumDepth, features = self.features
            func path() -> String { "learner.gradient_booster.model.trees[\(tree)]" }
            try parentOf.withUnsafeMutableBufferPointer { (parentOf) throws(XGBoostModelError) in
                try depth.withUnsafeMutableBufferPointer { (depth) throws(XGBoostModelError) in
                    for node in 0..<n { parentOf[node] = -1 }
                    depth[0] = 0
                    for node in 0..<n {
                        // Children point forward, so by now every split above this node has been seen.
                        let parent = node == 0 ? Int32.max : parentOf[node]
                        guard parent >= 0 else { throw .unreachableNode(tree: tree, node: node) }
                        guard parents.int32(node) == parent else {
                            throw .parentMismatch(tree: tree, node: node, parent: Int(parents.int32(node)), expected: Int(parent))
                        }
                        let l = Int(left.int32(node)), r = Int(right.int32(node))
                        if l != -1 || r != -1 {
                            guard l != -1, r != -1 else { throw .singleChild(tree: tree, node: node) }
                            guard Int(depth[node]) < limit else { throw .tooDeep(tree: tree, node: l, limit: limit) }
                            for side in 0..<2 {
                                let child = side == 0 ? l : r
                                guard child >= 0, child < n else {
                                    throw .childOutOfRange(tree: tree, node: node, child: child, nodes: n)
                                }
                                guard child > node else { throw .childNotForward(tree: tree, node: node, child: child) }
                                guard parentOf[child] == -1 else { throw .sharedNode(tree: tree, node: child) }
                                parentOf[child] = Int32(node)
                                depth[child] = depth[node] + 1
                            }
                        }
                        let feature = Int(splitIndices.int32(node))
                        guard feature >= 0, feature < features else {
                            throw .splitFeatureOutOfRange(tree: tree, node: node, feature: feature, features: features)
                        }
                        guard defaultLeft.uint8(node) <= 1 else {
                            throw .invalidFlag(tree: tree, array: "default_left", node: node, value: defaultLeft.uint8(node))
                        }
                        guard splitType.uint8(node) == 0 else { throw .categoricalSplits(tree: tree) }
                        if !conditions.float32(node).isFinite { throw .nonFinite(path: "\(path()).split_conditions[\(node)]") }
                        if !baseWeights.float32(node).isFinite { throw .nonFinite(path: "\(path()).base_weights[\(node)]") }
                        if !lossChanges.float32(node).isFinite { throw .nonFinite(path: "\(path()).loss_changes[\(node)]") }
                        if !hessians.float32(node).isFinite { throw .nonFinite(path: "\(path()).sum_hessian[\(node)]") }
                    }
                }
            }
        }
    }
}
