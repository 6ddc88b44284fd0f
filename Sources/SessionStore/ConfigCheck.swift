import FeedbackLoop
import Foundation

/// Config rules shared by writing and reading: every key within its range, and the cross-key checks.
enum ConfigCheck {
    /// The `config` row whose value is the whole `LoopConfig` as JSON; reading uses only this row.
    static let jsonKey = "loop_config_json"

    /// The first broken rule, or nil when `config` is valid.
    static func problem(_ config: LoopConfig) -> String? {
        for key in LoopConfig.keys {
            if !key.kind.accepts(key.value(config)) { return "\(key.name) = \(key.display(config)) is out of range" }
        }
        do {
            try config.validate()
        } catch {
            return "\(error)"
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
