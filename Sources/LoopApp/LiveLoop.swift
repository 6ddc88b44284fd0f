import FeedbackLoop
import Foundation

/// The live loop's one owner: the engine (the `LoopState` and its unstored changes), the session its changes are
/// written to, and the serial executor every client runs on. A command holds it for its whole run (so its changes
/// are committed before the next one starts); auto mode's checks hold it for each short step, never for a fit or a
/// fetch, which run outside and are committed with a generation check.
///
/// A lock, not an actor: the line editor's completion and the command handlers are synchronous C callbacks and
/// functions, and a command must see the state its own earlier statements left, without suspension points.
public final class LiveLoop: @unchecked Sendable {
    // @unchecked: `engine` and `session` are only touched inside `serially`.
    public let engine: LoopEngine
    /// Where every change is written; nil when no session file could be made (changes stay in memory).
    public var session: SessionController?
    private let lock = NSRecursiveLock()

    public init(engine: LoopEngine) {
        self.engine = engine
    }

    /// Runs `body` with the loop to itself (re-entrant: a command's auto checks run inside the command).
    @discardableResult
    public func serially<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
