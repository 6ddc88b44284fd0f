import FeedbackLoop
import Foundation

/// Shell-level settings that live beside the loop's config in `set`/`get`.
enum ShellSetting: String, CaseIterable {
    case format
}

extension Commands {
    static var configKeyNames: [String] { LoopConfig.keys.map(\.name) + ShellSetting.allCases.map(\.rawValue) }

    static func configFields(_ config: LoopConfig) -> [(String, JSON)] {
        LoopConfig.keys.map { key in
            switch key.kind {
            case .integer: return (key.name, .int(Int(key.value(config))))
            case .duration, .real, .positive, .below: return (key.name, .number(key.value(config)))
            case .choice: return (key.name, .string(key.display(config)))
            // "auto", or the number (max_model_age: seconds, 0 = never).
            case .ageLimit, .autoOrReal:
                return (key.name, key.value(config) == -1 ? .string("auto") : .number(key.value(config)))
            }
        }
    }

    /// A loop config key or a shell setting; an unknown one is refused with a did-you-mean before the handler runs.
    static let settingKey = Positional("KEY", ConfigKeyKind())
    static let settingValue = Positional("VALUE", ConfigValueKind())

    static let config: CommandSpec = CommandSpec(
        "config", group: .config,
        abstract: "List every setting with its value, default and meaning",
        examples: ["config"],
        run: { shell, _ in
            let current = shell.engine.config
            let defaults = LoopConfig()
            var rows = LoopConfig.keys.map { key -> [String] in
                let value = key.display(current)
                let changed = key.value(current) != key.value(defaults)
                return [key.name, changed ? shell.paint.bold(value) : value, key.display(defaults), key.summary]
            }
            rows.append(["format", shell.format.rawValue, "text", "output: text or json (one JSON object per command)"])
            var fields = configFields(current)
            fields.append(("format", .string(shell.format.rawValue)))
            return CommandOutput(fields: [("config", .object(fields))],
                                 text: shell.table(["key", "value", "default", "meaning"], rows))
        })

    static let get: CommandSpec = CommandSpec(
        "get", group: .config,
        abstract: "Show one setting",
        examples: ["get performance_threshold"],
        arguments: [settingKey.spec],
        run: { shell, args in
            let name = args[settingKey]
            if name == ShellSetting.format.rawValue {
                return CommandOutput(fields: [("key", .string(name)), ("value", .string(shell.format.rawValue))],
                                     text: shell.format.rawValue)
            }
            // KEY's kind admits only config keys and `format`.
            let key = LoopConfig.key(named: name)!
            let value = configFields(shell.engine.config).first { $0.0 == key.name }!.1
            return CommandOutput(fields: [("key", .string(key.name)), ("value", value)],
                                 text: key.display(shell.engine.config))
        })

    static let set: CommandSpec = CommandSpec(
        "set", group: .config,
        abstract: "Change a setting live (validated)",
        discussion: "Durations accept 90m, 6h, 2d or seconds; thresholds are 0…1; windows are whole numbers. 'set format json' switches output to JSON.",
        examples: ["set performance_threshold 0.6", "set tier1_interval 30m", "set format json"],
        arguments: [settingKey.spec, settingValue.spec],
        run: { shell, args in
            let name = args[settingKey]
            let value = args[settingValue]
            if name == ShellSetting.format.rawValue {
                guard let format = OutputFormat(rawValue: value.lowercased()) else {
                    throw ConfigError.invalidValue(key: "format", value: value, expected: "text or json")
                }
                shell.format = format
                return CommandOutput(fields: [("key", .string(name)), ("value", .string(format.rawValue))],
                                     text: "format = \(format.rawValue)")
            }
            try shell.engine.setConfig(name, value)
            let key = LoopConfig.key(named: name)!
            let stored = configFields(shell.engine.config).first { $0.0 == key.name }!.1
            return CommandOutput(fields: [("key", .string(key.name)), ("value", stored)],
                                 text: "\(key.name) = \(key.display(shell.engine.config))")
        })

    static let reset: CommandSpec = CommandSpec(
        "reset", group: .config,
        abstract: "Restore a setting's default",
        examples: ["reset performance_threshold"],
        arguments: [settingKey.spec],
        run: { shell, args in
            let name = args[settingKey]
            if name == ShellSetting.format.rawValue {
                shell.format = .text
                return CommandOutput(fields: [("key", .string(name)), ("value", .string("text"))], text: "format = text")
            }
            let key = LoopConfig.key(named: name)!
            try shell.engine.resetConfig(name)
            let stored = configFields(shell.engine.config).first { $0.0 == key.name }!.1
            return CommandOutput(fields: [("key", .string(key.name)), ("value", stored)],
                                 text: "\(key.name) = \(key.display(shell.engine.config)) (default)")
        })
}
