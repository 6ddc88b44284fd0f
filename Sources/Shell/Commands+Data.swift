import Charts
import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let fetch: CommandSpec = CommandSpec(
        "fetch", group: .data,
        abstract: "Load prices from Binance, CoinGecko or the built-in demo market",
        discussion: """
        With no COIN (or COIN 'demo') it generates the built-in demo market: a deterministic, seeded synthetic \
        hourly market with regime changes that works offline (default 30 days). Any other COIN is a CoinGecko \
        id (bitcoin, ethereum, …) fetched from /api/v3/coins/COIN/market_chart; COINGECKO_API_KEY is sent \
        when set and LGC_COINGECKO_URL replaces the base URL. A failing request is tried 3 times in all, with back-off, before it gives up. \
        CoinGecko gives hourly points up to 90 days and daily ones beyond. 'fetch binance SYMBOL' reads Binance's public \
        spot klines (no key) of a pair such as BTCUSDT: open, high, low, close and volume per bar, --interval 1m, 5m, \
        15m, 1h (default), 4h or 1d, up to 1000 bars per request while staying well under Binance's rate limits; \
        LGC_BINANCE_URL replaces its base URL. \
        The demo market ends at the loop's clock (the current hour) unless --end pins its last bar: the bar at or \
        before TIME (an ISO date or time, UTC), so a script gives the same numbers at any hour. Auto mode refetches \
        a pinned demo the same way, so it gets no new bars.
        """,
        examples: ["fetch demo", "fetch demo 90 --seed 7", "fetch demo 60 --end 2026-11-20", "fetch bitcoin 30",
                   "fetch binance BTCUSDT 365", "fetch binance ETHUSDT 7 --interval 5m"],
        arguments: [FetchRequest.coin.spec, FetchRequest.symbol.spec, FetchRequest.days.spec],
        flags: [FlagSpec(FetchRequest.source), FlagSpec(FetchRequest.seed), FlagSpec(FetchRequest.end),
                FlagSpec(FetchRequest.interval)],
        run: runFetch)

    static func runFetch(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let first = try FetchRequest(args)
        // `fetch binance A B C`: one request per pair, each an asset of the session.
        let requests = first.symbol == nil ? [first] : args.values(of: FetchRequest.symbol).map { symbol in
            var request = first
            request.symbol = symbol.uppercased()
            return request
        }
        guard first.symbol == nil || Set(requests.compactMap(\.symbol)).count == requests.count else {
            throw ShellError.usage(command: fetch, message: "a pair is named twice")
        }
        // Everything is fetched before anything is loaded: a pair that fails leaves every asset as it was.
        var fetched: [(FetchRequest, PriceSeries)] = []
        for request in requests {
            let series = try request.fetch(shell: shell, endingAt: shell.engine.clock.now) { attempt, reason, pause in
                shell.logger.log(.warning, "try \(attempt) of \(request.maxTries) failed (\(reason)); retrying in \(DurationText.format(pause))")
            }
            guard series.count >= 2 else { throw MarketDataError.tooFewRows(have: series.count, need: 2) }
            fetched.append((request, series))
        }
        var outputs: [CommandOutput] = []
        for (request, series) in fetched {
            outputs.append(try loaded(series, shell: shell, verb: "fetch"))
            if case .coinGecko(_, let days) = request.source, days > FetchRequest.coinGeckoHourlyDays {
                shell.logger.log(.info, "CoinGecko returns daily points beyond \(FetchRequest.coinGeckoHourlyDays) days; 'fetch binance SYMBOL \(days)' gives hourly bars")
            }
            // Auto mode refreshes each asset's data the same way at each check.
            try shell.engine.updateConfig { $0.automation.setSource(request.source, forAsset: series.symbol) }
        }
        return combined(outputs, names: fetched.map(\.1.symbol), shell: shell)
    }

    /// One command's outputs for several assets (a fetch or import of several): one asset's output as it is, more
    /// one after another (JSON: `assets`, one object per asset). The last loaded asset has the focus.
    static func combined(_ outputs: [CommandOutput], names: [String], shell: ShellContext) -> CommandOutput {
        guard outputs.count > 1 else { return outputs[0] }
        let objects = zip(names, outputs).map { JSON.object([("asset", .string($0))] + $1.fields) }
        let text = outputs.map(\.text).joined(separator: "\n")
            + "\n\(outputs.count) assets loaded; focus: \(names.last!) — 'assets' lists them, 'asset NAME' moves the focus"
        return CommandOutput(fields: [("assets", .array(objects))], text: text)
    }

    /// A validated `fetch`: where from, how many days, which seed, and for a pinned demo its end. Auto mode re-runs
    /// it from `canonical`.
    struct FetchRequest: Equatable {
        var coin: String?
        var days = 30
        var demo: Bool
        var seed = DemoMarket.defaultSeed
        /// `--end`, floored to the hour (the demo has one bar per hour, so nothing is lost): the demo's last bar is
        /// fixed here rather than at the loop's clock. nil: the demo follows the clock.
        var end: TimeInterval?
        /// The Binance spot pair (uppercased) when fetching from Binance; nil for CoinGecko and the demo.
        var symbol: String?
        var interval = BinanceInterval.oneHour

        /// The most days CoinGecko answers with hourly points.
        static let coinGeckoHourlyDays = 90

        /// A CoinGecko id or `demo`: any word that is not a number, which is DAYS (`1inch` is a coin, `1e19` DAYS).
        static let coin = Positional("COIN", WordKind(admits: { !Bounded.writesNumber($0) },
                                                      candidates: { _ in ["demo", "binance", "bitcoin", "ethereum", "solana"] }),
                                     optional: true)
        /// After `binance`: the spot pair.
        static let symbol = Positional("SYMBOL", WordKind(admits: { !Bounded.writesNumber($0) },
                                                          candidates: { context in
                                                              context.words.contains { $0.lowercased() == "binance" }
                                                                  ? ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"] : []
                                                          }),
                                       optional: true, upTo: maxSymbols)
        /// The most pairs one `fetch binance` loads (each is an asset of the session).
        static let maxSymbols = 20
        /// What both sources serve: 1 to 3650 days.
        static let days = Positional("DAYS", WholeKind(1...DemoMarket.maximumDays), optional: true)
        static let source = Option("source", "SOURCE", ChoiceKind(["coingecko", "demo"]), "where to fetch from")
        /// Demo seeds: every whole number a Double holds exactly, so a stored `canonical` reads back the same.
        static let seed = Option("seed", "N", WholeKind(0...Int(Bounded.largestWhole)), "demo market seed (default 42)")
        static let end = Option("end", "TIME", TimeKind(),
                                "demo: the last bar is the hour at or before TIME (default: the loop's clock)")
        static let interval = Option("interval", "INTERVAL", ChoiceKind(BinanceInterval.allCases),
                                     "binance: the bar length (default 1h)")

        init(_ args: Arguments) throws {
            let coin = args.value(of: FetchRequest.coin)?.lowercased()
            let symbols = args.values(of: FetchRequest.symbol)
            let symbol = symbols.first
            if let days = args.value(of: FetchRequest.days) { self.days = days }
            if coin == "binance" {
                demo = false
                guard let symbol else {
                    throw ShellError.usage(command: Commands.fetch, message: "'fetch binance' needs a SYMBOL, the spot pair")
                }
                for (given, name) in [(args.has(FetchRequest.source), FetchRequest.source.name),
                                      (args.has(FetchRequest.seed), FetchRequest.seed.name),
                                      (args.has(FetchRequest.end), FetchRequest.end.name)] where given {
                    throw ShellError.usage(command: Commands.fetch, message: "--\(name) does not apply to 'fetch binance'")
                }
                self.symbol = symbol.uppercased()
                if let interval = args.value(of: FetchRequest.interval) { self.interval = interval }
                return
            }
            if let symbol {
                throw ShellError.usage(command: Commands.fetch, message: "'\(symbol)': a SYMBOL follows 'binance' only")
            }
            if args.has(FetchRequest.interval) {
                throw ShellError.usage(command: Commands.fetch, message: "--interval applies to 'fetch binance' only")
            }
            let source = args.value(of: FetchRequest.source) ?? ((coin == nil || coin == "demo") ? "demo" : "coingecko")
            demo = source == "demo"
            if demo {
                if let coin, coin != "demo" {
                    throw ShellError.usage(command: Commands.fetch, message: "the demo market has no coin '\(coin)' — use 'fetch demo DAYS' or '--source coingecko'")
                }
                if let seed = args.value(of: FetchRequest.seed) { self.seed = UInt64(seed) }
                if let time = args.value(of: FetchRequest.end) { end = (time / 3600).rounded(.down) * 3600 }
            } else {
                for (given, name) in [(args.has(FetchRequest.seed), FetchRequest.seed.name),
                                      (args.has(FetchRequest.end), FetchRequest.end.name)] where given {
                    throw ShellError.usage(command: Commands.fetch, message: "--\(name) applies to the demo market only")
                }
                self.coin = coin ?? "bitcoin"
            }
        }

        /// The request that fetches `source` again.
        init(source: DataSource) {
            switch source {
            case .demo(let days, let seed, let end):
                demo = true
                self.days = days
                self.seed = seed
                self.end = end
            case .coinGecko(let coin, let days):
                demo = false
                self.coin = coin
                self.days = days
            case .binance(let symbol, let days, let interval):
                demo = false
                self.symbol = symbol
                self.days = days
                self.interval = interval
            }
        }

        /// Tries per request of this request's source.
        var maxTries: Int { symbol == nil ? CoinGeckoClient.maxTries : BinanceClient.maxTries }

        /// What this request fetches, as the value sessions store.
        var source: DataSource {
            if demo { return .demo(days: days, seed: seed, end: end) }
            if let symbol { return .binance(symbol: symbol, days: days, interval: interval) }
            return .coinGecko(coin: coin ?? "bitcoin", days: days)
        }

        /// Parses the arguments of a `canonical` form.
        init(canonical: String) throws {
            try self.init(try Commands.fetch.bind(LineParser.parse(canonical).words[...]))
        }

        /// The arguments that fetch the same thing again, e.g. `demo 30 --seed 42`,
        /// `demo 30 --seed 42 --end 2026-11-20T00:00:00Z`, `bitcoin 30 --source coingecko` or
        /// `binance BTCUSDT 30 --interval 1h`.
        var canonical: String {
            if let symbol { return "binance \(symbol) \(days) --interval \(interval.rawValue)" }
            guard demo else { return "\(coin ?? "bitcoin") \(days) --source coingecko" }
            return "demo \(days) --seed \(seed)" + (end.map { " --end \(ISOTime.format($0))" } ?? "")
        }

        /// The demo market up to its pinned `end`, else up to `clock` (the loop's clock); or CoinGecko's latest data.
        func fetch(shell: ShellContext, endingAt clock: TimeInterval,
                   onRetry: @escaping (Int, String, TimeInterval) -> Void) throws -> PriceSeries {
            if demo { return try DemoMarket.generate(days: days, seed: seed, endingAt: end ?? clock) }
            if let symbol { return try fetchBinance(symbol, shell: shell, endingAt: clock, onRetry: onRetry) }
            let id = coin ?? "bitcoin"
            if Thread.isMainThread { shell.logger.log(.info, "Fetching \(id) (\(days) days) from CoinGecko...") }
            return try shell.coinGecko.fetch(coin: id, days: days, onRetry: onRetry)
        }
    }

}

