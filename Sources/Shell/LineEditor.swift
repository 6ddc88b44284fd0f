@preconcurrency import CEditLine
import Foundation

/// Interactive line input through libedit: prompt, emacs keys, persistent history, Tab completion,
/// Ctrl-C abandons the line, Ctrl-D ends input.
final class LineEditor {
    enum Input: Equatable {
        case line(String)
        case interrupted
        case endOfInput
    }

    private let editLine: OpaquePointer
    private let history: OpaquePointer
    private let historyPath: String
    private let shell: ShellContext

    /// libedit calls back through C function pointers, which cannot capture: they reach the editor here.
    nonisolated(unsafe) static var active: LineEditor?
    nonisolated(unsafe) static var promptText = strdup("lgc> ")
    nonisolated(unsafe) static var interruptedFlag = false

    init?(shell: ShellContext, historyPath: String, prompt: String) {
        guard let el = el_init("lgc-shell", stdin, stdout, stderr), let hist = lgc_history_init(1000) else { return nil }
        editLine = el
        history = hist
        self.historyPath = historyPath
        self.shell = shell
        free(Self.promptText)
        Self.promptText = strdup(prompt)

        lgc_el_set_editor(el, "emacs")
        lgc_el_set_signal(el, 1)
        lgc_el_set_prompt(el) { _ in LineEditor.promptText }
        lgc_el_set_history(el, hist)
        lgc_el_edit_mode_without_isig(el)
        lgc_el_add_function(el, "lgc-complete", "complete command, argument or path") { el, _ in
            LineEditor.active?.complete(el) ?? UInt8(CC_ERROR)
        }
        lgc_el_add_function(el, "lgc-interrupt", "abandon the current line") { _, _ in
            LineEditor.interruptedFlag = true
            // Show the abandoned line as a terminal does, then end it (libedit does not move to a new line).
            fputs("^C\n", stdout)
            fflush(stdout)
            return UInt8(CC_NEWLINE)
        }
        lgc_el_bind(el, "^I", "lgc-complete")
        lgc_el_bind(el, "^C", "lgc-interrupt")
        // Let ~/.editrc customise keys as in other libedit programs.
        el_source(el, nil)
        _ = lgc_history_load(hist, historyPath)
        Self.active = self
    }

    deinit {
        if Self.active === self { Self.active = nil }
        el_end(editLine)
        history_end(history)
    }

    /// Every history entry, oldest first.
    var entries: [String] {
        var result: [String] = []
        var pointer = lgc_history_walk(history, 0)
        while let entry = pointer {
            result.append(String(cString: entry).trimmingCharacters(in: .newlines))
            pointer = lgc_history_walk(history, 1)
        }
        return result
    }

    func read() -> Input {
        Self.interruptedFlag = false
        var count: Int32 = 0
        guard let raw = el_gets(editLine, &count), count > 0 else {
            if Self.interruptedFlag { return .interrupted }
            // EINTR (e.g. a resize signal) is not the end of input.
            if count == -1, errno == EINTR { return .interrupted }
            return .endOfInput
        }
        if Self.interruptedFlag { return .interrupted }
        let line = String(cString: raw).trimmingCharacters(in: .newlines)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            lgc_history_enter(history, line)
            // Saved after every line so a crash or kill loses no history.
            lgc_history_save(history, historyPath)
        }
        return .line(line)
    }

    private func complete(_ el: OpaquePointer?) -> UInt8 {
        guard let el, let info = el_line(el)?.pointee else { return UInt8(CC_ERROR) }
        let length = info.cursor - info.buffer
        let before = String(decoding: UnsafeRawBufferPointer(start: info.buffer, count: length), as: UTF8.self)
        let (candidates, partial) = Completion.complete(before, shell: shell)
        if candidates.isEmpty { return UInt8(CC_REFRESH_BEEP) }
        if candidates.count == 1 {
            let completion = candidates[0]
            var insertion = String(completion.dropFirst(partial.count))
            if !completion.hasSuffix("/") { insertion += " " }
            insertText(el, insertion)
            return UInt8(CC_REFRESH)
        }
        let common = Completion.commonPrefix(candidates)
        if common.count > partial.count {
            insertText(el, String(common.dropFirst(partial.count)))
            return UInt8(CC_REFRESH)
        }
        // Ambiguous with nothing more to insert: list the candidates in columns under the line.
        let width = (candidates.map(\.count).max() ?? 0) + 2
        let perRow = max(1, shell.terminal.width / width)
        var listing = "\n"
        for (index, candidate) in candidates.enumerated() {
            listing += candidate.padding(toLength: width, withPad: " ", startingAt: 0)
            if (index + 1) % perRow == 0 || index == candidates.count - 1 { listing += "\n" }
        }
        fputs(listing, stdout)
        fflush(stdout)
        return UInt8(CC_REDISPLAY)
    }

    private func insertText(_ el: OpaquePointer, _ text: String) {
        guard !text.isEmpty else { return }
        _ = text.withCString { el_insertstr(el, $0) }
    }
}
