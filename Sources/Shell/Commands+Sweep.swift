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
        'sweep new NAME --grid KEY=V1,V2 [--grid KEY=…] [--assets A,B|all] [--days N | --span 365d | --windows 4x90d \
        | --select-on 180d --evaluate-on 90d] [--seeds N] [--tiers 1,2]' writes a self-contained folder \
        (sessions/sweeps/NAME): a manifest with the settings of every task (each grid point on each asset, window \
        and seed: the session's settings with the point's values set as 'set' would, XGBoost on one thread), the \
        SHA-256 fingerprint of every series and the program version, sealed by a checksum, and the bars each task \
        needs. A task replays the last N calendar days (default 30) with the loop's own triggers; --windows splits a \
        long span into consecutive windows run as separate tasks (each starts by training on everything before it); \
        --seeds repeats every point with other XGBoost and LSTM seeds. 'sweep run NAME --engine local [--jobs N]' \
        runs the tasks not yet done as separate 'lgc-shell sweep task FOLDER ID' processes, one per core by default; \
        each writes its report to a temporary name and renames it, so a killed task leaves no report and a finished \
        one is never run again. 'sweep run NAME --engine slurm [--partition P] [--time 2:00:00] [--max-parallel K] \
        [--sbatch-arg ARG]… [--wait]' submits one Slurm job array of those tasks (its script in the folder's slurm/, \
        its job recorded there); --wait follows it to its end. Tasks queued or running in a recorded job are not run \
        again; --retry-failed runs only the failed ones (either engine). 'sweep status NAME' counts done, running, \
        failed and pending tasks (asking squeue about recorded jobs: a task out of the queue without its report \
        failed), with each failure's log. 'sweep cancel NAME' cancels the sweep's jobs still in Slurm's queue \
        (scancel); their unfinished tasks are pending again. 'sweep list' shows every sweep of the session's folder \
        with its progress. 'sweep collect NAME' adds every finished task to the \
        session's replays (once) and ranks the points of each asset — windows joined, seeds averaged at each bar — \
        with intervals, naive baselines, P&L against buy-and-hold and each point against the best. With \
        --select-on/--evaluate-on the best point is chosen on the first span only and reported, beside the default \
        settings, on the following span only (walk-forward selection: the reported figure is not the best of many \
        noisy ones).
        """,
        examples: ["sweep new depth --grid xgboost.max_depth=3,6 --grid tier2_interval=6h,12h --days 14",
                   "sweep new pick --grid tier2_interval=3h,6h,12h --select-on 180d --evaluate-on 90d --assets all",
                   "sweep run depth --engine local", "sweep run depth --engine slurm --time 1:00:00 --max-parallel 8 --wait",
                   "sweep status depth", "sweep run depth --engine slurm --retry-failed", "sweep cancel depth",
                   "sweep collect depth", "sweep list"],
        subcommands: [Subcommand(SweepVerb.new, [sweepName.spec]), Subcommand(SweepVerb.run, [sweepName.spec]),
                      Subcommand(SweepVerb.status, [sweepName.spec]), Subcommand(SweepVerb.collect, [sweepName.spec]),
                      Subcommand(SweepVerb.cancel, [sweepName.spec]), Subcommand(SweepVerb.list),
                      Subcommand(SweepVerb.task, [sweepFolder.spec, sweepTaskID.spec])],
        flags: [FlagSpec(SweepArguments.grid), FlagSpec(SweepArguments.assets), FlagSpec(SweepArguments.days),
                FlagSpec(SweepArguments.span), FlagSpec(SweepArguments.windows), FlagSpec(SweepArguments.seeds),
                FlagSpec(SweepArguments.selectOn), FlagSpec(SweepArguments.evaluateOn),
                FlagSpec(SweepArguments.tiers), FlagSpec(SweepArguments.engine), FlagSpec(SweepArguments.jobs),
                FlagSpec(SweepArguments.partition), FlagSpec(SweepArguments.time), FlagSpec(SweepArguments.maxParallel),
                FlagSpec(SweepArguments.sbatchArgument), FlagSpec(SweepArguments.wait), FlagSpec(SweepArguments.retryFailed),
                FlagSpec(SweepArguments.metric), FlagSpec(SweepArguments.force)],
        exclusive: [[["days"], ["span"], ["windows"], ["select-on", "evaluate-on"]]],
        run: { shell, args in
            switch args.subcommand(as: SweepVerb.self) {
            case .new?: return try newSweep(shell, args)
            case .run?: return try runSweep(shell, args)
            case .status?: return try sweepStatus(shell, name: args[sweepName])
            case .collect?: return try collectSweep(shell, args)
            case .cancel?: return try cancelSweep(shell, name: args[sweepName])
            case .list?: return try listSweeps(shell)
            case .task?:
                let folder = SweepFolder(path: (args[sweepFolder] as NSString).expandingTildeInPath)
                return taskOutput(try SweepTask.run(folder: folder, task: args[sweepTaskID]), task: args[sweepTaskID])
            case nil: preconditionFailure("sweep's subcommand is required by its declaration")
            }
        })

    enum SweepVerb: String {
        case new, run, status, task, collect, cancel, list
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
        static let span = Option("span", "DURATION", DurationKind(Bounded(.duration, 3_600, Bounded.century)),
                                 "the span each task replays, e.g. 365d (as --days)")
        static let windows = Option("windows", "COUNTxDURATION", WindowsKind(),
                                    "split the span into consecutive windows, each its own task, e.g. 4x90d")
        static let seeds = Option("seeds", "N", WholeKind(1...100), "repeat every point with N seeds (XGBoost's and the LSTM's)")
        static let selectOn = Option("select-on", "DURATION", DurationKind(Bounded(.duration, 3_600, Bounded.century)),
                                     "walk-forward selection: choose the best point on this first span…")
        static let evaluateOn = Option("evaluate-on", "DURATION", DurationKind(Bounded(.duration, 3_600, Bounded.century)),
                                       "…and report it, beside the default, on this following span only")
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
        // Folders only: a sweep is a folder (a stray file beside them is not one).
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { name in
            var folder: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &folder) && folder.boolValue
        }.sorted()
    }

    static func sweepFolder(_ shell: ShellContext, name: String) throws -> SweepFolder {
        guard SessionController.validName(name) else { throw SweepError.invalidName(name) }
        return SweepFolder(path: try sweepsDirectory(shell) + "/" + name)
    }

    /// Seconds one task's replay costs on one core, counted fit by fit: the fits its time triggers call for
    /// (performance and drift triggers add more), each costing more as the bars before it grow. The figures are
    /// fitted to measurements on the development machine (single-threaded, release): a 365-day tiers-1,2 task took
    /// 491 s of CPU (1,460 XGBoost fits at 840…9,600 bars, 8,760 logistic fits); lgc-bench's 30-day replay puts an
    /// XGBoost fit on ~1,100 bars at 0.15 s; `tier1_720`/`tier1_8760` give the logistic fits; `replay_tier3_per_retrain`
    /// the LSTM's 4 s at 50 epochs.
    static func estimatedTaskSeconds(_ config: LoopConfig, from: Int, through: Int, barInterval: TimeInterval, tiers: Set<Int>) -> Double {
        let steps = Double(through - from), meanBars = Double(from) + steps / 2
        func fits(_ tier: Int) -> Double {
            tiers.contains(tier) ? max(1, (steps * barInterval / max(config.interval(forTier: tier), barInterval)).rounded(.up)) : 0
        }
        let logistic = 0.0001 + 0.45e-6 * meanBars
        let xgboost = (0.106 + 41e-6 * meanBars) * Double(config.xgboost.rounds) / 100
        let lstm = 4.0 * Double(config.lstm.epochs) / 50
        return (fits(1) + fits(2) + fits(3)) * logistic + (fits(2) + fits(3)) * xgboost + fits(3) * lstm + steps * 0.0002
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
        // The span: --days N / --span D (one window), --windows COUNTxD, or --select-on D --evaluate-on D.
        var days = args.value(of: SweepArguments.days) ?? args.value(of: SweepArguments.span).map { $0 / 86_400 } ?? 30
        var windows = 1
        if let split = args.value(of: SweepArguments.windows) { (windows, days) = (split.count, split.seconds / 86_400) }
        var selection: SweepManifest.Selection?
        switch (args.value(of: SweepArguments.selectOn), args.value(of: SweepArguments.evaluateOn)) {
        case (let select?, let evaluate?): selection = .init(selectDays: select / 86_400, evaluateDays: evaluate / 86_400)
        case (nil, nil): break
        default: throw ShellError.usage(command: sweep, message: "--select-on and --evaluate-on go together: the best point is chosen on the first span and reported on the second")
        }
        let seeds = args.value(of: SweepArguments.seeds) ?? 1
        let tiers = (args.value(of: SweepArguments.tiers) ?? [1, 2]).sorted()
        let base = engine.config
        // The base settings' point: the grid's own spelling where a grid point has the same values, else as `config`
        // shows it (then, under selection, it is added as an extra point to report the chosen one against).
        let points = axes.reduce([[String]]([[]])) { points, axis in points.flatMap { point in axis.values.map { point + [$0] } } }
        func isBase(_ point: [String]) -> Bool {
            zip(axes, point).allSatisfy { axis, value in
                var changed = base
                guard (try? changed.set(axis.key, to: value)) != nil, let key = LoopConfig.key(named: axis.key) else { return false }
                return key.value(changed) == key.value(base)
            }
        }
        let basePoint = points.first(where: isBase)
        let defaultValues = basePoint ?? axes.map { LoopConfig.key(named: $0.key)!.display(base) }
        let candidates = points + (selection != nil && basePoint == nil && !axes.isEmpty ? [defaultValues] : [])
        let count = candidates.count * series.count * windows * seeds
        guard count > 0, !axes.isEmpty else { throw SweepError.noTasks }
        guard count <= SweepManifest.maxTasks else { throw SweepError.tooManyTasks(count, limit: SweepManifest.maxTasks) }
        var tasks: [SweepManifest.Task] = []
        for asset in series.indices {
            for point in candidates {
                for window in 0..<windows {
                    for seed in 0..<seeds {
                        tasks.append(SweepManifest.Task(id: tasks.count, asset: asset, values: point, window: window, seed: seed))
                    }
                }
            }
        }
        let assets = series.enumerated().map { index, bars in
            SweepManifest.Asset(symbol: bars.symbol, file: "data/\(index).json",
                                fingerprint: dataFingerprint(bars, through: bars.count - 1), rows: bars.count)
        }
        let manifest = SweepManifest(name: name, days: days, windows: windows, seeds: seeds, selection: selection, tiers: tiers,
                                     axes: axes, defaultValues: defaultValues, config: base, assets: assets, tasks: tasks)
        // Every asset must hold every window and a bar before it to train on.
        for task in tasks where task.seed == 0 && task.values == candidates[0] {
            let bars = series[task.asset]
            guard (try? manifest.window(of: task, in: bars)) != nil else {
                let span = (selection.map { $0.selectDays + $0.evaluateDays } ?? days) * Double(windows)
                throw ShellError.invalid("the sweep's \(Format.fixed(span, 0)) days reach before \(bars.symbol)'s \(bars.count) bars: fetch more history or sweep a shorter span")
            }
        }
        if let selection {
            for bars in series {
                guard let start = manifest.evaluationStart(in: bars), bars.bars.contains(where: { $0.time < start }) else {
                    throw ShellError.invalid("--evaluate-on \(Format.fixed(selection.evaluateDays, 0))d leaves no evaluation bars in \(bars.symbol)")
                }
            }
        }
        // Each task's settings are checked now, not on the cluster an hour later.
        for task in tasks where try manifest.configuration(for: task).trainingPool == .all {
            // Pooling trains beside the sweep's other assets, so there must be some, at the asset's bar interval.
            guard series.count > 1 else {
                throw ShellError.invalid("training_pool=all pools the sweep's other assets: declare the sweep on several (--assets A,B or all)")
            }
            let own = series[task.asset]
            if let other = series.first(where: { other in
                guard let a = own.interval, let b = other.interval else { return true }
                return abs(a - b) > 0.01 * max(a, b)
            }) {
                throw LoopError.poolIntervalsDiffer(asset: own.symbol, interval: own.interval ?? 0,
                                                    other: other.symbol, otherInterval: other.interval ?? 0)
            }
        }
        _ = try SweepFolder.create(at: folder.path, manifest: manifest, series: series)
        var estimate = 0.0
        let intervals = series.map { $0.interval ?? 3_600 }
        for task in tasks {
            let window = try manifest.window(of: task, in: series[task.asset])
            estimate += estimatedTaskSeconds(try manifest.configuration(for: task), from: window.from, through: window.through,
                                             barInterval: intervals[task.asset], tiers: Set(tiers))
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var shape = axes.map { "\($0.values.count) \($0.key)" }
        if candidates.count > points.count { shape[shape.count - 1] += " + the default point" }
        shape.append("\(series.count) asset\(series.count == 1 ? "" : "s")")
        if windows > 1 { shape.append("\(windows) windows") }
        if seeds > 1 { shape.append("\(seeds) seeds") }
        let span: String
        if let selection {
            span = "each replaying \(Format.fixed(selection.selectDays + selection.evaluateDays, 0)) days: the best point is chosen on the first \(Format.fixed(selection.selectDays, 0)) and reported on the last \(Format.fixed(selection.evaluateDays, 0)) only"
        } else if windows > 1 {
            span = "\(windows) consecutive windows of \(Format.fixed(days, 0)) days"
        } else {
            span = "each replaying \(Format.fixed(days, 0)) days"
        }
        return CommandOutput(fields: [("name", .string(name)), ("tasks", .int(count)), ("manifest", .string(folder.path)),
                                      ("estimate_seconds", .number(estimate))],
                             text: """
                             sweep \(name): \(count) task\(count == 1 ? "" : "s") (\(shape.joined(separator: " × "))), \(span), tiers \(tiers.map(String.init).joined(separator: ","))
                             manifest \(folder.path)
                             estimated \(Format.seconds(estimate)) of replay on one core (about \(Format.seconds(estimate / Double(min(cores, count)))) on this machine's \(cores)), counted fit by fit from measured costs
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
    /// `sweep list`: every sweep of the session's folder with its shape and progress, from its files alone (quick,
    /// and without asking Slurm: 'sweep status NAME' does); a folder that is not a readable sweep says why.
    static func listSweeps(_ shell: ShellContext) throws -> CommandOutput {
        let names = sweepNames(shell)
        guard !names.isEmpty else {
            return CommandOutput(fields: [("sweeps", .array([]))],
                                 text: "no sweeps yet — 'sweep new NAME --grid KEY=V1,V2' declares one")
        }
        var rows: [[String]] = [], objects: [JSON] = []
        for name in names {
            let folder = try sweepFolder(shell, name: name)
            let manifest: SweepManifest
            do {
                manifest = try folder.manifest()
            } catch let error as SweepError {
                // Listed with the reason, so a damaged or foreign folder is seen rather than hidden.
                let reason: String
                if case .noSuchSweep = error { reason = "no manifest.json: not a sweep folder" } else { reason = error.description }
                rows.append([name, "—", "", "", "", "", "unusable: \(reason)"])
                objects.append(.object([("name", .string(name)), ("error", .string(reason))]))
                continue
            }
            let done = manifest.tasks.filter { folder.isDone($0.id) }.count
            let failed = manifest.tasks.filter { !folder.isDone($0.id) && SweepReports.failed(folder, task: $0.id) }.count
            let span = manifest.selection.map { "select \(Format.fixed($0.selectDays, 0))d, evaluate \(Format.fixed($0.evaluateDays, 0))d" }
                ?? (manifest.windows > 1 ? "\(manifest.windows)×\(Format.fixed(manifest.days, 0))d" : "\(Format.fixed(manifest.days, 0))d")
            rows.append([name, String(manifest.tasks.count),
                         progressBar(done: done, of: manifest.tasks.count, unicode: shell.terminal.unicode).dropFirst().dropLast().prefix(10) + " \(done)",
                         String(failed), manifest.assets.map(\.symbol).joined(separator: ","), span,
                         manifest.axes.map { "\($0.key) ×\($0.values.count)" }.joined(separator: ", ")
                            + (manifest.seeds > 1 ? ", \(manifest.seeds) seeds" : "")])
            objects.append(.object([
                ("name", .string(name)), ("tasks", .int(manifest.tasks.count)), ("done", .int(done)), ("failed", .int(failed)),
                ("pending", .int(manifest.tasks.count - done - failed)), ("assets", .array(manifest.assets.map { .string($0.symbol) })),
                ("axes", .object(manifest.axes.map { ($0.key, .array($0.values.map(JSON.string))) })),
                ("days", .number(manifest.days)), ("windows", .int(manifest.windows)), ("seeds", .int(manifest.seeds)),
                ("tiers", .array(manifest.tiers.map(JSON.int))), ("manifest", .string(folder.path)),
            ]))
        }
        let text = shell.table(["sweep", "tasks", "done", "failed", "assets", "span", "grid"], rows, right: [1, 3])
            + "\nfrom the files alone: 'sweep status NAME' also asks Slurm what is queued or running"
        return CommandOutput(fields: [("sweeps", .array(objects))], text: text)
    }

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
    /// One grid point on one asset, collected: every window and seed of it, the metric with its interval, and what
    /// else the table shows.
    struct SweepRow {
        /// The point's tasks, in id order (its windows and seeds).
        let tasks: [Int]
        let grid: [(String, String)]
        let asset: String
        /// The base settings' point.
        let isDefault: Bool
        /// One per seed: its windows' scored steps joined in time order.
        let members: [[ScoredStep]]
        let score: BootstrapInterval?
        let naive: Double?
        /// The strategy's return (the mean over seeds) and buy-and-hold's over the same steps.
        let pnl: (strategy: Double, hold: Double)?
        /// Retrains per seed (all windows), the mean over seeds.
        let retrains: Double
        /// The tasks' own run time, summed.
        let seconds: Double

        var id: Int { tasks[0] }
        var label: String { grid.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + (isDefault ? " (default)" : "") }
    }

    /// A finished task's report, read once: its object and its scored steps.
    typealias SweepReport = (object: [String: Any], steps: [ScoredStep], text: String)

    /// The rows of every point and asset whose tasks have all finished, on the steps whose bar time is in `span`.
    /// With several seeds a row's score is the mean over seeds at each bar time, bootstrapped in time order.
    static func sweepRows(_ manifest: SweepManifest, reports: [Int: SweepReport], metric: MetricName,
                          series: [String: PriceSeries], span: Range<TimeInterval> = -.infinity ..< .infinity,
                          asset: String? = nil) -> [SweepRow] {
        var groups: [[SweepManifest.Task]] = []
        var index: [[String]: Int] = [:]
        for task in manifest.tasks where asset == nil || manifest.assets[task.asset].symbol == asset {
            let key = [String(task.asset)] + task.values
            if let at = index[key] { groups[at].append(task) } else { index[key] = groups.count; groups.append([task]) }
        }
        let pnlSettings = manifest.config.pnlSettings
        return groups.compactMap { tasks -> SweepRow? in
            guard tasks.allSatisfy({ reports[$0.id] != nil }) else { return nil }
            let first = tasks[0]
            let symbol = manifest.assets[first.asset].symbol
            let members = (0..<manifest.seeds).map { seed in
                tasks.filter { $0.seed == seed }.sorted { $0.window < $1.window }
                    .flatMap { reports[$0.id]!.steps }.filter { span.contains($0.barTime) }
            }
            // Each bar time's contribution averaged over the seeds that scored it.
            var byTime: [TimeInterval: (sum: Double, count: Int)] = [:]
            for steps in members {
                for (step, value) in zip(steps, HonestMetrics.contributions(metric, of: steps)) {
                    guard let value else { continue }
                    byTime[step.barTime, default: (0, 0)].sum += value
                    byTime[step.barTime, default: (0, 0)].count += 1
                }
            }
            let times = byTime.keys.sorted()
            let contributions = times.map { byTime[$0]!.sum / Double(byTime[$0]!.count) }
            let block = max(BlockBootstrap.medianBarInterval(times).map(BlockBootstrap.blockLength(barInterval:)) ?? 1,
                            BlockBootstrap.blockLength(count: contributions.count))
            let naiveBaseline: NaiveBaseline = switch metric {
            case .accuracy: .persistence
            case .directionalAccuracy: .alwaysUp
            default: .climatology
            }
            let naive = replayBaselines(members[0], series: series[symbol])
                .first { $0.baseline == naiveBaseline }?.metrics[metric]?.value
            let pnls = members.compactMap { try? SignalPnL($0, settings: pnlSettings) }
            let pnl = pnls.count == members.count && !pnls.isEmpty
                ? (strategy: pnls.map(\.strategyReturn).reduce(0, +) / Double(pnls.count), hold: pnls[0].buyAndHoldReturn) : nil
            let retrains = tasks.compactMap { task -> Int? in
                let report = reports[task.id]!.object["report"] as? [String: Any]
                return (report?["retrains"] as? [String: Any])?.values.compactMap { ($0 as? [String: Any])?["count"] as? Int }.reduce(0, +)
            }.reduce(0, +)
            return SweepRow(tasks: tasks.map(\.id), grid: manifest.grid(of: first), asset: symbol,
                            isDefault: manifest.isDefault(first), members: members,
                            score: try? BlockBootstrap.interval(of: contributions, blockLength: block), naive: naive, pnl: pnl,
                            retrains: Double(retrains) / Double(manifest.seeds),
                            seconds: tasks.compactMap { reports[$0.id]!.object["seconds"] as? Double }.reduce(0, +))
        }
    }

    /// `a` against `b` on `metric`: seed i paired with seed i on the bars both scored, the differences averaged over
    /// seeds at each bar time and bootstrapped in time order.
    static func sweepDifference(_ a: SweepRow, _ b: SweepRow, metric: MetricName) -> ReplayAnalysis.Comparison? {
        ReplayAnalysis.comparePanel("task \(a.id)", "task \(b.id)", assets: zip(a.members, b.members).map { ($0, $1) })
            .first { $0.metric == metric }
    }

    /// Rows ranked within each asset, best first (ties: the lower task).
    static func ranked(_ rows: [SweepRow], metric: MetricName) -> [SweepRow] {
        let sign = metric.higherIsBetter ? 1.0 : -1.0
        let order = Dictionary(rows.map(\.asset).enumerated().map { ($1, $0) }, uniquingKeysWith: min)
        return rows.sorted { a, b in
            if a.asset != b.asset { return order[a.asset]! < order[b.asset]! }
            // A row without a score ranks last whichever way the metric points (not first for Brier's "lower").
            let x = (a.score?.mean).map { sign * $0 } ?? -.infinity, y = (b.score?.mean).map { sign * $0 } ?? -.infinity
            return x != y ? x > y : a.id < b.id
        }
    }

    /// Every finished task's report, read once.
    static func sweepReports(_ folder: SweepFolder, _ manifest: SweepManifest) -> [Int: SweepReport] {
        var reports: [Int: SweepReport] = [:]
        for task in manifest.tasks {
            if let report = SweepReports.read(folder, task: task.id) { reports[task.id] = report }
        }
        return reports
    }

    /// `sweep collect NAME`: every finished task's report joins the session's replays (once: a task collected before
    /// is not added again), and the ranked table — per asset, the metric with its block-bootstrap interval, its naive
    /// baseline on the same steps, P&L against buy-and-hold, retrains, the tasks' own time, and each row's paired
    /// difference against the asset's best row with whether it is distinguishable from it. Under walk-forward
    /// selection the table covers the selection span and a second part reports the chosen point, and the default, on
    /// the evaluation span only.
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
                guard args.has(SweepArguments.force) else { throw SweepError.sessionDataChanged(symbol: asset.symbol) }
                forced.append(asset.symbol)
            }
        }
        var series: [String: PriceSeries] = [:]
        for asset in manifest.assets { series[asset.symbol] = try folder.series(asset) }
        let reports = sweepReports(folder, manifest)
        let key = "sweep \(name)"
        let stored = Set(try session.database.replays().filter { $0.compareKey == key }.compactMap(\.compareValue))
        var added = 0
        for task in manifest.tasks {
            guard let (object, _, text) = reports[task.id] else { continue }
            let value = "task \(task.id)"
            guard !stored.contains(value) else { continue }
            let report = object["report"] as? [String: Any] ?? [:]
            // Stored as `replay` stores its reports (settings, data fingerprint, version at the top, numbers as
            // written), with the sweep's own record beside them.
            guard case .object(let fieldsOfTask)? = try? JSONText.parse(text),
                  case .object(let reportFields)? = fieldsOfTask.first(where: { $0.0 == "report" })?.1 else { continue }
            let symbol = manifest.assets[task.asset].symbol
            let sweepRecord = JSON.object([
                ("name", .string(name)), ("task", .int(task.id)), ("asset", .string(symbol)),
                ("grid", .object(manifest.grid(of: task).map { ($0.0, .string($0.1)) })),
                ("window", .int(task.window)), ("seed", .int(task.seed)),
                ("seconds", .number(object["seconds"] as? Double)),
                ("forced", .bool(forced.contains(symbol))),
            ])
            let json = JSON.object(reportFields + [("sweep", sweepRecord)]).serialized()
            let grid = manifest.grid(of: task).map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            let retrains = (report["retrains"] as? [String: Any])?.values.compactMap { ($0 as? [String: Any])?["count"] as? Int }.reduce(0, +) ?? 0
            let replayEntry = ReplayEntry(
                id: nextReplayID(shell) ?? 1, at: shell.engine.clock.now, command: "",
                start: TimeText.parse(report["start"] as? String ?? "") ?? 0, end: TimeText.parse(report["end"] as? String ?? "") ?? 0,
                steps: report["steps"] as? Int ?? 0, scored: report["scored"] as? Int ?? 0, tiers: manifest.tiers,
                policy: ReplayPolicy.triggers.rawValue, compareKey: key, compareValue: value,
                accuracy: report["accuracy"] as? Double, retrains: retrains,
                trainingSeconds: report["training_seconds"] as? Double ?? 0, cancelled: false, applied: false, reportJSON: json,
                reportText: "sweep \(name) task \(task.id) (\(symbol)): \(grid)", asset: shell.engine.asset(named: symbol))
            shell.pendingReplays.append(replayEntry)
            added += 1
        }
        return sweepTable(shell, name: name, manifest: manifest, metric: metric, reports: reports, series: series,
                          added: added, forced: forced)
    }

    /// What walk-forward selection chose on one asset, and how it did where it had not looked.
    struct SweepSelectionResult {
        let asset: String
        /// The first bar time of the evaluation span.
        let evaluationStart: TimeInterval
        /// The best row on the selection span.
        let chosen: SweepRow
        /// The chosen point and the default on the evaluation span.
        let chosenEvaluated: SweepRow
        let defaultEvaluated: SweepRow?
        /// The chosen point minus the default on the evaluation span.
        let difference: ReplayAnalysis.Comparison?
        /// The evaluation span's own best point: what peeking would have picked (shown, never reported as a result).
        let hindsightBest: SweepRow
    }

    /// Walk-forward selection on each asset: the best point by `metric` on the steps before the evaluation span, then
    /// that point and the default on the evaluation span only. Nil for an asset whose points have not all finished.
    static func walkForwardSelection(_ manifest: SweepManifest, reports: [Int: SweepReport], metric: MetricName,
                                     series: [String: PriceSeries]) -> [SweepSelectionResult] {
        manifest.assets.compactMap { asset -> SweepSelectionResult? in
            guard let bars = series[asset.symbol], let start = manifest.evaluationStart(in: bars) else { return nil }
            let mine = manifest.tasks.filter { manifest.assets[$0.asset].symbol == asset.symbol }
            guard mine.allSatisfy({ reports[$0.id] != nil }) else { return nil }
            let selecting = ranked(sweepRows(manifest, reports: reports, metric: metric, series: series,
                                             span: -.infinity ..< start, asset: asset.symbol), metric: metric)
            let evaluating = ranked(sweepRows(manifest, reports: reports, metric: metric, series: series,
                                              span: start ..< .infinity, asset: asset.symbol), metric: metric)
            guard let chosen = selecting.first, let chosenEvaluated = evaluating.first(where: { $0.id == chosen.id }),
                  let hindsight = evaluating.first else { return nil }
            let defaultEvaluated = evaluating.first(where: \.isDefault)
            return SweepSelectionResult(
                asset: asset.symbol, evaluationStart: start, chosen: chosen, chosenEvaluated: chosenEvaluated,
                defaultEvaluated: defaultEvaluated,
                difference: defaultEvaluated.flatMap { $0.id == chosen.id ? nil : sweepDifference(chosenEvaluated, $0, metric: metric) },
                hindsightBest: hindsight)
        }
    }

    static func sweepTable(_ shell: ShellContext, name: String, manifest: SweepManifest, metric: MetricName,
                           reports: [Int: SweepReport], series: [String: PriceSeries], added: Int, forced: [String]) -> CommandOutput {
        let selection = manifest.selection
        // Under selection the table shows the selection span: what the choice was made on.
        let starts = Dictionary(uniqueKeysWithValues: series.compactMap { symbol, bars in manifest.evaluationStart(in: bars).map { (symbol, $0) } })
        // Each asset's rows once, on its own span (an asset's evaluation span starts at its own bar).
        let rows = ranked(manifest.assets.flatMap { asset in
            sweepRows(manifest, reports: reports, metric: metric, series: series,
                      span: starts[asset.symbol].map { -.infinity ..< $0 } ?? -.infinity ..< .infinity, asset: asset.symbol)
        }, metric: metric)
        func figure(_ value: Double?) -> String {
            guard let value else { return "—" }
            return metric == .brier || metric == .logLoss ? Format.fixed(value) : Format.percent(value)
        }
        /// A paired difference, positive when the first is better (points for rates, units for Brier and log loss).
        func signed(_ value: Double?) -> String {
            guard let value else { return "—" }
            return metric == .brier || metric == .logLoss ? String(format: "%+.4f", value) : Format.signedPercent(value)
        }
        func interval(_ score: BootstrapInterval?) -> String {
            score.flatMap { s in s.low.flatMap { low in s.high.map { "\(figure(low))…\(figure($0))" } } } ?? "—"
        }
        func scoreObject(_ row: SweepRow) -> [(String, JSON)] {
            [("value", .number(row.score?.mean)), ("ci_low", .number(row.score?.low)), ("ci_high", .number(row.score?.high)),
             ("naive", .number(row.naive))]
        }
        func differenceObject(_ d: ReplayAnalysis.Comparison?) -> JSON {
            d.map { d in .object([("mean", .number(d.interval.mean)), ("ci_low", .number(d.interval.low)),
                                  ("ci_high", .number(d.interval.high)), ("distinguishable", .bool(d.interval.significant))]) } ?? .null
        }
        var table: [[String]] = [], objects: [JSON] = []
        var bestOf: [String: SweepRow] = [:]
        for row in rows {
            let best = bestOf[row.asset] ?? row
            bestOf[row.asset] = best
            let difference = best.id == row.id ? nil : sweepDifference(row, best, metric: metric)
            table.append([row.label, row.asset, figure(row.score?.mean), interval(row.score), figure(row.naive),
                          row.pnl.map { returnText($0.strategy) + " vs " + returnText($0.hold) } ?? "—",
                          manifest.seeds > 1 ? Format.fixed(row.retrains, 1) : String(Int(row.retrains)), Format.seconds(row.seconds),
                          best.id == row.id ? "best" : difference.map { $0.interval.significant ? "worse" : (shell.terminal.unicode ? "≈ best" : "~ best") } ?? "—"])
            objects.append(.object([
                ("task", .int(row.id)), ("tasks", .array(row.tasks.map(JSON.int))),
                ("grid", .object(row.grid.map { ($0.0, .string($0.1)) })), ("asset", .string(row.asset)),
                ("default", .bool(row.isDefault)), ("metric", .string(metric.rawValue))] + scoreObject(row) + [
                ("pnl", .object([("strategy_return", .number(row.pnl?.strategy)), ("buy_and_hold_return", .number(row.pnl?.hold))])),
                ("retrains", .number(row.retrains)), ("seconds", .number(row.seconds)),
                ("vs_best", differenceObject(difference)),
            ]))
        }
        let finished = reports.count
        var text = "sweep \(name): \(finished) of \(manifest.tasks.count) tasks finished, \(added) added to the session's replays\n"
        text += "ranked by \(metric.rawValue) within each asset, 95 % block-bootstrap intervals"
        if manifest.seeds > 1 { text += ", \(manifest.seeds) seeds averaged at each bar" }
        if manifest.windows > 1 { text += ", \(manifest.windows) windows joined" }
        text += "\n"
        if let selection { text += "on the selection span only (the first \(Format.fixed(selection.selectDays, 0)) of \(Format.fixed(selection.selectDays + selection.evaluateDays, 0)) days): the figures the choice is made on (retrains and time: the whole replay)\n" }
        text += shell.table(["grid", "asset", metric.rawValue, "95 % CI", "naive", "return vs hold", "retrains", "time", "vs best"],
                            table, right: [2, 4, 6, 7])
        text += "\nthe best row is the highest of \(rows.count) noisy figures; \(shell.terminal.unicode ? "≈" : "~") best: the paired 95 % interval of its difference from the best holds zero"
        var fields: [(String, JSON)] = [("added", .int(added)), ("rows", .array(objects)), ("forced", .array(forced.map(JSON.string)))]
        if let selection {
            let results = walkForwardSelection(manifest, reports: reports, metric: metric, series: series)
            text += "\n\nwalk-forward selection: chosen on the first \(Format.fixed(selection.selectDays, 0)) days, reported on the following \(Format.fixed(selection.evaluateDays, 0)) only"
            text += "\n(the choice never saw those days, so the figure is not the best of many noisy ones)"
            var resultRows: [[String]] = []
            for result in results {
                resultRows.append([result.asset, "chosen: " + result.chosen.label, figure(result.chosenEvaluated.score?.mean),
                                   interval(result.chosenEvaluated.score), figure(result.chosenEvaluated.naive),
                                   result.difference.map { d in
                                       signed(d.interval.mean) + (d.interval.low.flatMap { low in d.interval.high.map { " (\(signed(low))…\(signed($0)))" } } ?? "")
                                           + (d.interval.significant ? ", distinguishable" : ", not distinguishable")
                                   } ?? (result.defaultEvaluated?.id == result.chosen.id ? "the default was chosen" : "—")])
                if let base = result.defaultEvaluated, base.id != result.chosen.id {
                    resultRows.append([result.asset, "default: " + base.label, figure(base.score?.mean), interval(base.score),
                                       figure(base.naive), ""])
                }
            }
            text += "\n" + shell.table(["asset", "point", metric.rawValue + " (evaluation)", "95 % CI", "naive", "chosen − default"],
                                       resultRows, right: [2, 4])
            for result in results where result.hindsightBest.id != result.chosen.id {
                text += "\n\(result.asset): the evaluation span's own best would have been \(result.hindsightBest.label) (\(figure(result.hindsightBest.score?.mean))) — known only in hindsight, not a result"
            }
            if results.count < manifest.assets.count { text += "\nselection waits for every task of an asset to finish" }
            fields.append(("selection", .object([
                ("select_days", .number(selection.selectDays)), ("evaluate_days", .number(selection.evaluateDays)),
                ("assets", .array(results.map { result in
                    .object([
                        ("asset", .string(result.asset)), ("evaluation_start", .time(result.evaluationStart)),
                        ("chosen", .object([("task", .int(result.chosen.id)), ("grid", .object(result.chosen.grid.map { ($0.0, .string($0.1)) })),
                                            ("selection_value", .number(result.chosen.score?.mean))])),
                        ("evaluation", .object([
                            ("chosen", .object(scoreObject(result.chosenEvaluated))),
                            ("default", result.defaultEvaluated.map { .object(scoreObject($0)) } ?? .null),
                            ("chosen_minus_default", differenceObject(result.difference)),
                        ])),
                        ("hindsight_best", .object([("task", .int(result.hindsightBest.id)),
                                                    ("grid", .object(result.hindsightBest.grid.map { ($0.0, .string($0.1)) })),
                                                    ("value", .number(result.hindsightBest.score?.mean))])),
                    ])
                })),
            ])))
        }
        if !forced.isEmpty { text += "\ncollected with --force: the session's \(forced.joined(separator: ", ")) data no longer matches the sweep's (recorded)" }
        return CommandOutput(fields: fields, text: text)
    }
}

/// `--windows 4x90d`: how many consecutive windows, and each one's span in seconds.
struct WindowsKind: ArgumentKind {
    struct Value: Sendable, Equatable {
        let count: Int
        let seconds: TimeInterval
    }

    var placeholder: String? { "COUNTxDURATION" }

    func parse(_ word: String) throws(ArgumentProblem) -> Value {
        let parts = word.lowercased().split(separator: "x", maxSplits: 1)
        guard parts.count == 2, let count = Int(parts[0]), (2...1_000).contains(count),
              let seconds = Bounded(.duration, 3_600, Bounded.century).parse(String(parts[1])) else { throw .notWindows(word) }
        return Value(count: count, seconds: seconds)
    }

    func candidates(_ context: CompletionContext) -> [String] { ["4x90d", "12x30d"] }
}
