import FeedbackLoop
import Foundation
import LoopApp
import MarketData
import SessionStore

extension Commands {
    static let sweep: CommandSpec = CommandSpec(
        "sweep", group: .training,
        abstract: "Declare a grid of replays, run its tasks as separate processes, and see how far it got",
        discussion: """
        'sweep new NAME --grid KEY=V1,V2 [--grid KEY=…] [--assets A,B|all] [--days N] [--tiers 1,2]' writes a \
        self-contained folder (sessions/sweeps/NAME): a manifest with the settings of every task (each grid point \
        on each asset: the session's settings with the point's values set as 'set' would, XGBoost on one thread), \
        the SHA-256 fingerprint of every series and the program version, sealed by a checksum, and the bars each \
        task needs. A task replays the last N calendar days (default 30) with the loop's own triggers. 'sweep run \
        NAME --engine local [--jobs N]' runs the tasks not yet done as separate 'lgc-shell sweep task FOLDER ID' \
        processes, one per core by default; each writes its report to a temporary name and renames it, so a killed \
        task leaves no report and a finished one is never run again. 'sweep run NAME --engine slurm [--partition P] \
        [--time 2:00:00] [--max-parallel K] [--sbatch-arg ARG]… [--wait]' submits one Slurm job array of those tasks \
        (its script in the folder's slurm/, its job recorded there); --wait follows it to its end. Tasks queued or \
        running in a recorded job are not run again; --retry-failed runs only the failed ones (either engine). \
        'sweep status NAME' counts done, running, failed and pending tasks (asking squeue about recorded jobs: a \
        task out of the queue without its report failed), with each failure's log. 'sweep cancel NAME' cancels the \
        sweep's jobs still in Slurm's queue (scancel); their unfinished tasks are pending again.
        """,
        examples: ["sweep new depth --grid xgboost.max_depth=3,6 --grid tier2_interval=6h,12h --days 14",
                   "sweep run depth --engine local", "sweep run depth --engine slurm --time 1:00:00 --max-parallel 8 --wait",
                   "sweep status depth", "sweep run depth --engine slurm --retry-failed", "sweep cancel depth"],
        subcommands: [Subcommand(SweepVerb.new, [sweepName.spec]), Subcommand(SweepVerb.run, [sweepName.spec]),
                      Subcommand(SweepVerb.status, [sweepName.spec]), Subcommand(SweepVerb.collect, [sweepName.spec]),
                      Subcommand(SweepVerb.cancel, [sweepName.spec]),
                      Subcommand(SweepVerb.task, [sweepFolder.spec, sweepTaskID.spec])],
        flags: [FlagSpec(SweepArguments.grid), FlagSpec(SweepArguments.assets), FlagSpec(SweepArguments.days),
                FlagSpec(SweepArguments.tiers), FlagSpec(SweepArguments.engine), FlagSpec(SweepArguments.jobs),
                FlagSpec(SweepArguments.partition), FlagSpec(SweepArguments.time), FlagSpec(SweepArguments.maxParallel),
                FlagSpec(SweepArguments.sbatchArgument), FlagSpec(SweepArguments.wait), FlagSpec(SweepArguments.retryFailed),
                FlagSpec(SweepArguments.metric), FlagSpec(SweepArguments.force)],
        run: { shell, args in
            switch args.subcommand(as: SweepVerb.self) {
            case .new?: return try newSweep(shell, args)
            case .run?: return try runSweep(shell, args)
            case .status?: return try sweepStatus(shell, name: args[sweepName])
            case .collect?: return try collectSweep(shell, args)
            case .cancel?: return try cancelSweep(shell, name: args[sweepName])
            case .task?:
                let folder = SweepFolder(path: (args[sweepFolder] as NSString).expandingTildeInPath)
                return taskOutput(try SweepTask.run(folder: folder, task: args[sweepTaskID]), task: args[sweepTaskID])
            case nil: preconditionFailure("sweep's subcommand is required by its declaration")
            }
        })

    enum SweepVerb: String {
        case new, run, status, task, collect, cancel
    }

    static let sweepName = Positional("NAME", WordKind(candidates: { sweepNames($0.shell) }))
    static let sweepFolder = Positional("FOLDER", PathKind())
    static let sweepTaskID = Positional("ID", WholeKind(0...SweepManifest.maxTasks))

