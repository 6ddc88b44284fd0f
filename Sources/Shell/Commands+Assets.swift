import FeedbackLoop
import Foundation
import MarketData

/// Several assets in one session: `assets` lists them, `asset NAME` sets the focus, and `--asset NAME|all` runs a
/// command on another asset (or on each) without moving the focus.
extension Commands {
    /// An asset's name (its symbol), or `all`.
    static let assetOption = Option("asset", "NAME|all", WordKind(candidates: { assetCandidates($0.shell) + ["all"] }),
                                    "run on this loaded asset instead of the focused one, or on each ('all')")
    /// `replay --assets all`, as the issue and the docs write it; the same as `--asset`.
    static let assetsOption = Option("assets", "NAME|all", WordKind(candidates: { assetCandidates($0.shell) + ["all"] }),
                                     "the same as --asset")

    static func assetCandidates(_ shell: ShellContext) -> [String] {
        shell.engine.assetNames.filter { !$0.isEmpty }
    }

    /// The position of the loaded asset `name`, or an error listing the loaded ones.
    static func assetIndex(_ name: String, shell: ShellContext) throws -> Int {
        guard let index = shell.engine.asset(named: name) else {
            throw LoopError.unknownAsset(name, loaded: shell.engine.assetNames)
        }
        return index
    }

    /// Wraps an asset-scoped command: with `--asset NAME` it runs with that asset in focus (the focus is restored
    /// after); with `--asset all` once per asset with data, its outputs one after another (JSON: `assets`, one
    /// object per asset). An asset that fails is reported in its place; only when every asset fails does the
    /// command fail, with the first error.
    static func assetScoped(_ run: @escaping @Sendable (ShellContext, Arguments) throws -> CommandOutput)
        -> @Sendable (ShellContext, Arguments) throws -> CommandOutput {
        { shell, args in
            guard let choice = args.value(of: assetOption) ?? args.value(of: assetsOption) else { return try run(shell, args) }
            let engine = shell.engine
            guard choice.lowercased() == "all" else {
                return try engine.withAsset(try assetIndex(choice, shell: shell)) { try run(shell, args) }
            }
            let indices = engine.assets.indices.filter { engine.assets[$0].series != nil }
            guard !indices.isEmpty else { throw LoopError.noData }
            var parts: [(name: String, result: Result<CommandOutput, any Error>)] = []
            shell.comparedAcrossAssets = []
            defer { shell.comparedAcrossAssets = [] }
            for index in indices {
                let name = engine.assetNames[index]
                parts.append((name, Result { try engine.withAsset(index) {
                    try shell.asAsset(name) { try run(shell, args) }
                } }))
            }
            if parts.allSatisfy({ if case .failure = $0.result { return true } else { return false } }),
               case .failure(let error) = parts[0].result {
                throw error
            }
            var objects: [JSON] = [], texts: [String] = []
            for part in parts {
                switch part.result {
                case .success(let output):
                    objects.append(.object([("asset", .string(part.name))] + output.fields))
                    texts.append(shell.paint.bold("── \(part.name) ──") + (output.text.isEmpty ? "" : "\n" + output.text))
                case .failure(let error):
                    let message = ShellContext.message(for: error)
                    objects.append(.object([("asset", .string(part.name)), ("ok", .bool(false)), ("error", .string(message))]))
                    texts.append(shell.paint.bold("── \(part.name) ──") + "\nerror: " + message)
                }
            }
            // A comparison over every asset at once, where the command made one (replay --compare).
            let overAll = overAllComparison(shell)
            return CommandOutput(fields: [("assets", .array(objects))] + (overAll?.fields ?? []),
                                 text: (texts + (overAll.map { [$0.text] } ?? [])).joined(separator: "\n"))
        }
    }

    static let assets: CommandSpec = CommandSpec(
        "assets", group: .data,
        abstract: "List the loaded assets: symbol, interval, span, models and live score",
        discussion: """
        Every fetched or imported market is an asset of the session with its own models and versions, tier clocks, \
        triggers, prediction log and history; loading a symbol that is loaded refreshes that asset, another symbol \
        adds one. Settings and the clock are the session's. The focused asset (*) is the one commands use; \
        'asset NAME' moves the focus, and --asset NAME|all on train, cycle, predict, perf, status, replay, chart \
        and export runs one command on another asset or on each. Live score: directional accuracy of the last \
        evaluation_window scored predictions beside the always-up baseline on the same steps.
        """,
        examples: ["assets", "asset ETHUSDT", "train tier1 --asset all"],
        run: { shell, _ in
            let engine = shell.engine
            var rows: [[String]] = [], objects: [JSON] = []
            for (index, state) in engine.assets.enumerated() {
                guard let series = state.series else { continue }
                let focused = index == engine.focus
                let interval = series.interval
                let live = state.performance().live
                let score = live.metrics.directionalAccuracy?.value
                let baseline = live.baseline(.alwaysUp)?.directionalAccuracy?.value
                let models = ModelKind.allCases.compactMap { kind in state.models[kind].map { "\(kind.rawValue) v\($0.record.version)" } }
                rows.append([(focused ? "* " : "  ") + series.symbol, series.source,
                             interval.map { DurationText.format($0) } ?? "?",
                             "\(ISOTime.short(series.bars.first!.time)) – \(ISOTime.short(series.bars.last!.time))",
                             String(series.count), models.isEmpty ? "-" : models.joined(separator: ", "),
                             score.map { "\(Format.percent($0)) (\(Format.percent(baseline)))" } ?? "-",
                             String(state.log.totalLogged)])
                objects.append(.object([
                    ("asset", .string(series.symbol)), ("focus", .bool(focused)), ("source", .string(series.source)),
                    ("interval_seconds", .number(interval)), ("start", .time(series.bars.first!.time)),
                    ("end", .time(series.bars.last!.time)), ("rows", .int(series.count)),
                    ("models", .object(state.models.sorted { $0.key < $1.key }.map { ($0.key.rawValue, .int($0.value.record.version)) })),
                    ("live_directional", .number(score)), ("live_always_up", .number(baseline)),
                    ("scored", .int(state.log.totalLogged)),
                ]))
            }
            guard !rows.isEmpty else {
                return CommandOutput(fields: [("assets", .array([]))],
                                     text: "No assets loaded — try 'fetch demo' (offline) or 'fetch binance BTCUSDT ETHUSDT 365'.")
            }
            let table = shell.table(["asset", "source", "bars", "span (UTC)", "rows", "models", "live (baseline)", "scored"],
                                    rows, right: [4, 7])
            return CommandOutput(fields: [("assets", .array(objects))], text: table)
        })

    static let assetName = Positional("NAME", WordKind(candidates: { assetCandidates($0.shell) }))

    static let asset: CommandSpec = CommandSpec(
        "asset", group: .data,
        abstract: "Focus on a loaded asset: the one commands use by default",
        examples: ["asset ETHUSDT", "asset BTCUSDT"],
        arguments: [assetName.spec],
        run: { shell, args in
            let index = try assetIndex(args[assetName], shell: shell)
            shell.engine.setFocus(index)
            let name = shell.engine.assetNames[index]
            return CommandOutput(fields: [("asset", .string(name))], text: "focus: \(name)")
        })
}
