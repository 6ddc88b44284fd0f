import FeedbackLoop
import Foundation

/// Draws training progress on stderr: a live bar on a terminal, a few plain lines otherwise.
final class ProgressDisplay {
    private var lastPlainStep = 0
    private var drawing = false
    private var width = 80
    private var unicode = true

    /// `live`: redraw one line in place (a terminal in text mode); else plain lines unless `quiet`.
    func update(_ progress: TrainingProgress, live: Bool, quiet: Bool, width: Int, unicode: Bool) {
        self.width = width
        self.unicode = unicode
        if live {
            StandardStreams.writeError("\r\u{1B}[2K" + line(progress))
            drawing = true
            if progress.step == progress.steps { finish() }
        } else if !quiet {
            // About ten lines per training, and always the last.
            let every = max(1, progress.steps / 10)
            if progress.step == progress.steps || progress.step - lastPlainStep >= every {
                lastPlainStep = progress.step
                StandardStreams.writeError("[INFO] " + summary(progress) + "\n")
            }
        }
    }

    /// A replay's steps (or `advance`'s auto checks): a live bar on a terminal; nothing otherwise (the report says
    /// what ran).
    func updateReplay(step: Int, steps: Int, runs: Int, started: ContinuousClock.Instant, live: Bool, width: Int, unicode: Bool,
                      label: String = "replay step") {
        guard live, step > lastPlainStep || step == steps else { return }
        lastPlainStep = step
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        var text = "\(label) \(step)/\(steps)" + (runs > 1 ? " (\(runs) runs)" : "") + String(format: "  %.1fs", seconds)
        if step > 0, step < steps { text += String(format: "  ETA %.0fs", seconds / Double(step) * Double(steps - step)) }
        self.width = width
        self.unicode = unicode
        StandardStreams.writeError("\r\u{1B}[2K" + bar(fraction: Double(step) / Double(max(1, steps)), text: text))
        drawing = true
    }

    /// Ends a live bar's line (after the last step, or when training stops early).
    func finish() {
        if drawing { StandardStreams.writeError("\n") }
        drawing = false
        lastPlainStep = 0
    }

    func summary(_ progress: TrainingProgress) -> String {
        var text = "\(progress.model.rawValue) epoch \(progress.step)/\(progress.steps)  loss \(String(format: "%.5f", progress.loss))"
        if let validation = progress.validationLoss { text += "  val \(String(format: "%.5f", validation))" }
        text += "  \(String(format: "%.1f", progress.elapsed))s"
        if progress.step < progress.steps, progress.estimatedRemaining.isFinite {
            text += "  ETA \(String(format: "%.1f", progress.estimatedRemaining))s"
        }
        return text
    }

    func line(_ progress: TrainingProgress) -> String {
        bar(fraction: Double(progress.step) / Double(max(1, progress.steps)), text: summary(progress))
    }

    private func bar(fraction: Double, text: String) -> String {
        let barWidth = max(10, min(30, width - text.count - 6))
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = unicode
            ? String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
            : String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled)
        return "[\(bar)] " + text
    }
}