extension Commands.FetchRequest {
    /// `fetch binance`: the bars the market store holds already are read from it; Binance is asked only for the
    /// ones after them (none when the store covers the span: the fetch then works offline and says so).
    func fetchBinance(_ symbol: String, shell: ShellContext, endingAt clock: TimeInterval,
                      onRetry: @escaping (Int, String, TimeInterval) -> Void) throws -> PriceSeries {
        let onMainThread = Thread.isMainThread
        let say = { (text: String) in if onMainThread { shell.logger.log(.info, text) } }
        let client = BinanceClient.fromEnvironment(shell.environment)
        let pair = symbol.uppercased()
        let (first, last) = BinanceClient.span(days: days, interval: interval, endingAt: clock)
        let step = TimeInterval(interval.seconds)
        // Bars are timed at their close: the first wanted bar closes one step after its open.
        let firstClose = Double(first) / 1000 + step, lastClose = Double(last) / 1000 + step
        let onPause = { (pause: TimeInterval) in say("pausing \(DurationText.format(pause)) to stay under Binance's request-weight budget") }
        if let kept = try? shell.marketStore().series(source: "binance", symbol: pair, interval: step, from: firstClose, through: lastClose),
           let head = kept.first, head.time == firstClose, let tail = kept.last,
           // Only a run without holes stands in for the network (a hole means another span was fetched before).
           kept.count == Int(((tail.time - firstClose) / step).rounded()) + 1 {
            guard tail.time < lastClose else {
                say("\(pair): all \(kept.count) bars are in the market store; Binance was not asked")
                return kept
            }
            let missing = Int(((lastClose - tail.time) / step).rounded())
            say("Fetching the \(missing) \(interval.rawValue) bars of \(pair) after the \(kept.count) in the market store from Binance...")
            let fresh = try client.fetch(pair: pair, interval: interval, firstOpen: Int64((tail.time * 1000).rounded()),
                                         lastOpen: last, onRetry: onRetry, onPause: onPause)
            return PriceSeries(symbol: pair, source: "binance", bars: kept.bars + fresh.bars.filter { $0.time > tail.time })
        }
        say("Fetching \(symbol) (\(days) days of \(interval.rawValue) bars) from Binance...")
        return try client.fetch(symbol: symbol, days: days, interval: interval, endingAt: clock, onRetry: onRetry, onPause: onPause)
    }
}