    enum SweepArguments {
        static let grid = Option("grid", "KEY=V1,V2", KeyValuesKind(), "an axis of the grid: a setting and its values (repeat for more axes)")
        static let assets = Option("assets", "A,B|all", WordKind(candidates: { assetCandidates($0.shell) + ["all"] }),
                                   "the assets every grid point is replayed on (default: the focused one)")
        static let days = Option("days", "N", NumberKind(Bounded(.decimal, 0, Bounded.century / 86_400, excludesLower: true)),
                                 "calendar days each task replays (default 30)")
        static let tiers = Option("tiers", "1,2,3", TierListKind(), "tiers the replays train (default 1,2)")
        static let engine = Option("engine", "local|slurm", ChoiceKind(["local", "slurm"]),
                                   "where 'sweep run' runs the tasks: this machine's cores, or one Slurm job array (default local)")
        static let jobs = Option("jobs", "N", WholeKind(1...256), "tasks at once with --engine local (default: one per core)")
        static let partition = Option("partition", "P", WordKind(), "the Slurm partition of the job array (default: the cluster's)")
        static let time = Option("time", "TIME", SlurmTimeKind(), "each Slurm task's time limit, as sbatch reads it (2:00:00, 90, 1-12)")
        static let maxParallel = Option("max-parallel", "K", WholeKind(1...SweepManifest.maxTasks),
                                        "at most K of the array's tasks at once (--array=…%K)")
        static let sbatchArgument = Option("sbatch-arg", "ARG", WordKind(),
                                           "one more sbatch option for the array, such as --account=lab (repeat for more)")
        static let wait = Switch("wait", "with --engine slurm: follow the job array until its last task ends")
        static let retryFailed = Switch("retry-failed", "run only the tasks that failed (either engine)")
        static let metric = Option("metric", "METRIC", ChoiceKind([MetricName.accuracy, .directionalAccuracy, .brier, .logLoss]),
                                   "what 'sweep collect' ranks by (default accuracy)")
        static let force = Switch("force", "collect even where the session's data no longer matches the sweep's (recorded)")
    }

    /// The folder that holds the session's sweeps.
    static func sweepsDirectory(_ shell: ShellContext) throws -> String {
        try requireSession(shell).directory + "/sweeps"
    }

