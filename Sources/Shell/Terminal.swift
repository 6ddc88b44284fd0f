import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Facts about the terminal the shell writes to.
public struct TerminalInfo: Sendable {
    public var isInteractive: Bool
    public var width: Int
    public var color: Bool
    public var unicode: Bool

    /// Width from `COLUMNS`, then the tty, else 80; colour only on a tty without `NO_COLOR` or `TERM=dumb`;
    /// Unicode unless the locale is not UTF-8 or `TERM=dumb`.
    public static func detect(environment env: [String: String] = ProcessInfo.processInfo.environment,
                              stdoutIsTTY: Bool = isatty(STDOUT_FILENO) == 1) -> TerminalInfo {
        let dumb = env["TERM"] == "dumb"
        var width = 80
        if let columns = env["COLUMNS"].flatMap(Int.init), columns > 0 {
            width = columns
        } else if stdoutIsTTY {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { width = Int(size.ws_col) }
        }
        let locale = env["LC_ALL"] ?? env["LC_CTYPE"] ?? env["LANG"] ?? ""
        let utf8 = locale.isEmpty || locale.uppercased().contains("UTF-8") || locale.uppercased().contains("UTF8")
        return TerminalInfo(isInteractive: stdoutIsTTY, width: max(40, min(width, 400)),
                            color: stdoutIsTTY && env["NO_COLOR"] == nil && !dumb,
                            unicode: utf8 && !dumb)
    }
}

/// ANSI styling that disappears when colour is off.
struct Paint {
    let enabled: Bool

    func bold(_ text: String) -> String { wrap(text, "1") }
    func dim(_ text: String) -> String { wrap(text, "2") }
    func red(_ text: String) -> String { wrap(text, "31") }
    func green(_ text: String) -> String { wrap(text, "32") }
    func yellow(_ text: String) -> String { wrap(text, "33") }
    func cyan(_ text: String) -> String { wrap(text, "36") }

    private func wrap(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
