import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let check: CommandSpec = CommandSpec(
        "check", group: .insight,
        abstract: "Leakage checks: do features or models see later bars; how much history each feature needs",
        discussion: """
        lookahead: recomputes every feature and each current model's P(up) on the series cut at N sampled bars \
        (default 20) and compares them, bit for bit, with the full series' values at those bars; any difference \
        means a value used bars after its own. warmup: for each feature, the bars of history after which adding \
        earlier bars changes its value by at most 1e-9, at N bars (default 5) of the later half of the series.
        """,
        examples: ["check lookahead", "check lookahead --samples 100", "check warmup"],
        subcommands: [Subcommand(LeakageCheckKind.lookahead), Subcommand(LeakageCheckKind.warmup)],
        flags: [FlagSpec(checkSamples)],
        run: { shell, args in
            guard let series = shell.engine.series else { throw LoopError.noData }
            let samples = args.value(of: checkSamples)
            do {
                if args.subcommand(as: LeakageCheckKind.self) == .lookahead {
                    let models = ModelKind.allCases.compactMap { shell.engine.models[$0]?.model }
                    let report = try LeakageCheck.lookahead(series: series, models: models, samples: samples ?? 20)
                    return lookaheadOutput(report, shell: shell)
                }
                let report = try LeakageCheck.warmup(series: series, samples: samples ?? 5)
                return warmupOutput(report, shell: shell)
            } catch LeakageCheck.CheckError.tooLittleData(let rows) {
                throw ShellError.invalid("too little data to check (\(rows) feature rows) — fetch or import more bars first")
            }
        })

    enum LeakageCheckKind: String {
        case lookahead, warmup
    }

    static let checkSamples = Option("samples", "N", WholeKind(1...1_000), "bars to cut the series at (lookahead: 20, warmup: 5)")

    static func lookaheadOutput(_ report: LeakageCheck.LookaheadReport, shell: ShellContext) -> CommandOutput {
        let differences: [JSON] = report.differences.map { difference in
            let kind: String
            switch difference.subject {
            case .feature: kind = "feature"
            case .model: kind = "model"
            }
            return .object([("name", .string(difference.subject.name)), ("kind", .string(kind)),
                            ("bars", .int(difference.bars)), ("first_bar_time", .time(difference.firstBarTime)),
                            ("largest_difference", difference.largest.isFinite ? .number(difference.largest) : .null)])
        }
        let fields: [(String, JSON)] = [
            ("samples", .int(report.sampleTimes.count)),
            ("first_sample", .time(report.sampleTimes.first)), ("last_sample", .time(report.sampleTimes.last)),
            ("features_checked", .int(report.featuresChecked)),
            ("models_checked", .array(report.modelsChecked.map { .string($0.rawValue) })),
            ("differences", .array(differences)),
        ]
        let models = report.modelsChecked.isEmpty
            ? "no trained model" : "\(report.modelsChecked.count) model\(report.modelsChecked.count == 1 ? "" : "s") ("
                + report.modelsChecked.map(\.rawValue).joined(separator: ", ") + ")"
        var lines = ["lookahead check: cut at \(report.sampleTimes.count) bars (\(Format.time(report.sampleTimes.first)) → "
                     + "\(Format.time(report.sampleTimes.last))), \(report.featuresChecked) features, \(models)"]
        if report.differences.isEmpty {
            lines.append("no lookahead: every feature and model gives the same value at each bar with the later bars removed")
        } else {
            lines.append("LOOKAHEAD: \(report.differences.count) of them change when later bars are removed — they use the future")
            lines.append(shell.table(["name", "kind", "bars", "first at", "largest difference"], report.differences.map { difference in
                let kind: String
                switch difference.subject {
                case .feature: kind = "feature"
                case .model: kind = "model"
                }
                return [difference.subject.name, kind, "\(difference.bars)/\(report.sampleTimes.count)",
                        Format.time(difference.firstBarTime),
                        difference.largest.isFinite ? String(format: "%.3g", difference.largest) : "NaN on one side"]
            }, right: [2, 4]))
        }
        return CommandOutput(fields: fields, text: lines.joined(separator: "\n"))
    }

    static func warmupOutput(_ report: LeakageCheck.WarmupReport, shell: ShellContext) -> CommandOutput {
        let fields: [(String, JSON)] = [
            ("samples", .int(report.sampleTimes.count)), ("shortest_window", .int(report.shortestWindow)),
            ("longest_window", .int(report.longestWindow)),
            ("tolerance", .number(report.tolerance)),
            ("features", .array(report.features.map { feature in
                .object([("name", .string(feature.name)), ("bars", feature.bars.map { .int($0) } ?? .null)])
            })),
        ]
        let atMost = shell.terminal.unicode ? "≤ " : "<= "
        let rows = report.features.map { feature in
            [feature.name, feature.bars.map { $0 <= report.shortestWindow ? atMost + String($0) : String($0) } ?? "> \(report.longestWindow - 1)"]
        }
        let text = "bars of history each feature needs (its value then changes by at most \(report.tolerance) when earlier "
            + "bars are added; \(report.sampleTimes.count) bars sampled, \(report.shortestWindow) to \(report.longestWindow) bars "
            + "of history tried)\n"
            + shell.table(["feature", "bars"], rows, right: [1])
        return CommandOutput(fields: fields, text: text)
    }
}
