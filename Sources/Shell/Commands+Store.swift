import FeedbackLoop
import Foundation
import LoopApp
import MarketData
import SessionStore

extension ShellContext {
    /// The market store every fetched and imported series is kept in, opened at its first use (start-up stays
    /// fast); the reason it cannot be used, once it failed.
    func marketStore() throws -> MarketStore {
        if let store = openedMarketStore { return store }
        let path = MarketStore.defaultPath(environment: environment,
                                           sessionsFolder: SessionController.directory(environment: environment))
        let store = try MarketStore(path: path)
        openedMarketStore = store
        return store
    }

    /// Keeps `series` in the market store; a one-line warning when it could not (the series is still loaded: the
    /// store only saves asking again). Demo bars are not kept: they are generated again at no cost.
    func keepInStore(_ series: PriceSeries) {
        guard series.source != "demo", series.count >= 2 else { return }
        do {
            try marketStore().save(series)
        } catch {
            logger.log(.warning, "the series was loaded but not kept in the market store (\(Self.message(for: error)))")
        }
    }
}

extension Commands {
    /// `data store`: what the market store keeps.
    static func storeListing(_ shell: ShellContext) throws -> CommandOutput {
        let store = try shell.marketStore()
        let kept = try store.list()
        let fields: [(String, JSON)] = [("path", .string(store.path)), ("series", .array(kept.map { stored in
            .object([("source", .string(stored.source)), ("symbol", .string(stored.symbol)),
                     ("interval_seconds", .number(stored.interval)), ("start", .time(stored.first)),
                     ("end", .time(stored.last)), ("rows", .int(stored.rows)),
                     ("gaps", .object([("count", .int(stored.gaps)), ("largest_seconds", .number(stored.largestGap))]))])
        }))]
        guard !kept.isEmpty else {
            return CommandOutput(fields: fields, text: "the market store (\(store.path)) keeps no series yet — 'fetch' and 'import' add to it")
        }
        let rows = kept.map { stored in
            [stored.source, stored.symbol, DurationText.format(stored.interval), ISOTime.short(stored.first),
             ISOTime.short(stored.last), String(stored.rows),
             stored.gaps == 0 ? "none" : "\(stored.gaps) (largest \(DurationText.format(stored.largestGap)))"]
        }
        let table = shell.table(["source", "symbol", "interval", "from", "to", "rows", "gaps"], rows, right: [5])
        return CommandOutput(fields: fields, text: "market store \(store.path)\n" + table)
    }

    /// `data store prune [SYMBOL]`: removes a symbol's series (every interval and source), or every series.
    static func pruneStore(_ shell: ShellContext, symbol: String?) throws -> CommandOutput {
        let store = try shell.marketStore()
        let removed = try store.prune(symbol: symbol)
        guard !removed.isEmpty else {
            throw ShellError.invalid(symbol.map { "the market store keeps no series of \($0)" } ?? "the market store keeps no series")
        }
        let rows = removed.reduce(0) { $0 + $1.rows }
        let names = removed.map { "\($0.source) \($0.symbol) \(DurationText.format($0.interval))" }
        return CommandOutput(fields: [("removed", .array(removed.map { .string("\($0.source)/\($0.symbol)/\(Int($0.interval))") })),
                                      ("rows", .int(rows))],
                             text: "removed \(names.joined(separator: ", ")) (\(rows) bars) from the market store")
    }
}
