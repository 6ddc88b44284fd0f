import Charts
import FeedbackLoop
import Foundation
import LoopApp
import MarketData

/// `chart sweep NAME KEY1 ?KEY2?`: a heat map of a sweep's metric over one or two of its axes, one map per asset.
extension Commands {
    static let chartSweepName = Positional("NAME", WordKind(candidates: { sweepNames($0.shell) }))
    static let chartSweepRows = Positional("KEY1", WordKind(candidates: sweepAxisCandidates))
    static let chartSweepColumns = Positional("KEY2", WordKind(candidates: sweepAxisCandidates), optional: true)
    static let chartSweepMetric = Option("metric", "METRIC", ChoiceKind([MetricName.accuracy, .directionalAccuracy, .brier, .logLoss]),
                                         "chart sweep: the metric mapped (default accuracy)")
    static let chartSweepAt = Option("at", "KEY=VALUE", WordKind(candidates: sweepAtCandidates),
                                     "chart sweep: hold another axis at one value instead of the best over it (repeat for more)")

    /// The sweep named after `chart sweep` in the words being completed, if it can be read.
    private static func completedSweep(_ context: CompletionContext) -> SweepManifest? {
        guard context.words.count > 2, context.words[1].lowercased() == "sweep" else { return nil }
        return try? sweepFolder(context.shell, name: context.words[2]).manifest()
    }

    /// KEY1 and KEY2: the sweep's axes not given yet.
    @Sendable static func sweepAxisCandidates(_ context: CompletionContext) -> [String] {
        guard let manifest = completedSweep(context) else { return [] }
        let given = Set(context.words.dropFirst(3).map { $0.lowercased() })
        return manifest.axes.map(\.key).filter { !given.contains($0) }
    }

    /// `--at KEY=VALUE`: the axes not mapped, then the chosen axis's values.
    @Sendable static func sweepAtCandidates(_ context: CompletionContext) -> [String] {
        guard let manifest = completedSweep(context) else { return [] }
        let mapped = Set(context.words.dropFirst(3).map { $0.lowercased() })
        let others = manifest.axes.filter { !mapped.contains($0.key) }
        guard let equals = context.partial.firstIndex(of: "=") else { return others.map { $0.key + "=" } }
        let key = context.partial[..<equals].lowercased()
        return others.first { $0.key == key }.map { axis in axis.values.map { axis.key + "=" + $0 } } ?? []
    }

    /// Why `chart sweep` cannot draw what was asked; the wording is here.
    enum SweepChartError: Error, Equatable, CustomStringConvertible {
        case unknownAxis(String, sweep: String, axes: [String])
        case sameAxis(String)
        case noAsset(String, sweep: String, assets: [String])
        case notKeyValue(String)
        case atMappedAxis(String)
        case unknownValue(key: String, value: String, values: [String])
        case optionOfSweep(String, subcommand: String)

        var description: String {
            switch self {
            case .unknownAxis(let key, let sweep, let axes):
                let hint = Suggest.closest(to: key, in: axes).map { "did you mean '\($0)'?" } ?? "its axes: \(axes.joined(separator: ", "))"
                return "sweep '\(sweep)' has no axis '\(key)' — \(hint)"
            case .sameAxis(let key):
                return "KEY1 and KEY2 are both '\(key)': give two different axes, or one"
            case .noAsset(let asset, let sweep, let assets):
                return "sweep '\(sweep)' was not run on \(asset) (its assets: \(assets.joined(separator: ", ")))"
            case .notKeyValue(let text):
                return "invalid --at '\(text)': expected KEY=VALUE, an axis of the sweep and one of its values"
            case .atMappedAxis(let key):
                return "--at \(key)=… holds an axis the map already shows: hold another one"
            case .unknownValue(let key, let value, let values):
                return "the sweep's \(key) has no value '\(value)' (its values: \(values.joined(separator: ", ")))"
            case .optionOfSweep(let option, let subcommand):
                return "--\(option) belongs to 'chart sweep', not 'chart \(subcommand)'"
            }
        }
    }

    /// The shown metric: percent for rates, three decimals for Brier and log loss (as 'sweep collect' shows them).
    static func sweepFigure(_ metric: MetricName, _ value: Double?) -> String {
        guard let value else { return "—" }
        return metric == .brier || metric == .logLoss ? Format.fixed(value) : Format.percent(value)
    }

