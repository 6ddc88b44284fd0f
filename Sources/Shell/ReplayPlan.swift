import FeedbackLoop
import MarketData

extension Commands {
    /// What `replay` was asked to do, from its bound arguments: the span as bar indices into the loaded series, the
    /// step in bars, the tiers and policies that take part, and whether the replay is applied or compared. Building
    /// one checks the arguments against the loaded data; running it is `runReplay`'s.
    struct ReplayPlan {
        /// The loaded bars the indices point into.
        let series: PriceSeries
        let startIndex: Int
        let endIndex: Int
        let stepBars: Int
        let tiers: Set<Int>
        /// The loop's own policy first, then the baselines unless `--baselines off`.
        let policies: [ReplayPolicy]
        let apply: Bool
        let compare: KeyValuesKind.Value?

        /// Throws the first of: `--days` reaching before the data or shorter than a bar, `--from` outside the data,
        /// `--to` leaving no bars, `--step` shorter than a bar.
        init(_ args: Arguments, series: PriceSeries) throws {
            self.series = series
            let interval = series.interval ?? 3600
            var startIndex = try Self.lastDaysStart(args, series: series, interval: interval) ?? series.count / 2
            if let from = try Self.fromIndex(args, bars: series.bars) { startIndex = from }
            self.startIndex = startIndex
            endIndex = try Self.toIndex(args, bars: series.bars, after: startIndex) ?? series.count - 1
            stepBars = try Self.stepBars(args, series: series, interval: interval)
            tiers = Set(args.value(of: ReplayArguments.tiers) ?? [1, 2])
            policies = args.value(of: ReplayArguments.baselines) == .off ? [.triggers] : ReplayPolicy.allCases
            apply = args.has(ReplayArguments.apply)
            compare = args.value(of: ReplayArguments.compare)
        }

        /// `--days N`: the first bar of the last N days, at least one bar and after the first loaded one.
        private static func lastDaysStart(_ args: Arguments, series: PriceSeries, interval: Double) throws -> Int? {
            guard let days = args.value(of: ReplayArguments.days), let text = args.written(ReplayArguments.days) else { return nil }
            // Calendar days, whatever the bars: the bars after `last − days`. On a market with weekends or exchange
            // gaps that is fewer bars than days × bars-per-day; on 24/7 bars the same count.
            let span = days * 86_400
            guard (span / interval).rounded() >= 1 else {
                throw ShellError.invalid("--days \(text) is shorter than one bar (\(DurationText.format(interval))): replay more days")
            }
            let cutoff = series.bars[series.count - 1].time - span
            // The first replayed bar needs an earlier one to train on.
            guard let first = series.bars.firstIndex(where: { $0.time > cutoff }), first > 0 else {
                throw ShellError.invalid("--days \(text) reaches before the loaded data (\(series.count) bars): fetch more history or replay fewer days")
            }
            return first
        }

        /// `--from TIME`: the first bar at or after it, which must leave earlier bars to train on.
        private static func fromIndex(_ args: Arguments, bars: [Bar]) throws -> Int? {
            guard let from = args.value(of: ReplayArguments.from) else { return nil }
            guard let index = bars.firstIndex(where: { $0.time >= from }), index > 0 else {
                throw ShellError.invalid("--from \(args.written(ReplayArguments.from)!) is outside the loaded data (\(ISOTime.short(bars[0].time)) → \(ISOTime.short(bars[bars.count - 1].time))): the replay needs earlier bars to train on")
            }
            return index
        }

        /// `--to TIME`: the last bar at or before it, which must come after the start.
        private static func toIndex(_ args: Arguments, bars: [Bar], after startIndex: Int) throws -> Int? {
            guard let to = args.value(of: ReplayArguments.to) else { return nil }
            guard let index = bars.lastIndex(where: { $0.time <= to }), index > startIndex else {
                throw ShellError.invalid("--to \(args.written(ReplayArguments.to)!) leaves no bars after the start of the replay")
            }
            return index
        }

        /// `--step DURATION` in bars (default one): at least one bar long.
        private static func stepBars(_ args: Arguments, series: PriceSeries, interval: Double) throws -> Int {
            guard let seconds = args.value(of: ReplayArguments.step) else { return 1 }
            let bounds = Bounded.duration.atLeast(interval)
            guard bounds.contains(seconds) else { throw Commands.replay.outOfRange("--step", args.written(ReplayArguments.step)!, bounds) }
            // At most the whole series: a step longer than the data is one step.
            return max(1, Int(min((seconds / interval).rounded(), Double(series.count))))
        }
    }

    /// A replay that ran: its reports (the loop's own policy first, then the baselines), whether Ctrl-C stopped it,
    /// and what `--apply` installed into the session (nil when not applied).
    struct ReplayOutcome {
        let reports: [ReplayReport]
        let cancelled: Bool
        let application: ReplayApplication?
        var main: ReplayReport { reports[0] }
    }
}
