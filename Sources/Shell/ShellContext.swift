import FeedbackLoop
import Foundation
import LoopApp
import MarketData
import SessionStore

public enum OutputFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Writes log lines (INFO / SUCCESS / WARNING / ERROR) to stderr, never stdout.
public struct Logger: Sendable {
    public enum Level: String, Sendable { case info = "INFO", success = "SUCCESS", warning = "WARNING", error = "ERROR" }
    public var color: Bool
    public var quiet: Bool

    public init(color: Bool, quiet: Bool) {
        self.color = color
        self.quiet = quiet
    }

    public func log(_ level: Level, _ message: String) {
        if quiet && (level == .info || level == .success) { return }
        let paint = Paint(enabled: color)
        let tag: String
        switch level {
        case .info: tag = paint.cyan("[INFO]")
        case .success: tag = paint.green("[SUCCESS]")
        case .warning: tag = paint.yellow("[WARNING]")
        case .error: tag = paint.red("[ERROR]")
        }
        StandardStreams.writeError("\(tag) \(message)\n")
    }
}

/// Unbuffered writes to stdout/stderr, so text and JSON interleave correctly with log lines.
public enum StandardStreams {
    public static func write(_ text: String) {
        writeAll(STDOUT_FILENO, text)
    }

    public static func writeError(_ text: String) {
        writeAll(STDERR_FILENO, text)
    }

    private static func writeAll(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// Everything a command handler may use: the loop, output settings, the environment.
public final class ShellContext {
    /// The live loop's owner: the engine, its session, the serial lock every command and auto check holds.
    public let live: LiveLoop
    public var engine: LoopEngine { live.engine }
    public var format: OutputFormat
    public var terminal: TerminalInfo
    public var logger: Logger
    public let environment: [String: String]
    /// Commands entered, oldest first (for `history`); seeded from the history file when interactive.
    public var commandHistory: [String] = []
    public var quitRequested = false
    /// Where a fetched or imported series came from, to re-fetch the same way.
    public var coinGecko: CoinGeckoClient
    /// The session database every change is written through to; nil when it could not be opened.
    var session: SessionController? {
        get { live.session }
        set { live.session = newValue }
    }
    /// Why there is no session database, for commands that need one.
    var sessionProblem: String?
    /// Replay reports the running command hands to its own transaction; written only if the command succeeds.
    var pendingReplays: [ReplayEntry] = []
    /// While `--asset all` runs a command once per asset: that asset's name (`export` writes one file per asset).
    private(set) var eachAsset: String?
    /// `replay --asset all --compare`: each asset's compared runs, for the comparison over all assets.
    var comparedAcrossAssets: [(asset: String, key: String, runs: [(value: String, steps: [ScoredStep])])] = []

    /// Runs `body` as one asset's part of an `--asset all` command.
    func asAsset<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let previous = eachAsset
        eachAsset = name
        defer { eachAsset = previous }
        return try body()
    }
    /// Whether command output reaches stdout (benchmarks drive the shell without printing).
    public var printsOutput = true
    /// The market store, once `marketStore()` opened it.
    var openedMarketStore: MarketStore?
    /// How `replay` computes (every mode gives the same reports; tests pin one).
    public var replayExecution = ReplayExecution.concurrent

    /// Starts the session every change is written through to. Its working file is made at the first change
    /// (`persistent`: in the sessions folder, where a later shell can recover it; otherwise in the temporary folder).
    /// `wallClock` (seconds since 1970) dates the file's creation and saves.
    public func openSession(directory: String, persistent: Bool,
                            wallClock: @escaping () -> TimeInterval = { Date().timeIntervalSince1970 }) {
        let session = SessionController(directory: directory, persistent: persistent, wallClock: wallClock)
        session.keepsMarker = persistent
        self.session = session
    }

    /// Closes the session cleanly (an unnamed session's working file is removed).
    public func closeSession() {
        session?.closeCleanly()
    }
    let progress = ProgressDisplay()
    /// What auto mode did in the background, waiting to be printed by the main thread.
    let notices = Notices()
    private(set) lazy var auto = AutoScheduler(host: self)

    /// Prints pending notices (text: one line each; JSON: one object each). Main thread only.
    func printNotices() {
        for notice in notices.drain() { StandardStreams.write(render(notice) + "\n") }
    }

    func render(_ notice: Notice) -> String {
        switch format {
        case .json: return JSON.object(notice.fields).serialized()
        case .text: return notice.warning ? paint.yellow(notice.text) : paint.cyan(notice.text)
        }
    }

    public init(engine: LoopEngine, format: OutputFormat, terminal: TerminalInfo, logger: Logger,
                environment: [String: String]) {
        live = LiveLoop(engine: engine)
        self.format = format
        self.terminal = terminal
        self.logger = logger
        self.environment = environment
        self.coinGecko = CoinGeckoClient.fromEnvironment(environment)
        engine.isCancelled = { Interrupts.requested != 0 }
        engine.onEvent = { [unowned self] event in
            let logger = self.logger
            switch event {
            case .trainingStarted(let tier):
                logger.log(.info, "Starting Tier \(tier.number) (\(tier.name)) training...")
            case .trainingFinished(let result):
                let accuracies = result.records.map { String(format: "%@=%.4f", $0.model.rawValue, $0.accuracy) }
                logger.log(.success, "Tier \(result.tier) training complete: \(accuracies.joined(separator: " "))")
            case .trainingFailed:
                // The failing command reports it as its error line; logging it too would say it twice.
                self.progress.finish()
            case .progress(let step):
                self.progress.update(step, live: isatty(STDERR_FILENO) == 1 && self.terminal.isInteractive && self.format == .text,
                                     quiet: self.logger.quiet, width: self.terminal.width, unicode: self.terminal.unicode)
            }
        }
    }

    var paint: Paint { Paint(enabled: terminal.color && format == .text) }
}

/// Auto mode's host: the shell fetches the data, writes each check through like a command and shows it.
extension ShellContext: AutoModeHost {
    public func refresh(_ source: DataSource, endingAt time: TimeInterval) throws -> PriceSeries {
        try Commands.FetchRequest(source: source).fetch(shell: self, endingAt: time) { _, _, _ in }
    }

    public func record(_ report: AutoCheckReport, show: Bool) {
        // The session's notebook keeps the words, as for a typed command.
        let notice = Notice(report)
        if let problem = persist("auto check", output: notice.text, ok: true) { notices.post(.autoError(problem)) }
        if show { notices.post(notice) }
    }

    public func tell(_ report: AutoCheckReport) {
        notices.post(Notice(report))
    }

    public var interrupted: Bool { Interrupts.requested != 0 }
}