    /// The naive rule a sweep row's `naive` is (see `sweepRows`).
    static func sweepNaiveName(_ metric: MetricName) -> String {
        switch metric {
        case .accuracy: NaiveBaseline.persistence.rawValue
        case .directionalAccuracy: NaiveBaseline.alwaysUp.rawValue
        default: NaiveBaseline.climatology.rawValue
        }
    }

    /// One asset's map: the row behind each cell (the best over the axes not mapped), the best of them, and those
    /// that cannot be told apart from it.
    struct SweepMap {
        let asset: String
        /// `cells[r][c]`: nil where the point has not finished (or scored nothing).
        let cells: [[SweepRow?]]
        let best: (row: Int, column: Int, source: SweepRow)?
        let indistinguishable: [(row: Int, column: Int)]
        /// How many of `indistinguishable` had too few paired steps for an interval at all.
        let withoutInterval: Int
        /// Points off the grid (the default added for walk-forward selection).
        let offGrid: [SweepRow]
    }

    /// The maps of `assets`: each cell the best row (ranked by `metric`) whose point has `rowsAxis`'s and
    /// `columnsAxis`'s values and every `fixed` value.
    static func sweepMaps(_ manifest: SweepManifest, rows: [SweepRow], metric: MetricName, assets: [String],
                          rowsAxis: Int, columnsAxis: Int?, fixed: [Int: String]) -> [SweepMap] {
        let onGrid = { (row: SweepRow) -> Bool in
            zip(manifest.axes, row.grid).allSatisfy { axis, point in axis.values.contains(point.1) }
        }
        let rowValues = manifest.axes[rowsAxis].values
        let columnValues: [String?] = columnsAxis.map { manifest.axes[$0].values } ?? [nil]
        return assets.map { asset in
            let mine = rows.filter { $0.asset == asset && $0.score != nil }
            var cells: [[SweepRow?]] = []
            for value in rowValues {
                cells.append(columnValues.map { column in
                    ranked(mine.filter { row in
                        onGrid(row) && row.grid[rowsAxis].1 == value && (columnsAxis.map { row.grid[$0].1 == column } ?? true)
                            && fixed.allSatisfy { row.grid[$0.key].1 == $0.value }
                    }, metric: metric).first
                })
            }
            let filled = cells.enumerated().flatMap { r, line in line.enumerated().compactMap { c, row in row.map { (r, c, $0) } } }
            let top = ranked(filled.map(\.2), metric: metric).first
            let best = top.flatMap { top in filled.first { $0.2.id == top.id } }.map { (row: $0.0, column: $0.1, source: $0.2) }
            var indistinguishable: [(row: Int, column: Int)] = []
            var withoutInterval = 0
            if let best {
                for (r, c, row) in filled where row.id != best.source.id {
                    let difference = sweepDifference(row, best.source, metric: metric)
                    guard difference?.interval.significant != true else { continue }
                    indistinguishable.append((r, c))
                    if difference?.interval.low == nil { withoutInterval += 1 }
                }
            }
            return SweepMap(asset: asset, cells: cells, best: best, indistinguishable: indistinguishable,
                            withoutInterval: withoutInterval, offGrid: mine.filter { !onGrid($0) })
        }
    }