extension Commands {
    static let importCSV: CommandSpec = CommandSpec(
        "import", group: .data,
        abstract: "Load prices from a CSV file or Binance kline files",
        discussion: """
        Recognised headers: timestamp,open,high,low,close,volume (exchange klines; ISO or epoch s/ms times); \
        Date,Open,High,Low,Close,Adj Close,Volume; snapped_at,price,market_cap,total_volume (CoinGecko export); \
        ,Open,High,Low,Close,Volume (pandas index column). The price is the close. Errors name the line. \
        Binance's monthly or daily kline files (data.binance.vision: header-less, 12 columns, ms or µs times) are \
        read as published, zipped or not: one file, a folder of them, or a glob; they are joined in time order, \
        bars two files share are kept once, and the report counts files, rows, duplicates and gaps. Several PATHs load \
        several assets, one per symbol (a PATH whose files name two symbols is refused).
        """,
        examples: ["import data/btc-1h.csv", "import \"my prices.csv\" --symbol BTC",
                   "import data/BTCUSDT-1h-2024-*.zip", "import data/BTCUSDT-1h-*.zip data/ETHUSDT-1h-*.zip"],
        arguments: [importPath.spec],
        flags: [FlagSpec(importSymbol)],
        run: { shell, args in
            let paths = args.values(of: importPath).map { ($0 as NSString).expandingTildeInPath }
            if paths.count > 1, args.has(importSymbol) {
                throw ShellError.usage(command: importCSV, message: "--symbol names one series: give one PATH with it")
            }
            // Every file is read before anything is loaded: a bad one leaves every asset as it was.
            var read: [(series: PriceSeries, klines: KlineImport?)] = []
            for path in paths {
                if KlineFiles.applies(to: path) {
                    let klines = try KlineFiles.load(path, symbol: args.value(of: importSymbol))
                    read.append((klines.series, klines))
                } else {
                    read.append((try CSVImporter.load(path: path, symbol: args.value(of: importSymbol)), nil))
                }
            }
            let symbols = read.map(\.series.symbol)
            if let twice = symbols.first(where: { symbol in symbols.filter { $0 == symbol }.count > 1 }) {
                throw ShellError.usage(command: importCSV, message: "two PATHs hold \(twice): one PATH per symbol (a glob or folder joins files)")
            }
            var outputs: [CommandOutput] = []
            for (series, klines) in read {
                var output = try loaded(series, shell: shell, verb: "import")
                if let klines {
                    let gapText = klines.gaps == 0 ? "no gaps"
                        : "\(klines.gaps) gap\(klines.gaps == 1 ? "" : "s") (largest \(DurationText.format(klines.largestGap)))"
                    output.text += "\nfrom \(klines.files.count) file\(klines.files.count == 1 ? "" : "s"): \(klines.series.count) rows, "
                        + "\(klines.duplicates) duplicate\(klines.duplicates == 1 ? "" : "s") dropped, \(gapText)"
                    output.fields.append(("files", .int(klines.files.count)))
                    output.fields.append(("duplicates", .int(klines.duplicates)))
                    output.fields.append(("gaps", .object([("count", .int(klines.gaps)),
                                                           ("largest_seconds", .number(klines.largestGap))])))
                }
                // A file has no newer data to fetch: auto mode works on what is loaded.
                try shell.engine.updateConfig { $0.automation.setSource(nil, forAsset: series.symbol) }
                outputs.append(output)
            }
            return combined(outputs, names: symbols, shell: shell)
        })

