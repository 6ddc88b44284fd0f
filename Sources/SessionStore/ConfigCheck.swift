import FeedbackLoop
import Foundation
import MarketData

/// Config rules shared by writing and reading: every key within its range, and the cross-key checks.
enum ConfigCheck {
    /// The `config` row whose value is the whole `LoopConfig` as JSON; reading uses only this row.
    static let jsonKey = "loop_config_json"

    /// A broken rule: a key outside the bound `set` applies (`ConfigValueKind.bounds`), or a cross-key check.
    enum Problem: Error, CustomStringConvertible {
        case outOfRange(key: String, value: Double, bounds: Bounded)
        case invalid(String)

        var description: String {
            switch self {
            case .outOfRange(let key, let value, let bounds): return "\(key) = \(value) is out of range (expected \(bounds.expected))"
            case .invalid(let message): return message
            }
        }
    }

    /// The first broken rule, or nil when `config` is valid.
    static func problem(_ config: LoopConfig) -> Problem? {
        for key in LoopConfig.keys where !key.kind.accepts(key.value(config)) {
            guard let bounds = key.kind.bounds else { return .invalid("\(key.name) holds none of \(key.kind.expected)") }
            return .outOfRange(key: key.name, value: key.value(config), bounds: bounds)
        }
        do {
            try config.validate()
        } catch {
            return .invalid("\(error)")
        }
        return nil
    }

    /// Decodes the stored JSON. Settings added to `LoopConfig` after the file was written take their defaults.
    static func decode(_ json: String) throws -> LoopConfig {
        let data = Data(json.utf8)
        do {
            return try JSONDecoder().decode(LoopConfig.self, from: data)
        } catch DecodingError.keyNotFound {
            // Only files written before a setting existed get here: overlay the stored object on the defaults.
            let defaults = try JSONEncoder().encode(LoopConfig())
            guard let stored = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  var merged = try JSONSerialization.jsonObject(with: defaults) as? [String: Any] else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "config is not a JSON object"))
            }
            merge(stored, into: &merged)
            return try JSONDecoder().decode(LoopConfig.self, from: JSONSerialization.data(withJSONObject: merged))
        }
    }

    private static func merge(_ source: [String: Any], into target: inout [String: Any]) {
        for (key, value) in source {
            if let nested = value as? [String: Any], var existing = target[key] as? [String: Any] {
                merge(nested, into: &existing)
                target[key] = existing
            } else {
                target[key] = value
            }
        }
    }
}
