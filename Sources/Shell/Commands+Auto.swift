import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let auto: CommandSpec = CommandSpec(
        "auto", group: .training,
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
        arguments: [autoMode.spec],
        flags: [FlagSpec(autoEvery), FlagSpec(autoTiers)],
        run: runAuto)

    static let autoMode = Positional("MODE", ChoiceKind([LoopConfig.Switch.on, .off]), optional: true)
    static let autoEvery = Option("every", "DURATION", DurationKind(), "check this often (sets check_interval)")
    static let autoTiers = Option("tiers", "LIST", TierListKind(), "tiers auto mode may train, e.g. 1,2 (default 1,2,3)")

    static func runAuto(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let engine = shell.engine
        switch args.value(of: autoMode) {
        case nil:
            guard !args.has(autoEvery), !args.has(autoTiers) else {
                throw ShellError.usage(command: auto, message: "--every and --tiers go with 'auto on'")
            }
        case .off?:
            guard !args.has(autoEvery), !args.has(autoTiers) else {
                throw ShellError.usage(command: auto, message: "--every and --tiers go with 'auto on', not 'auto off'")
            }
            let wasOn = engine.config.automation.enabled
            try engine.updateConfig { $0.automation.enabled = false }
            shell.auto.synchronize(announceResume: false)
            let training = shell.auto.background.map { " (tier\($0.tier)'s training in the background finishes first)" } ?? ""
            return CommandOutput(fields: [("enabled", .bool(false))],
                                 text: wasOn ? "auto mode off\(training)" : "auto mode was already off")
        case .on?:
            guard engine.series != nil else {
                throw ShellError.invalid("auto mode needs data to watch — run 'fetch demo' (offline), 'fetch bitcoin' or 'import FILE.csv' first")
            }
            let every = args.value(of: autoEvery) ?? engine.config.checkInterval
            let tiers = args.value(of: autoTiers) ?? engine.config.automation.tiers
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
        }
        return CommandOutput(fields: shell.auto.stateFields(), text: shell.auto.stateText())
    }
}
