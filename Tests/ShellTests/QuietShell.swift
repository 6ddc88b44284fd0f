import FeedbackLoop
import Foundation
@testable import Shell

/// A shell in this process on a fixed clock that prints nothing: for tests that look at its state.
func quietShell() -> ShellContext {
    let context = ShellContext(engine: LoopEngine(clock: LoopClock { 1_790_000_000 }), format: .text,
                               terminal: TerminalInfo.detect(environment: [:], stdoutIsTTY: false),
                               logger: Logger(color: false, quiet: true),
                               // Series it loads are kept in a store of its own, not the user's.
                               environment: ["LGC_MARKET_STORE": FileManager.default.temporaryDirectory
                                   .appendingPathComponent("lgc-market-\(UUID().uuidString).sqlite").path])
    context.printsOutput = false
    return context
}
