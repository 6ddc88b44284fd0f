import FeedbackLoop
import Foundation
import Learning
import LoopApp
import MarketData
import SessionStore

/// What to type after an error, worded in one place: the layers below say what failed; the shell, which knows its
/// commands, says what to do about it. Matched on the error's type and case, never on its words.
enum Advice {
    /// Where the data could come from instead when CoinGecko cannot be used.
    static let offlineData = "try 'fetch demo' (offline) or 'import FILE.csv'"

    static func line(for error: any Error) -> String? {
        switch error {
        // The feedback loop
        case LoopError.noData:
            return "run 'fetch demo' (offline) or 'import FILE.csv' first"
        case LoopError.noTrainedModel:
            return "run 'train tier1' first"
        case LoopError.noPendingPrediction:
            return "run 'predict' first, or give one with --predicted BUY|SELL|HOLD"
        case LoopError.foreignData(_, _, let tier, let command):
            return "train on it first ('train tier\(tier)') or '\(command.rawValue) --force'"
        case LoopError.trainingInProgress:
            return "wait for it to finish"
        case LoopError.unknownAsset:
            return "'assets' lists them; 'fetch binance SYMBOL' or 'import FILE' adds one"
        case LoopError.poolIntervalsDiffer:
            return "'set training_pool self', or load every asset at one interval (fetch binance … --interval)"
        case LoopError.nonMonotonicClock:
            return "advance needs a positive duration such as 90m, 6h or 2d"
        case LoopError.clockOutOfRange:
            return "advance less, or start a new session"
        case ConfigError.unknownKey(_, let suggestion):
            return suggestion.map { "did you mean '\($0)'?" } ?? "'config' lists every key"
        case ReplayError.noModelTrained:
            return "start it later (fewer --days) or fetch more history"
        case ReplayError.tierFailed(_, let underlying):
            // The replay reports the tier's own error as it is; so is its advice.
            return line(for: underlying)

        // Fitting the models
        case LearningError.singleClass:
            return "fetch more data or use a longer training window."
        case LearningError.tooFewRows:
            return "fetch more data or use shorter feature windows."
        case LSTMError.tooFewPrices:
            return "fetch more data or lower lstm.sequence_length."
        case LSTMError.diverged:
            return "lower lstm.learning_rate."

        // Market data
        case MarketDataError.fileNotFound:
            return "check the path (Tab completes it)"
        case MarketDataError.notRegularFile:
            return "give the path of a CSV file"
        case MarketDataError.tooFewRows:
            return "fetch more days"
        case MarketDataError.unknownCoin:
            return "use its API id, e.g. bitcoin, ethereum or solana"
        case MarketDataError.network, MarketDataError.badResponse:
            return offlineData
        case MarketDataError.http(let status, _):
            switch status {
            case 429: return "rate limited: wait a minute, set COINGECKO_API_KEY, or \(offlineData)"
            case 401, 403: return "check COINGECKO_API_KEY (free keys reach only the past 365 days), or \(offlineData)"
            default: return offlineData
            }
        case KlineFileError.noCSVInZip:
            return "give a zip from data.binance.vision (one kline CSV inside), or the CSV itself"
        case KlineFileError.corruptZip:
            return "download it again (data.binance.vision publishes a .CHECKSUM beside each zip)"
        case KlineFileError.notKlines:
            return "give Binance kline files (12 columns, no header) or a CSV with a timestamp,open,high,low,close,volume header"
        case KlineFileError.mixedIntervals:
            return "import one interval at a time, e.g. 'import data/BTCUSDT-1h-*.zip'"
        case KlineFileError.mixedSymbols:
            return "give each symbol's files as its own PATH: 'import data/BTCUSDT-1h-*.zip data/ETHUSDT-1h-*.zip'"
        case KlineFileError.noMatch:
            return "check the folder and pattern (Tab completes paths)"
        case MarketDataError.responseTooLarge:
            return "ask for fewer days, or \(offlineData)"
        case BinanceError.unknownSymbol, BinanceError.invalidSymbol:
            return "use a Binance spot pair such as BTCUSDT"
        case BinanceError.banned(let seconds):
            return (seconds == nil ? "wait before fetching from Binance again" : "wait until the ban ends")
                + ", or \(offlineData)"
        case BinanceError.rateLimited:
            return "wait a minute, or \(offlineData)"
        case BinanceError.noBars:
            return "ask for a span when the pair traded (more days), or another pair"
        case BinanceError.spanTooLong:
            return "ask for fewer days or a longer --interval"
        case BinanceError.responseTooLarge:
            return "ask for fewer days, or \(offlineData)"
        case BinanceError.unreachable, BinanceError.badPage, BinanceError.http:
            return offlineData

        // Session files
        case SessionError.missing:
            return "'sessions' lists the saved ones"
        case SessionError.exists:
            return "use 'save NAME --force' to overwrite"
        case AutoModeError.tooManyChecks:
            return "advance less at a time, use a longer 'auto on --every', or 'auto off' first"
        case SessionProblem.unnamed:
            return "'save NAME' saves it"
        case SessionError.changedSinceLoaded:
            return "'save OTHER-NAME' keeps both; 'save --force' overwrites it"
        case SessionError.outOfRange:
            return "load another session"
        case SessionError.inUse:
            return "quit that shell first or save under another name"
        case SessionError.notRegularFile:
            return "give a path ending in NAME.lgc"

        // Sweeps (the Slurm cases carry their advice in their own words)
        case SweepError.noSuchSweep:
            return "'sweep new NAME --grid KEY=V1,V2' declares one; Tab after 'sweep status' lists those there are"
        case SweepError.exists:
            return "choose another name, or remove that sweep's folder first"
        case SweepError.edited, SweepError.unreadable:
            return "declare the sweep again with 'sweep new' (its folder is written by lgc-shell alone)"
        case SweepError.otherVersion:
            return "run it with that version of lgc-shell, or declare the sweep again with this one"
        case SweepError.sessionDataChanged:
            return "load the data the sweep was declared on, or 'sweep collect NAME --force' (recorded as forced)"
        case SweepError.dataChanged:
            return "restore the sweep folder's data/ files, or declare the sweep again"
        case SweepError.tooManyTasks:
            return "split the grid over several sweeps (one per asset, or per value of one axis): the limit keeps a manifest, and a Slurm array, within what clusters accept"
        case SweepError.noTasks:
            return "give at least one --grid KEY=V1,V2"
        default:
            return nil
        }
    }

    /// What to type about a prediction's warning.
    static func line(for warning: PredictionWarning) -> String {
        switch warning {
        case .stale(let age):
            return "retrain it ('train tier\(age.model.tier)') or raise max_model_age"
        case .forcedOnForeignData(_, _, let tier):
            return "train on it before trusting this ('train tier\(tier)')"
        }
    }
}