    static let importPath = Positional("PATH", PathKind(), upTo: 20)
    static let importSymbol = Option("symbol", "NAME", WordKind(), "the series' symbol (default: the file name)")

    /// Installs a new series and describes it.
    static func loaded(_ series: PriceSeries, shell: ShellContext, verb: String) throws -> CommandOutput {
        guard series.count >= 2 else { throw MarketDataError.tooFewRows(have: series.count, need: 2) }
        let fate = shell.engine.load(series)
        shell.keepInStore(series)
        var output = describe(series, shell: shell)
        output.text = "Loaded " + output.text
        switch fate {
        case .resolved(let entry, let realised):
            // The next bar of the pending prediction arrived: scored from what the market did.
            let verdict = entry.correct ? "correct" : "wrong"
            let line = "scored the pending \(entry.predicted.rawValue): the next bar moved \(String(format: "%+.3f%%", realised * 100)) → \(entry.actual.rawValue), \(verdict) (#\(entry.sequence))"
            output.text += "\n" + line
            output.fields.append(("resolved", .object([("predicted", .string(entry.predicted.rawValue)),
                                                      ("actual", .string(entry.actual.rawValue)),
                                                      ("correct", .bool(entry.correct)),
                                                      ("realised_return", .number(realised)),
                                                      ("log_size", .int(shell.engine.log.entries.count))])))
        case .dropped:
            shell.logger.log(.warning, "the pending prediction's bar is not in the new data, so it cannot be scored; it was dropped")
        case .waiting, .none:
            break
        }
        return output
    }