    static func sweepNames(_ shell: ShellContext) -> [String] {
        guard let directory = try? sweepsDirectory(shell) else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    static func sweepFolder(_ shell: ShellContext, name: String) throws -> SweepFolder {
        guard SessionController.validName(name) else { throw SweepError.invalidName(name) }
        return SweepFolder(path: try sweepsDirectory(shell) + "/" + name)
    }

    /// Seconds one replayed hourly step costs per task, from lgc-bench's `replay_30d_tiers12_loop` on the
    /// development machine (720 steps in 9.4 s with tiers 1 and 2): tier 1 alone is about a fifth of it, the
    /// LSTM's daily fit (default size) adds about 20 s a day.
    static func estimatedSecondsPerStep(tiers: Set<Int>) -> Double {
        (tiers.contains(2) ? 0.013 : 0.0025) + (tiers.contains(3) ? 20.0 / 24 : 0)
    }

    static func newSweep(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let name = args[sweepName]
        let folder = try sweepFolder(shell, name: name)
        guard !FileManager.default.fileExists(atPath: folder.path) else { throw SweepError.exists(name: name) }
        let engine = shell.engine
        let axes = args.values(of: SweepArguments.grid).map { SweepManifest.Axis(key: $0.key, values: $0.values) }
        if let twice = axes.first(where: { axis in axes.filter { $0.key == axis.key }.count > 1 }) {
            throw ShellError.usage(command: sweep, message: "--grid \(twice.key) is given twice: list its values once, comma-separated")
        }
        let indices: [Int]
        switch args.value(of: SweepArguments.assets)?.lowercased() {
        case nil: indices = engine.state.series == nil ? [] : [engine.focus]
        case "all"?: indices = engine.assets.indices.filter { engine.assets[$0].series != nil }
        case let list?: indices = try list.split(separator: ",").map { try assetIndex(String($0), shell: shell) }
        }
        guard !indices.isEmpty else { throw LoopError.noData }
        let series = indices.map { engine.assets[$0].series! }
        let days = args.value(of: SweepArguments.days) ?? 30
        let tiers = (args.value(of: SweepArguments.tiers) ?? [1, 2]).sorted()
        // Every asset must have the span and a bar before it to train on.
        for bars in series {
            guard (try? SweepTask.replayStart(series: bars, days: days)) != nil else {
                throw ShellError.invalid("--days \(Format.fixed(days, 0)) reaches before \(bars.symbol)'s \(bars.count) bars: fetch more history or sweep fewer days")
            }
        }
        let points = axes.reduce([[String]]([[]])) { points, axis in points.flatMap { point in axis.values.map { point + [$0] } } }
        let count = points.count * series.count
        guard count > 0 else { throw SweepError.noTasks }
        guard count <= SweepManifest.maxTasks else { throw SweepError.tooManyTasks(count, limit: SweepManifest.maxTasks) }
        var tasks: [SweepManifest.Task] = []
        for asset in series.indices {
            for point in points { tasks.append(SweepManifest.Task(id: tasks.count, asset: asset, values: point)) }
        }
        let assets = series.enumerated().map { index, bars in
            SweepManifest.Asset(symbol: bars.symbol, file: "data/\(index).json",
                                fingerprint: dataFingerprint(bars, through: bars.count - 1), rows: bars.count)
        }
        let manifest = SweepManifest(name: name, days: days, tiers: tiers, axes: axes, config: engine.config,
                                     assets: assets, tasks: tasks)
        // Each task's settings are checked now, not on the cluster an hour later.
        for task in tasks { _ = try manifest.configuration(for: task) }
        _ = try SweepFolder.create(at: folder.path, manifest: manifest, series: series)
        let steps = series.map { bars in Double(bars.count - (try! SweepTask.replayStart(series: bars, days: days))) }
        let estimate = zip(series.indices, steps).reduce(0.0) { total, pair in
            total + Double(points.count) * pair.1 * estimatedSecondsPerStep(tiers: Set(tiers))
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let shape = (axes.map { "\($0.values.count) \($0.key)" } + ["\(series.count) asset\(series.count == 1 ? "" : "s")"])
            .joined(separator: " × ")
        return CommandOutput(fields: [("name", .string(name)), ("tasks", .int(count)), ("manifest", .string(folder.path)),
                                      ("estimate_seconds", .number(estimate))],
                             text: """
                             sweep \(name): \(count) task\(count == 1 ? "" : "s") (\(shape)), each replaying \(Format.fixed(days, 0)) days, tiers \(tiers.map(String.init).joined(separator: ","))
                             manifest \(folder.path)
                             estimated \(Format.seconds(estimate)) of replay on one core (about \(Format.seconds(estimate / Double(cores))) on this machine's \(cores)), from the benchmark figures
                             """)
    }

    static func taskOutput(_ outcome: SweepTask.Outcome, task: Int) -> CommandOutput {
        switch outcome {
        case .ran(let seconds):
            return CommandOutput(fields: [("task", .int(task)), ("ran", .bool(true)), ("seconds", .number(seconds))],
                                 text: "task \(task) done in \(Format.seconds(seconds))")
        case .alreadyDone:
            return CommandOutput(fields: [("task", .int(task)), ("ran", .bool(false))],
                                 text: "task \(task) was done already: its report stays")
        }
    }

    /// `sweep run NAME [--engine local|slurm]`: the tasks neither done nor queued in a recorded Slurm job (with
    /// `--retry-failed`, only the failed ones), as this machine's processes or as one Slurm job array.
    static func runSweep(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let name = args[sweepName]
        let slurm = args.value(of: SweepArguments.engine) == "slurm"
        let slurmOnly = [SweepArguments.partition.name, SweepArguments.time.name, SweepArguments.maxParallel.name,
                         SweepArguments.sbatchArgument.name].filter { args.options[$0] != nil }
            + (args.has(SweepArguments.wait) ? [SweepArguments.wait.name] : [])
        if !slurm, let flag = slurmOnly.first {
            throw ShellError.usage(command: sweep, message: "--\(flag) goes with --engine slurm")
        }
        if slurm, args.has(SweepArguments.jobs) {
            throw ShellError.usage(command: sweep, message: "--jobs goes with --engine local; --max-parallel caps a Slurm array")
        }
        let extra = args.values(of: SweepArguments.sbatchArgument)
        if let reserved = extra.lazy.compactMap(SlurmSubmission.reservedOption(in:)).first {
            throw ShellError.usage(command: sweep, message: "--sbatch-arg cannot set \(reserved): the engine sets it for its array")
        }
        let folder = try sweepFolder(shell, name: name)
        let manifest = try folder.manifest()
        let client = SlurmClient(environment: shell.environment)
        if slurm { _ = try client.locate("sbatch") }
        let census = try SweepCensus.take(folder, manifest: manifest, client: client)
        // Slurm's queue decides what is still to run; a local run without it goes on (reports are the same
        // whoever writes them, and written whole).
        if slurm, case .unreachable(let error) = census.slurm { throw error }
        let retry = args.has(SweepArguments.retryFailed)
        let tasks = census.runnable(retryFailed: retry)
        let engineName = slurm ? "slurm" : "local"
        guard !tasks.isEmpty else {
            let inQueue = census.queued.count + census.running.count
            var text = retry ? "nothing to retry: no task of sweep \(name) failed" : "nothing to run: "
            if !retry {
                text += inQueue == 0 ? "all \(manifest.tasks.count) tasks are done"
                    : "\(census.done.count) of \(manifest.tasks.count) tasks are done, \(inQueue) queued or running in Slurm job\(census.liveJobs.count == 1 ? "" : "s") \(census.liveJobs.joined(separator: ", "))"
            }
            text += " ('sweep status \(name)')"
            return CommandOutput(fields: [("engine", .string(engineName)), ("submitted", .int(0)), ("job_id", .null),
                                          ("failed", .array([])), ("seconds", .number(0)), ("task_seconds", .number(0))],
                                 text: text)
        }
        let executable = SlurmSweepEngine.absolute(ShellMain.executablePath(environment: shell.environment))
        guard slurm else { return try runLocally(shell, name: name, folder: folder, tasks: tasks, executable: executable, args: args) }
        return try runOnSlurm(shell, name: name, folder: folder, manifest: manifest, tasks: tasks, executable: executable,
                              args: args, client: client)
    }

    /// `sweep status NAME`: done, running, failed and pending tasks from the report and log files and, for the
    /// sweep's recorded job arrays, Slurm's queue (queued there counts as pending).
    static func sweepStatus(_ shell: ShellContext, name: String) throws -> CommandOutput {
        let folder = try sweepFolder(shell, name: name)
        let manifest = try folder.manifest()
        let census = try SweepCensus.take(folder, manifest: manifest, client: SlurmClient(environment: shell.environment))
        let pending = census.queued.count + census.notStarted.count
        let bar = progressBar(done: census.done.count, of: manifest.tasks.count, unicode: shell.terminal.unicode)
        var text = "sweep \(name): \(bar) \(census.done.count)/\(manifest.tasks.count) done, \(census.running.count) running, \(census.failed.count) failed, \(pending) pending"
        if !census.queued.isEmpty { text += " (\(census.queued.count) queued in Slurm)" }
        let slurm: String
        switch census.slurm {
        case .notAsked: slurm = "not asked"
        case .answered:
            slurm = "answered"
            if !census.liveJobs.isEmpty { text += "\nSlurm job\(census.liveJobs.count == 1 ? "" : "s") \(census.liveJobs.joined(separator: ", ")) in the queue ('sweep cancel \(name)' cancels)" }
        case .unreachable(let error):
            slurm = "unreachable"
            text += "\nSlurm could not be asked, so these counts come from the files alone (queued and running tasks count as pending): \(error)"
        }
        for task in census.failed { text += "\ntask \(task) failed — its log: \(folder.logPath(task))" }
        return CommandOutput(fields: [("tasks", .int(manifest.tasks.count)), ("pending", .int(pending)), ("running", .int(census.running.count)),
                                      ("done", .int(census.done.count)), ("failed", .int(census.failed.count)),
                                      ("failures", .array(census.failed.map { .object([("task", .int($0)), ("log", .string(folder.logPath($0)))]) })),
                                      ("slurm", .string(slurm)), ("slurm_jobs", .array(census.liveJobs.map(JSON.string)))],
                             text: text)
    }

}

extension Commands {
    /// One collected task: its grid point, asset, the metric with its interval, and what else the table shows.
    struct SweepRow {
        let task: Int
        let grid: [(String, String)]
        let asset: String
        let steps: [ScoredStep]
        let score: BootstrapInterval?
        let naive: Double?
        let pnl: Any?
        let retrains: Int
        let seconds: Double
    }

    /// `sweep collect NAME`: every finished task's report joins the session's replays (once: a task collected before
    /// is not added again), and the ranked table — the metric with its block-bootstrap interval, its naive
    /// baseline on the same steps, P&L against buy-and-hold, retrains, the task's own time, and each row's paired
    /// difference against the best row with whether it is distinguishable from it.
    static func collectSweep(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let name = args[sweepName]
        let folder = try sweepFolder(shell, name: name)
        let manifest = try folder.manifest()
        let metric = args.value(of: SweepArguments.metric) ?? .accuracy
        let session = try requireSession(shell)
        // The session's data must still be what the sweep was declared on (its first `rows` bars).
        var forced: [String] = []
        for asset in manifest.assets {
            let loaded = shell.engine.asset(named: asset.symbol).flatMap { shell.engine.assets[$0].series }
            let same = loaded.map { $0.count >= asset.rows && dataFingerprint($0, through: asset.rows - 1) == asset.fingerprint } ?? false
            if !same {
                guard args.has(SweepArguments.force) else { throw SweepError.dataChanged(symbol: asset.symbol, path: "the session") }
                forced.append(asset.symbol)
            }
        }
        let key = "sweep \(name)"
        let stored = Set(try session.database.replays().filter { $0.compareKey == key }.compactMap(\.compareValue))
        var rows: [SweepRow] = []
        var added = 0
        for task in manifest.tasks {
            guard let (object, steps, text) = SweepReports.read(folder, task: task.id) else { continue }
            let report = object["report"] as? [String: Any] ?? [:]
            let contributions = HonestMetrics.contributions(metric, of: steps).compactMap { $0 }
            let block = max(BlockBootstrap.medianBarInterval(steps.map(\.barTime)).map(BlockBootstrap.blockLength(barInterval:)) ?? 1,
                            BlockBootstrap.blockLength(count: contributions.count))
            let naiveKey: (String, String) = switch metric {
            case .accuracy: ("persistence", "accuracy")
            case .directionalAccuracy: ("always_up", "directional_accuracy")
            default: ("climatology", metric.rawValue)
            }
            let naive = ((report["naive"] as? [String: Any])?[naiveKey.0] as? [String: Any])?[naiveKey.1] as? Double
            let retrains = (report["retrains"] as? [String: Any])?.values.compactMap { ($0 as? [String: Any])?["count"] as? Int }.reduce(0, +) ?? 0
            rows.append(SweepRow(task: task.id, grid: manifest.grid(of: task), asset: manifest.assets[task.asset].symbol,
                                 steps: steps, score: try? BlockBootstrap.interval(of: contributions, blockLength: block),
                                 naive: naive, pnl: report["pnl"], retrains: retrains,
                                 seconds: object["seconds"] as? Double ?? 0))
            let value = "task \(task.id)"
            guard !stored.contains(value) else { continue }
            // Stored as `replay` stores its reports (settings, data fingerprint, version at the top, numbers as
            // written), with the sweep's own record beside them.
            guard case .object(let fieldsOfTask)? = try? JSONText.parse(text),
                  case .object(let reportFields)? = fieldsOfTask.first(where: { $0.0 == "report" })?.1 else { continue }
            let sweepRecord = JSON.object([
                ("name", .string(name)), ("task", .int(task.id)), ("asset", .string(manifest.assets[task.asset].symbol)),
                ("grid", .object(manifest.grid(of: task).map { ($0.0, .string($0.1)) })),
                ("seconds", .number(object["seconds"] as? Double)),
                ("forced", .bool(forced.contains(manifest.assets[task.asset].symbol))),
            ])
            let json = JSON.object(reportFields + [("sweep", sweepRecord)]).serialized()
            let grid = manifest.grid(of: task).map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            let stepCount: Int = report["steps"] as? Int ?? 0
            let spanStart: TimeInterval = TimeText.parse(report["start"] as? String ?? "") ?? 0
            let spanEnd: TimeInterval = TimeText.parse(report["end"] as? String ?? "") ?? 0
            let scored: Int = report["scored"] as? Int ?? 0
            let training: Double = report["training_seconds"] as? Double ?? 0
            let symbol = manifest.assets[task.asset].symbol
            let replayEntry = ReplayEntry(
                id: nextReplayID(shell) ?? 1, at: shell.engine.clock.now, command: "", start: spanStart, end: spanEnd,
                steps: stepCount, scored: scored, tiers: manifest.tiers, policy: ReplayPolicy.triggers.rawValue,
                compareKey: key, compareValue: value, accuracy: report["accuracy"] as? Double, retrains: retrains,
                trainingSeconds: training, cancelled: false, applied: false, reportJSON: json,
                reportText: "sweep \(name) task \(task.id) (\(symbol)): \(grid)", asset: shell.engine.asset(named: symbol))
            shell.pendingReplays.append(replayEntry)
            added += 1
        }
        return sweepTable(shell, name: name, metric: metric, rows: rows, tasks: manifest.tasks.count, added: added, forced: forced)
    }

    static func sweepTable(_ shell: ShellContext, name: String, metric: MetricName, rows unranked: [SweepRow], tasks: Int,
                           added: Int, forced: [String]) -> CommandOutput {
        let sign = metric.higherIsBetter ? 1.0 : -1.0
        let rows = unranked.sorted { (sign * ($0.score?.mean ?? -.infinity), -$0.task) > (sign * ($1.score?.mean ?? -.infinity), -$1.task) }
        let best = rows.first
        func percentOrFixed(_ value: Double?) -> String {
            guard let value else { return "—" }
            return metric == .brier || metric == .logLoss ? Format.fixed(value) : Format.percent(value)
        }
        var table: [[String]] = [], objects: [JSON] = []
        for row in rows {
            let difference = best.flatMap { best in best.task == row.task ? nil
                : ReplayAnalysis.compare(("task \(row.task)", row.steps), ("task \(best.task)", best.steps)).first { $0.metric == metric } }
            let pnl = row.pnl as? [String: Any]
            let strategy = pnl?["strategy_return"] as? Double, hold = pnl?["buy_and_hold_return"] as? Double
            table.append([row.grid.map { "\($0.0)=\($0.1)" }.joined(separator: " "), row.asset, percentOrFixed(row.score?.mean),
                          row.score.flatMap { s in s.low.flatMap { low in s.high.map { "\(percentOrFixed(low))…\(percentOrFixed($0))" } } } ?? "—",
                          percentOrFixed(row.naive),
                          strategy.map { returnText($0) + (hold.map { " vs " + returnText($0) } ?? "") } ?? "—",
                          String(row.retrains), Format.seconds(row.seconds),
                          difference.map { d in (d.interval.significant ? "worse" : "not distinguishable") } ?? (best?.task == row.task ? "best" : "—")])
            objects.append(.object([
                ("task", .int(row.task)), ("grid", .object(row.grid.map { ($0.0, .string($0.1)) })), ("asset", .string(row.asset)),
                ("metric", .string(metric.rawValue)), ("value", .number(row.score?.mean)),
                ("ci_low", .number(row.score?.low)), ("ci_high", .number(row.score?.high)), ("naive", .number(row.naive)),
                ("pnl", .object([("strategy_return", .number(strategy)), ("buy_and_hold_return", .number(hold))])),
                ("retrains", .int(row.retrains)), ("seconds", .number(row.seconds)),
                ("vs_best", difference.map { d in .object([("mean", .number(d.interval.mean)), ("ci_low", .number(d.interval.low)),
                                                           ("ci_high", .number(d.interval.high)),
                                                           ("distinguishable", .bool(d.interval.significant))]) } ?? .null),
            ]))
        }
        var text = "sweep \(name): \(rows.count) of \(tasks) tasks finished, \(added) added to the session's replays — ranked by \(metric.rawValue) (95 % block-bootstrap intervals)\n"
        text += shell.table(["grid", "asset", metric.rawValue, "95 % CI", "naive", "return vs hold", "retrains", "time", "vs best"],
                            table, right: [2, 4, 6, 7])
        text += "\nthe best row is the highest of \(rows.count) noisy figures: 'vs best' says which others it cannot be told apart from"
        if !forced.isEmpty { text += "\ncollected with --force: the session's \(forced.joined(separator: ", ")) data no longer matches the sweep's (recorded)" }
        return CommandOutput(fields: [("added", .int(added)), ("rows", .array(objects)), ("forced", .array(forced.map(JSON.string)))],
                             text: text)
    }
}

/// What the report and log files of a sweep say.
enum SweepReports {
    /// A scored step as the report keeps it: `[bar_time, signal, p_up|null, return|null, outcome]`.
    static func stepJSON(_ step: ScoredStep) -> JSON {
        .array([.number(step.barTime), .string(step.signal.rawValue), step.probabilityUp.map(JSON.number) ?? .null,
                step.realisedReturn.map(JSON.number) ?? .null, .string(step.outcome.rawValue)])
    }

    /// A finished task's report: its object, its scored steps and its text (read once), nil when it is not there
    /// or not readable.
    static func read(_ folder: SweepFolder, task: Int) -> (object: [String: Any], steps: [ScoredStep], text: String)? {
        guard let data = FileManager.default.contents(atPath: folder.reportPath(task)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let rows = object["scored_steps"] as? [[Any]] else { return nil }
        var steps: [ScoredStep] = []
        for row in rows {
            guard row.count == 5, let time = row[0] as? Double, let signal = (row[1] as? String).flatMap(Signal.init(rawValue:)),
                  let outcome = (row[4] as? String).flatMap(Signal.init(rawValue:)),
                  let step = try? ScoredStep(signal: signal, probabilityUp: row[2] as? Double, realisedReturn: row[3] as? Double,
                                             outcome: outcome, barTime: time) else { return nil }
            steps.append(step)
        }
        return (object, steps, String(decoding: data, as: UTF8.self))
    }

    /// The task's own run time, from its report.
    static func seconds(_ folder: SweepFolder, task: Int) -> Double? {
        guard let data = FileManager.default.contents(atPath: folder.reportPath(task)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["seconds"] as? Double
    }

    /// Whether the task's last run failed (its log ends with the failure line the engine writes).
    static func failed(_ folder: SweepFolder, task: Int) -> Bool {
        FileManager.default.fileExists(atPath: folder.logPath(task) + ".failed")
    }
}

/// Runs a sweep's tasks as child processes of this machine, `jobs` at a time, each with its output in its log.
struct LocalSweepEngine: Sendable {
    let folder: SweepFolder
    let executable: String

    /// The tasks still to start and those that failed, shared by the runner threads.
    private final class Work: @unchecked Sendable {
        // @unchecked: every field is touched under `lock` only.
        private let lock = NSLock()
        private var queue: ArraySlice<Int>
        private var failures: [Int] = []
        private var stopped = false
        init(_ tasks: [Int]) { queue = tasks[...] }
        func next() -> Int? { lock.withLock { stopped ? nil : queue.popFirst() } }
        func fail(_ task: Int) { lock.withLock { failures.append(task) } }
        func stop() { lock.withLock { stopped = true } }
        var failed: [Int] { lock.withLock { failures.sorted() } }
    }

    /// Returns the tasks that failed (their logs say why). `isCancelled` (Ctrl-C) is polled on the calling thread:
    /// no new task starts after it, the running ones finish.
    func run(_ tasks: [Int], jobs: Int, isCancelled: () -> Bool) throws -> [Int] {
        let work = Work(tasks)
        let group = DispatchGroup()
        let engine = self
        for _ in 0..<max(1, min(jobs, tasks.count)) {
            DispatchQueue.global().async(group: group) {
                while let task = work.next() {
                    if !engine.runOne(task) { work.fail(task) }
                }
            }
        }
        while group.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if isCancelled() { work.stop() }
        }
        return work.failed
    }

    /// One task in its own process; false when it failed.
    private func runOne(_ task: Int) -> Bool {
        let log = folder.logPath(task)
        let marker = log + ".failed"
        try? FileManager.default.removeItem(atPath: marker)
        FileManager.default.createFile(atPath: log, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: log) else { return false }
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["sweep", "task", folder.path, String(task)]
        process.standardOutput = handle
        process.standardError = handle
        do {
            try process.run()
        } catch {
            handle.write(Data("could not start \(executable): \(error)\n".utf8))
            FileManager.default.createFile(atPath: marker, contents: nil)
            return false
        }
        process.waitUntilExit()
        let ok = process.terminationReason == .exit && process.terminationStatus == 0 && folder.isDone(task)
        if !ok {
            handle.write(Data("task \(task) ended with status \(process.terminationStatus)\n".utf8))
            FileManager.default.createFile(atPath: marker, contents: nil)
        }
        return ok
    }
}
