@preconcurrency import CEditLine
import Foundation
import LoopApp
import MarketData

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
    private let historyFile: HistoryFile
    private let shell: ShellContext

    /// libedit calls back through C function pointers, which cannot capture: they reach the editor here.
    nonisolated(unsafe) static var active: LineEditor?
    nonisolated(unsafe) static var promptText = strdup("lgc> ")
    nonisolated(unsafe) static var interruptedFlag = false
    nonisolated(unsafe) static var promptWidth = 5

    init?(shell: ShellContext, historyPath: String, prompt: String) {
        guard let el = el_init("lgc-shell", stdin, stdout, stderr), let hist = lgc_history_init(1000) else { return nil }
        editLine = el
        history = hist
        historyFile = HistoryFile(path: historyPath)
        self.shell = shell
        free(Self.promptText)
        Self.promptText = strdup(prompt)
        Self.promptWidth = prompt.count

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
        lgc_el_set_getcfn(el) { el, character in
            LineEditor.active?.readCharacter(el, character) ?? -1
        }
        lgc_el_bind(el, "^I", "lgc-complete")
        lgc_el_bind(el, "^C", "lgc-interrupt")
        // Let ~/.editrc customise keys as in other libedit programs.
        el_source(el, nil)
        // LGC_HISTORY=/dev/null is the usual way to keep no history: no warning for that one.
        if case .notRegular(let kind) = historyFile.state, historyPath != "/dev/null" {
            shell.logger.log(.warning, "history file '\(SafeText.escaped(historyPath))' is \(kind.words), not a regular file: history is not kept")
        }
        historyFile.load(into: hist)
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
            historyFile.save(history)
        }
        return .line(line)
    }

    /// libedit's character source: waits on the terminal and on auto mode's notice pipe, printing notices above
    /// the prompt as they come. Returns 1 with a character, 0 at end of input, -1 on error.
    private func readCharacter(_ el: OpaquePointer?, _ character: UnsafeMutablePointer<wchar_t>?) -> Int32 {
        while true {
            var descriptors = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: shell.notices.readDescriptor, events: Int16(POLLIN), revents: 0)]
            if poll(&descriptors, 2, -1) < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if descriptors[1].revents & Int16(POLLIN) != 0, let el { showNotices(el) }
            if descriptors[0].revents != 0 { return readUTF8(into: character) }
        }
    }

    /// One UTF-8 encoded character from the terminal as a wide character.
    private func readUTF8(into character: UnsafeMutablePointer<wchar_t>?) -> Int32 {
        var status: Int32 = 1
        func byte() -> Int? {
            var value: UInt8 = 0
            while true {
                let count = Foundation.read(STDIN_FILENO, &value, 1)
                if count == 1 { return Int(value) }
                if count < 0, errno == EINTR { continue }
                status = count == 0 ? 0 : -1
                return nil
            }
        }
        guard let first = byte() else { return status }
        var scalar = first
        let continuation = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : first >= 0xC0 ? 1 : 0
        if continuation > 0 {
            scalar = first & (0x3F >> continuation)
            for _ in 0..<continuation {
                guard let next = byte() else { return status }
                scalar = scalar << 6 | (next & 0x3F)
            }
        }
        character?.pointee = wchar_t(truncatingIfNeeded: scalar)
        return 1
    }

    /// Clears the prompt and the line being typed, prints the notices where they were, and has libedit draw the
    /// prompt and the line again below them — the typed text and the cursor are untouched.
    private func showNotices(_ el: OpaquePointer) {
        let notices = shell.notices.drain()
        guard !notices.isEmpty else { return }
        var text = ""
        if let info = el_line(el)?.pointee {
            let before = info.cursor - info.buffer
            let row = (Self.promptWidth + before) / max(1, shell.terminal.width)
            if row > 0 { text += "\u{1B}[\(row)A" }
        }
        text += "\r\u{1B}[J"
        text += notices.map { shell.render($0) + "\n" }.joined()
        fputs(text, stdout)
        fflush(stdout)
        lgc_el_refresh(el)
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
            // A folder or a `KEY=` is half a word: its rest is completed next, so no space after it.
            if !completion.hasSuffix("/") && !completion.hasSuffix("=") { insertion += " " }
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

/// The file that keeps history between sessions (`LGC_HISTORY`, default `~/.lgc_history`).
///
/// Only a regular file is read or written (a symbolic link to one is followed). Anything else at the path —
/// `/dev/null`, a FIFO, a socket, a folder — turns history off for the session: it is never opened, written,
/// truncated or `chmod`ed. A regular file keeps its permission bits; a new one is created with mode 0600.
/// libedit's own saving `chmod`s its file to 0600, so libedit writes into a private temporary file and the
/// bytes are copied into the history file in place.
struct HistoryFile {
    /// What is at the path.
    enum State: Equatable {
        case absent
        case regular
        case notRegular(FileWriteError.Kind)
    }

    let path: String

    var state: State {
        var info = stat()
        guard stat(path, &info) == 0 else { return .absent }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .notRegular(.folder)
        default: return .notRegular(FileWriteError.Kind(mode: info.st_mode))
        }
    }

    /// Whether history may be written there: nothing is there yet, or a regular file is.
    var mayWrite: Bool {
        switch state {
        case .absent, .regular: return true
        case .notRegular: return false
        }
    }

    /// Adds the file's entries to `history` when the path is a regular file.
    func load(into history: OpaquePointer) {
        guard state == .regular else { return }
        _ = lgc_history_load(history, path)
    }

    /// Writes `history` in libedit's format; false (touching nothing) when the path is not absent or regular.
    @discardableResult
    func save(_ history: OpaquePointer) -> Bool {
        guard mayWrite else { return false }
        guard let scratch = tmpfile() else { return false }
        defer { fclose(scratch) }
        guard lgc_history_save_fp(history, scratch) >= 0, fflush(scratch) == 0 else { return false }
        rewind(scratch)
        var bytes = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, scratch)
            if count > 0 { bytes.append(contentsOf: buffer[0..<count]) }
            if count < buffer.count { break }
        }
        return write(bytes)
    }

    /// Replaces the file's contents with `bytes`, in place (mode, owner and links stay); false when the
    /// path is not absent or a regular file, or the write failed.
    @discardableResult
    func write(_ bytes: Data) -> Bool {
        guard mayWrite else { return false }
        // O_NONBLOCK: should a FIFO appear at the path meanwhile, opening it must not wait for a reader.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, ftruncate(descriptor, 0) == 0 else { return false }
        return bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