    static let data: CommandSpec = CommandSpec(
        "data", group: .data,
        abstract: "Show what is loaded: symbol, source, rows, span, interval, last price",
        discussion: """
        'data store' lists the market store: every fetched or imported series (demo bars aside), by source, symbol \
        and interval, with its span, rows and gaps. 'data store prune SYMBOL' removes a symbol's series; \
        'data store prune' removes them all. The store is market.sqlite in the sessions folder (LGC_MARKET_STORE moves it).
        """,
        examples: ["data", "data store", "data store prune BTCUSDT"],
        subcommands: [Subcommand(DataVerb.store, [storeAction.spec, storeSymbol.spec])],
        subcommandOptional: true,
        run: { shell, args in
            switch args.subcommand(as: DataVerb.self) {
            case .store?:
                guard args.value(of: storeAction) != nil else { return try storeListing(shell) }
                return try pruneStore(shell, symbol: args.value(of: storeSymbol))
            case nil:
                break
            }
            guard let series = shell.engine.series else {
                return CommandOutput(fields: [("loaded", .bool(false))],
                                     text: "No data loaded — try 'fetch demo' (offline) or 'import FILE.csv'.")
            }
            return describe(series, shell: shell)
        })

    enum DataVerb: String {
        case store
    }

    enum StoreAction: String {
        case prune
    }

    static let storeAction = Positional("prune", ChoiceKind([StoreAction.prune]), optional: true)
    static let storeSymbol = Positional("SYMBOL", WordKind(), optional: true)

    static func describe(_ series: PriceSeries, shell: ShellContext) -> CommandOutput {
        let first = series.bars.first!, last = series.bars.last!
        let interval = series.interval
        let change = last.close / first.close - 1
        let gaps = interval.map { series.gaps(interval: $0) } ?? (count: 0, largest: 0)
        let fields: [(String, JSON)] = [
            ("loaded", .bool(true)),
            ("symbol", .string(series.symbol)),
            ("source", .string(series.source)),
            ("rows", .int(series.count)),
            ("start", .time(first.time)),
            ("end", .time(last.time)),
            ("interval_seconds", .number(interval)),
            ("first_price", .number(first.close)),
            ("last_price", .number(last.close)),
            ("change", .number(change)),
            ("gaps", .object([("count", .int(gaps.count)), ("largest_seconds", .number(gaps.largest))])),
        ]
        let arrow = shell.terminal.unicode ? "→" : "->"
        let spark = Sparkline.render(series.closes, width: min(60, shell.terminal.width - 20), style: shell.chartStyle)
        let text = """
        \(series.count) \(interval.map { DurationText.format($0) } ?? "?") bars of \(series.symbol) (\(series.source))
          span      \(ISOTime.short(first.time)) \(arrow) \(ISOTime.short(last.time)) UTC
          price     \(Format.price(first.close)) \(arrow) \(Format.price(last.close)) (\(String(format: "%+.2f%%", change * 100)))
          trend     \(spark)
        """
        // Weekends, exchange outages, missing files: said only when there are some.
        let gapLine = gaps.count == 0 ? ""
            : "\n  gaps      \(gaps.count) (the largest: \(DurationText.format(gaps.largest)) missing)"
        return CommandOutput(fields: fields, text: text + gapLine)
    }
}