    static func chartSweep(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let name = args[chartSweepName]
        let folder = try sweepFolder(shell, name: name)
        let manifest = try folder.manifest()
        let metric = args.value(of: chartSweepMetric) ?? .accuracy
        let keys = manifest.axes.map(\.key)
        func axis(_ word: String) throws -> Int {
            let key = LoopConfig.key(named: word.lowercased())?.name ?? word.lowercased()
            guard let index = keys.firstIndex(of: key) else { throw SweepChartError.unknownAxis(word, sweep: name, axes: keys) }
            return index
        }
        let rowsAxis = try axis(args[chartSweepRows])
        let columnsAxis = try args.value(of: chartSweepColumns).map(axis)
        if columnsAxis == rowsAxis { throw SweepChartError.sameAxis(keys[rowsAxis]) }
        // --at KEY=VALUE: another axis held at one of its values (its own spelling, or one that sets the same).
        var fixed: [Int: String] = [:]
        for text in args.values(of: chartSweepAt) {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex else {
                throw SweepChartError.notKeyValue(text)
            }
            let index = try axis(String(text[..<equals]))
            guard index != rowsAxis, index != columnsAxis else { throw SweepChartError.atMappedAxis(keys[index]) }
            let value = String(text[text.index(after: equals)...])
            let values = manifest.axes[index].values
            let same = { (a: String, b: String) -> Bool in
                guard let key = LoopConfig.key(named: keys[index]) else { return false }
                var x = manifest.config, y = manifest.config
                guard (try? x.set(key.name, to: a)) != nil, (try? y.set(key.name, to: b)) != nil else { return false }
                return key.value(x) == key.value(y)
            }
            guard let match = values.first(where: { $0 == value }) ?? values.first(where: { same($0, value) }) else {
                throw SweepChartError.unknownValue(key: keys[index], value: value, values: values)
            }
            fixed[index] = match
        }
        // Chart is asset-scoped: with --asset, the focused asset's map only.
        let symbols = manifest.assets.map(\.symbol)
        var assets = symbols
        if args.value(of: assetOption) != nil {
            let focused = shell.engine.assetNames[shell.engine.focus]
            guard let symbol = symbols.first(where: { $0.caseInsensitiveCompare(focused) == .orderedSame }) else {
                throw SweepChartError.noAsset(focused, sweep: name, assets: symbols)
            }
            assets = [symbol]
        }
        let reports = sweepReports(folder, manifest)
        let unicode = shell.terminal.unicode
        let columnsKey = columnsAxis.map { keys[$0] }
        var fields: [(String, JSON)] = [
            ("chart", .string("sweep")), ("name", .string(name)), ("metric", .string(metric.rawValue)),
            ("rows_key", .string(keys[rowsAxis])), ("columns_key", columnsKey.map(JSON.string) ?? .null),
            ("rows", .array(manifest.axes[rowsAxis].values.map(JSON.string))),
            ("columns", .array(columnsAxis.map { manifest.axes[$0].values.map(JSON.string) } ?? [.null])),
            ("finished", .int(reports.count)), ("tasks", .int(manifest.tasks.count)),
        ]
        guard !reports.isEmpty else {
            fields.append(("assets", .array([])))
            return CommandOutput(fields: fields, text: "sweep \(name): none of its \(manifest.tasks.count) tasks has finished \(shell.terminal.unicode ? "—" : "-") run it first: 'sweep run \(name) --engine local'")
        }
        var series: [String: PriceSeries] = [:]
        for asset in manifest.assets where assets.contains(asset.symbol) { series[asset.symbol] = try folder.series(asset) }
        // Under walk-forward selection: the selection span, what the choice is made on (as 'sweep collect' ranks it).
        var rows: [SweepRow] = []
        if manifest.selection == nil {
            rows = assets.flatMap { sweepRows(manifest, reports: reports, metric: metric, series: series, asset: $0) }
        } else {
            // Each asset's own split: its rows on the bars before its evaluation span.
            for symbol in assets {
                guard let start = series[symbol].flatMap({ manifest.evaluationStart(in: $0) }) else { continue }
                rows += sweepRows(manifest, reports: reports, metric: metric, series: series, span: -.infinity ..< start, asset: symbol)
            }
        }
        let maps = sweepMaps(manifest, rows: rows, metric: metric, assets: assets, rowsAxis: rowsAxis, columnsAxis: columnsAxis, fixed: fixed)
        let others = manifest.axes.indices.filter { $0 != rowsAxis && $0 != columnsAxis && fixed[$0] == nil }
        let times = unicode ? "×" : "x", dash = unicode ? "—" : "-", ellipsis = unicode ? "…" : "..."

        func pointLabel(_ r: Int, _ c: Int) -> String {
            "\(keys[rowsAxis])=\(manifest.axes[rowsAxis].values[r])" + (columnsAxis.map { " \(keys[$0])=\(manifest.axes[$0].values[c])" } ?? "")
        }
        var texts: [String] = []
        var objects: [JSON] = []
        for map in maps {
            var options = HeatMapOptions()
            options.width = shell.terminal.width
            options.rowsTitle = keys[rowsAxis]
            options.columnsTitle = columnsKey
            options.format = metric == .brier || metric == .logLoss ? .fixed(3) : .percent
            options.higherIsBetter = metric.higherIsBetter
            options.best = map.best.map { HeatMapCell(row: $0.row, column: $0.column) }
            options.marked = Set(map.indistinguishable.map { HeatMapCell(row: $0.row, column: $0.column) })
            options.missingMeaning = "not finished"
            let values = map.cells.map { $0.map { $0?.score?.mean } }
            var lines: [String] = []
            if maps.count > 1 { lines.append(shell.paint.bold(unicode ? "── \(map.asset) ──" : "-- \(map.asset) --")) }
            lines.append("sweep \(name): \(metric.rawValue) by \(keys[rowsAxis])" + (columnsKey.map { " \(times) \($0)" } ?? "")
                         + " on \(map.asset)" + (manifest.selection != nil ? " \(dash) the selection span" : ""))
            lines.append(HeatMap.render(rows: manifest.axes[rowsAxis].values,
                                        columns: columnsAxis.map { manifest.axes[$0].values } ?? [metric.rawValue],
                                        values: values, options: options, style: shell.chartStyle))
            if let best = map.best {
                let row = best.source
                let interval = row.score.flatMap { s in s.low.flatMap { low in s.high.map { " (95 % CI \(sweepFigure(metric, low))\(ellipsis)\(sweepFigure(metric, $0)))" } } } ?? ""
                lines.append("best: \(row.grid.map { "\($0.0)=\($0.1)" }.joined(separator: " ")) \(sweepFigure(metric, row.score?.mean))\(interval)"
                             + "; naive (\(sweepNaiveName(metric))) \(sweepFigure(metric, row.naive)) on the same steps")
                let tied = map.indistinguishable.count
                let others = map.cells.joined().compactMap { $0 }.count - 1
                let approx = unicode ? "≈" : "~"
                let labels = { (cells: [(row: Int, column: Int)]) in cells.map { pointLabel($0.row, $0.column) }.joined(separator: "; ") }
                if others == 0 {
                    lines.append("the only finished cell: nothing to compare it with")
                } else if tied == 0 {
                    lines.append("every other cell is distinguishable from the best (its paired 95 % block-bootstrap interval excludes zero)")
                } else if tied == others && map.withoutInterval == tied {
                    lines.append("\(approx) no cell can be told apart from the best: too few steps scored for a paired interval (under two blocks of a day's bars) \(dash) sweep a longer span to tell")
                } else if tied == others {
                    lines.append("\(approx) no cell can be told apart from the best (every paired 95 % interval holds zero): on these steps the map shows noise, not a winner")
                } else if tied <= 6 {
                    lines.append("\(approx) cannot be told apart from the best (the paired 95 % interval holds zero): " + labels(map.indistinguishable))
                } else {
                    let marked = Set(map.indistinguishable.map { "\($0.row),\($0.column)" })
                    let apart = map.cells.indices.flatMap { r in map.cells[r].indices.compactMap { c -> (row: Int, column: Int)? in
                        map.cells[r][c] != nil && (r, c) != (best.row, best.column) && !marked.contains("\(r),\(c)") ? (r, c) : nil
                    } }
                    lines.append("\(approx) \(tied) of the \(others) other cells cannot be told apart from the best (the paired 95 % interval holds zero)"
                                 + (apart.count <= 6 ? "; only these can: " + labels(apart) : ""))
                }
                if map.withoutInterval > 0 && map.withoutInterval < others {
                    lines.append("\(map.withoutInterval) of them scored too few steps beside the best for an interval (under two blocks of a day's bars) \(dash) sweep a longer span to tell")
                }
            } else {
                lines.append("no finished point on \(map.asset) yet")
            }
            // A cell no better than the naive rule on its own steps has learnt nothing that rule does not know.
            let filled = map.cells.joined().compactMap { $0 }
            let beaten = filled.filter { row in
                guard let score = row.score?.mean, let naive = row.naive else { return false }
                return metric.higherIsBetter ? score <= naive : score >= naive
            }
            if !beaten.isEmpty {
                lines.append("⚑ " + (beaten.count == filled.count ? "no cell beats its" : "\(beaten.count) of \(filled.count) cells do not beat their")
                             + " naive baseline (\(sweepNaiveName(metric)) on the same steps)")
            }
            if !others.isEmpty {
                lines.append("each cell is the best over " + others.map { "\(keys[$0]) (\(manifest.axes[$0].values.joined(separator: ", ")))" }.joined(separator: " and ")
                             + ": a maximum of noisy figures \(dash) '--at KEY=VALUE' holds one instead")
            }
            if !fixed.isEmpty {
                lines.append("held at " + fixed.keys.sorted().map { "\(keys[$0])=\(fixed[$0]!)" }.joined(separator: ", "))
            }
            for row in map.offGrid where row.isDefault {
                lines.append("off the grid: the default settings (\(row.grid.map { "\($0.0)=\($0.1)" }.joined(separator: " "))) \(sweepFigure(metric, row.score?.mean))")
            }
            texts.append(lines.enumerated().map { $0.offset == (maps.count > 1 ? 2 : 1) ? $0.element : wrapped($0.element, width: shell.terminal.width, unicode: unicode) }
                .joined(separator: "\n"))
            objects.append(.object([
                ("asset", .string(map.asset)),
                ("cells", .array(values.map { .array($0.map { JSON.number($0) }) })),
                ("best", map.best.map { best in
                    .object([("row", .string(manifest.axes[rowsAxis].values[best.row])),
                             ("column", columnsAxis.map { .string(manifest.axes[$0].values[best.column]) } ?? .null),
                             ("value", .number(best.source.score?.mean)), ("task", .int(best.source.id)),
                             ("grid", .object(best.source.grid.map { ($0.0, .string($0.1)) }))])
                } ?? .null),
                ("indistinguishable", .array(map.indistinguishable.map { cell in
                    .object([("row", .string(manifest.axes[rowsAxis].values[cell.row])),
                             ("column", columnsAxis.map { .string(manifest.axes[$0].values[cell.column]) } ?? .null)])
                })),
                ("naive", .number(map.best?.source.naive)),
                ("cell_tasks", .array(map.cells.map { .array($0.map { $0.map { JSON.int($0.id) } ?? .null }) })),
            ]))
        }
        var footer: [String] = []
        if let selection = manifest.selection {
            footer.append("walk-forward selection: these are the selection span's figures (the first \(Format.fixed(selection.selectDays, 0)) of "
                          + "\(Format.fixed(selection.selectDays + selection.evaluateDays, 0)) days), what the choice is made on; "
                          + "'sweep collect \(name)' reports the chosen point on the evaluation span")
        }
        if reports.count < manifest.tasks.count {
            footer.append("\(reports.count) of \(manifest.tasks.count) tasks finished \(dash) 'sweep run \(name)'")
        }
        fields += [("maximised_over", .array(others.map { .string(keys[$0]) })),
                   ("at", .object(fixed.keys.sorted().map { (keys[$0], .string(fixed[$0]!)) })),
                   ("span", .string(manifest.selection != nil ? "selection" : "all")),
                   ("assets", .array(objects))]
        let notes = footer.map { wrapped($0, width: shell.terminal.width, unicode: unicode) }
        return CommandOutput(fields: fields, text: (texts + (notes.isEmpty ? [] : [notes.joined(separator: "\n")])).joined(separator: "\n\n"))
    }

    /// `line` broken at spaces into lines of at most `width` cells, the later ones indented by two; without Unicode,
    /// its glyphs (some from shared formatting, such as '—' for no figure) spelled in ASCII first.
    static func wrapped(_ line: String, width: Int, unicode: Bool) -> String {
        var line = line
        if !unicode {
            for (glyph, ascii) in [("—", "-"), ("…", "..."), ("×", "x"), ("≈", "~"), ("·", "-"), ("⚑", "!")] {
                line = line.replacingOccurrences(of: glyph, with: ascii)
            }
        }
        guard TerminalText.displayWidth(line) > width else { return line }
        var lines: [String] = [], current = ""
        for word in line.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let candidate = current.isEmpty ? (lines.isEmpty ? word : "  " + word) : current + " " + word
            if !current.isEmpty, TerminalText.displayWidth(candidate) > width {
                lines.append(current)
                current = "  " + word
            } else {
                current = candidate
            }
        }
        lines.append(current)
        return lines.joined(separator: "\n")
    }
}
