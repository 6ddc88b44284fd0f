import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let auto: CommandSpec = CommandSpec(
        "auto", group: .training,
        synopsis: "auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?",
        abstract: "Let the loop run itself: check the triggers every check_interval in the background",
        discussion: """
        'auto on' starts a background scheduler. Every check_interval (default 1h, or --every) it refreshes the \
        data from the session's source (the last 'fetch'; imported files are used as loaded), scores the pending \
        prediction from the realised move, trains the highest due tier (interval, performance, drift) and \
        predicts the newest bar. The fit runs in the background: commands stay responsive and what happened is \
        shown above the prompt. Never two trainings at once: a check that finds one running is skipped with a \
        warning. 'advance' runs the checks it passes over in order, so scripts can test auto mode \
        deterministically. 'auto' alone shows the state and the next check; the setting is saved with the session.
        """,
        examples: ["auto on", "auto on --every 10m --tiers 1,2", "auto", "advance 24h", "auto off"],
        positionals: 0...1,
        flags: [FlagSpec("every", value: "DURATION", "check this often (sets check_interval)"),
                FlagSpec("tiers", value: "LIST", "tiers auto mode may train, e.g. 1,2 (default 1,2,3)")],
        complete: { context in context.words.count == 1 ? ["on", "off"] : [] },
        run: runAuto)

    static func runAuto(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let engine = shell.engine
        let mode = args.positionals.first?.lowercased()
        switch mode {
        case nil:
            guard args.option("every") == nil, args.option("tiers") == nil else {
                throw ShellError.usage(command: auto, message: "--every and --tiers go with 'auto on'")
            }
        case "off":
            guard args.option("every") == nil, args.option("tiers") == nil else {
                throw ShellError.usage(command: auto, message: "--every and --tiers go with 'auto on', not 'auto off'")
            }
            let wasOn = engine.config.automation.enabled
            try engine.updateConfig { $0.automation.enabled = false }
            shell.auto.synchronize(announceResume: false)
            let training = shell.auto.background.map { " (tier\($0.tier)'s training in the background finishes first)" } ?? ""
            return CommandOutput(fields: [("enabled", .bool(false))],
                                 text: wasOn ? "auto mode off\(training)" : "auto mode was already off")
        case "on":
            guard engine.series != nil else {
                throw ShellError.invalid("auto mode needs data to watch — run 'fetch demo' (offline), 'fetch bitcoin' or 'import FILE.csv' first")
            }
            var every = engine.config.checkInterval
            if let seconds = try auto.bounded(args, option: "every", .duration) { every = seconds }
            var tiers = engine.config.automation.tiers
            if let text = args.option("tiers") {
                tiers = Array(Set(try text.split(separator: ",").map { try Tier.parse(String($0)).number })).sorted()
                guard !tiers.isEmpty else { throw ShellError.usage(command: auto, message: "--tiers needs at least one tier, e.g. 1,2") }
            }
            let wasOn = engine.config.automation.enabled
            try engine.updateConfig {
                $0.checkInterval = every
                $0.automation.enabled = true
                $0.automation.tiers = tiers
            }
            shell.auto.synchronize(announceResume: false)
            var output = CommandOutput(fields: shell.auto.stateFields(), text: shell.auto.stateText())
            output.text = (wasOn ? "auto mode updated\n" : "") + output.text
            return output
        default:
            throw ShellError.usage(command: auto, message: "expected 'on' or 'off', got '\(args.positionals[0])'")
        }
        return CommandOutput(fields: shell.auto.stateFields(), text: shell.auto.stateText())
    }
}
