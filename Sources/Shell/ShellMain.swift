import FeedbackLoop
import Foundation
import LoopApp
import MarketData

/// Start-up: flags, then interactive, script-file, stdin-script or `-c` mode.
public enum ShellMain {
    public static let version = Program.version

    static let usage = """
    usage: lgc-shell [options] [SCRIPT.lgc]

    A research shell for market-prediction models that retrain themselves.
    With no SCRIPT and a terminal on stdin it is interactive; otherwise it runs
    commands from SCRIPT or stdin, one per line, and stops at the first error.

    options:
      -c 'CMD; CMD'        run these commands and exit
      --demo               start with the built-in demo market loaded (fetch demo)
      --session NAME       start with the saved session NAME (sessions/NAME.lgc) loaded
      --format text|json   output format (json: one object per command on stdout)
      --json               same as --format json
      --keep-going         in scripts, run on after an error (still exit 1)
      -q, --quiet          no INFO/SUCCESS log lines on stderr
      --no-color           no ANSI colours (NO_COLOR=1 does the same)
      -h, --help           this help
      --version            print the version

    environment: LGC_HISTORY (history file, default ~/.lgc_history), COINGECKO_API_KEY,
    LGC_COINGECKO_URL, COLUMNS, NO_COLOR. Type 'help' inside the shell for commands.
    Research and education only — never trading advice.
    """

    struct Options {
        var commands: String?
        var script: String?
        var format = OutputFormat.text
        var keepGoing = false
        var quiet = false
        var noColor = false
        var demo = false
        var session: String?
    }

    enum Exit: Error { case code(Int32) }

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var index = 0
        func value(_ flag: String) throws -> String {
            index += 1
            guard index < arguments.count else {
                StandardStreams.writeError("lgc-shell: \(flag) needs a value — see 'lgc-shell --help'\n")
                throw Exit.code(2)
            }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-h", "--help":
                StandardStreams.write(usage + "\n")
                throw Exit.code(0)
            case "--version":
                StandardStreams.write("lgc-shell \(version)\n")
                throw Exit.code(0)
            case "-c": options.commands = try value("-c")
            case "--json": options.format = .json
            case _ where argument == "--format" || argument.hasPrefix("--format="):
                let text = argument == "--format" ? try value("--format") : String(argument.dropFirst("--format=".count))
                guard let format = OutputFormat(rawValue: text.lowercased()) else {
                    StandardStreams.writeError("lgc-shell: invalid --format '\(SafeText.escaped(text))': expected text or json\n")
                    throw Exit.code(2)
                }
                options.format = format
            case "--keep-going": options.keepGoing = true
            case "-q", "--quiet": options.quiet = true
            case "--no-color": options.noColor = true
            case "--demo": options.demo = true
            case "--session": options.session = try value("--session")
            case _ where argument.hasPrefix("-") && argument != "-":
                let known = ["--help", "--version", "--json", "--format", "--keep-going", "--quiet", "--no-color", "--demo", "--session"]
                let hint = Suggest.closest(to: argument, in: known).map { " — did you mean '\($0)'?" } ?? " — see 'lgc-shell --help'"
                StandardStreams.writeError("lgc-shell: unknown option '\(SafeText.escaped(argument))'\(hint)\n")
                throw Exit.code(2)
            default:
                guard options.script == nil else {
                    StandardStreams.writeError("lgc-shell: only one script file at a time ('\(SafeText.escaped(argument))' is extra)\n")
                    throw Exit.code(2)
                }
                options.script = argument
            }
            index += 1
        }
        return options
    }

    /// This program's own executable, for the processes a sweep starts: `LGC_SHELL` when set, else the running
    /// one, else (the shell embedded in another program: tests, lgc-bench) the `lgc-shell` built beside it.
    static func executablePath(environment: [String: String]) -> String {
        if let configured = environment["LGC_SHELL"], !configured.isEmpty { return configured }
        let running = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        guard (running as NSString).lastPathComponent != "lgc-shell" else { return running }
        var folder = (running as NSString).deletingLastPathComponent
        // A test bundle runs from inside its .xctest folder on some platforms.
        while !folder.isEmpty, folder != "/" {
            let beside = folder + "/lgc-shell"
            if FileManager.default.isExecutableFile(atPath: beside) { return beside }
            folder = (folder as NSString).deletingLastPathComponent
            if folder.hasSuffix(".build") { break }
        }
        return running
    }

    /// `lgc-shell sweep task FOLDER ID`: one task of a sweep, without a session or a prompt (a Slurm array element,
    /// a local engine's child). Exit 0 when its report exists (written now or before), 1 with one error line.
    static func runSweepTask(_ arguments: [String]) -> Int32 {
        guard arguments.count == 4, let id = Int(arguments[3]), id >= 0 else {
            StandardStreams.writeError("usage: lgc-shell sweep task FOLDER ID\n")
            return 2
        }
        do {
            let outcome = try SweepTask.run(folder: SweepFolder(path: arguments[2]), task: id)
            StandardStreams.write(Commands.taskOutput(outcome, task: id).text + "\n")
            return 0
        } catch {
            StandardStreams.writeError("lgc-shell: sweep task \(id): \(ShellContext.message(for: error))\n")
            return 1
        }
    }

    /// Runs the shell and returns the process exit status.
    public static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        if arguments.count >= 2, arguments[0] == "sweep", arguments[1] == "task" { return runSweepTask(arguments) }
        let options: Options
        do {
            options = try parse(arguments)
        } catch Exit.code(let code) {
            return code
        } catch {
            return 2
        }
        var terminal = TerminalInfo.detect(environment: environment)
        if options.noColor { terminal.color = false }
        let stderrColor = isatty(STDERR_FILENO) == 1 && environment["NO_COLOR"] == nil
            && environment["TERM"] != "dumb" && !options.noColor
        let engine = LoopEngine(clock: LoopClock { Date().timeIntervalSince1970 })
        let shell = ShellContext(engine: engine, format: options.format, terminal: terminal,
                                 logger: Logger(color: stderrColor, quiet: options.quiet), environment: environment)

        // Interactive sessions load the demo after the banner; scripts load it first.
        let interactive = options.commands == nil && options.script == nil && isatty(STDIN_FILENO) == 1
        // The working file is made at the first change (see `SessionController`), so starting stays fast.
        shell.openSession(directory: SessionController.directory(environment: environment), persistent: interactive,
                          wallClock: { Date().timeIntervalSince1970 })
        // Killed saves' temporary copies and old working files of killed scripts (their processes are gone).
        shell.session?.removeAbandonedFilesInBackground()
        defer {
            // Stop auto mode first: a background training is cancelled or finishes before the session closes.
            shell.auto.shutdown()
            shell.printNotices()
            if !interactive, let session = shell.session, session.hasUnsavedWork, let name = session.name {
                shell.logger.log(.warning, unsavedScriptWarning(name))
            }
            shell.closeSession()
        }
        // A session named at start-up is the working file itself: every change is saved as it is made.
        if let name = options.session, case .failed(let message) = shell.execute("load \"\(name)\" --in-place") {
            StandardStreams.writeError("lgc-shell: cannot start with session '\(SafeText.escaped(name))': \(message)\n")
            return 1
        }
        if options.demo, !interactive, shell.execute("fetch demo") != .ok { return 1 }
        if let commands = options.commands {
            return runScript(LineParser.splitCommands(commands).makeIterator(), name: "-c", shell: shell,
                             keepGoing: options.keepGoing)
        }
        if let script = options.script, script != "-" {
            guard let text = try? String(contentsOfFile: script, encoding: .utf8) else {
                let reason = FileManager.default.fileExists(atPath: script) ? "cannot read it as UTF-8 text" : "no such file"
                StandardStreams.writeError("lgc-shell: \(SafeText.escaped(script)): \(reason)\n")
                return 1
            }
            var lines = text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            return runScript(lines.makeIterator(), name: script, shell: shell, keepGoing: options.keepGoing)
        }
        if interactive {
            return runInteractive(shell: shell, environment: environment, loadDemo: options.demo)
        }
        return runScript(StdinLines(), name: stdinName(), shell: shell, keepGoing: options.keepGoing)
    }

    /// Runs lines in order; the first error prints `NAME:LINE: error: MESSAGE` and stops unless keepGoing.
    static func runScript<Lines: IteratorProtocol>(_ lines: Lines, name: String, shell: ShellContext,
                                                   keepGoing: Bool) -> Int32 where Lines.Element == String {
        var lines = lines
        var lineNumber = 0
        var failed = false
        // The script's name is the user's; it starts every error line, so it is escaped like the message.
        let name = SafeText.escaped(name)
        Interrupts.install()
        while let line = lines.next() {
            lineNumber += 1
            shell.commandHistory.append(line)
            let result = shell.execute(line)
            shell.printNotices()
            if case .failed(let message) = result {
                failed = true
                StandardStreams.writeError("\(name):\(lineNumber): error: \(message)\n")
                if !keepGoing && Interrupts.requested == 0 { return 1 }
            }
            // Ctrl-C stops a script after the command it interrupted (which may have cancelled a training).
            if Interrupts.requested != 0 {
                StandardStreams.writeError("\(name):\(lineNumber): interrupted\n")
                return 130
            }
            if shell.quitRequested { break }
        }
        return failed ? 1 : 0
    }

    static func runInteractive(shell: ShellContext, environment: [String: String], loadDemo: Bool) -> Int32 {
        let historyPath = environment["LGC_HISTORY"]
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".lgc_history")
        let paint = Paint(enabled: shell.terminal.color)
        let prompt = "lgc> "
        guard let editor = LineEditor(shell: shell, historyPath: historyPath, prompt: prompt) else {
            StandardStreams.writeError("lgc-shell: cannot start line editing; reading plain lines\n")
            return runScript(StdinLines(), name: "<stdin>", shell: shell, keepGoing: true)
        }
        shell.commandHistory = editor.entries
        Interrupts.install()
        StandardStreams.write("""
        \(paint.bold("lgc-shell \(version)")) — research shell for self-retraining market models (not trading advice)
        Type 'help' for commands, Tab to complete, Ctrl-C to abandon a line, Ctrl-D to quit.

        """)
        if let session = shell.session, shell.engine.series == nil, shell.engine.history.isEmpty {
            if let path = session.sessionLeftOpen() {
                // The last shell died with a named session open: everything it acknowledged is in that working file.
                shell.logger.log(.info, "reopening \(path), which was open when the last shell stopped")
                if case .failed(let message) = shell.reopen(path) {
                    StandardStreams.writeError("error: \(message)\n")
                }
            } else if !session.orphanedWorkingFiles().isEmpty {
                StandardStreams.write(paint.yellow("An unsaved session from a shell that stopped unexpectedly was found: type 'recover' to take it back.") + "\n")
            }
        }
        if loadDemo, case .failed(let message) = shell.execute("fetch demo") {
            StandardStreams.writeError("error: \(message)\n")
        }
        if shell.engine.series == nil {
            StandardStreams.write(paint.dim("No data loaded: try 'fetch demo' (offline) or 'import FILE.csv'.") + "\n")
        }
        var warnedUnsaved = false
        /// The first quit of an unsaved session only warns: its working file goes on a clean exit.
        func mayQuit() -> Bool {
            guard let session = shell.session, session.hasUnsavedWork, !warnedUnsaved else { return true }
            warnedUnsaved = true
            shell.quitRequested = false
            StandardStreams.writeError(paint.yellow(unsavedQuitWarning(session.name)) + "\n")
            return false
        }
        while true {
            if shell.quitRequested {
                if mayQuit() { return 0 }
            }
            switch editor.read() {
            case .endOfInput:
                StandardStreams.write("\n")
                if mayQuit() { return 0 }
            case .interrupted:
                continue
            case .line(let line):
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                let verb = line.trimmingCharacters(in: .whitespaces).lowercased()
                warnedUnsaved = warnedUnsaved && (verb.hasPrefix("quit") || verb.hasPrefix("exit"))
                shell.commandHistory.append(line)
                for statement in LineParser.splitCommands(line) {
                    Interrupts.requested = 0
                    let result = shell.execute(statement)
                    shell.printNotices()
                    if case .failed(let message) = result {
                        StandardStreams.writeError(Paint(enabled: shell.logger.color).red("error:") + " \(message)\n")
                        break
                    }
                    if shell.quitRequested { break }
                }
            }
        }
    }

    /// The first quit of an interactive session with changes only its working file holds.
    static func unsavedQuitWarning(_ name: String?) -> String {
        guard let name else { return "This session is not saved: 'save NAME' keeps it; quit again (or Ctrl-D) to discard it." }
        return "This session is not saved: 'save' writes its changes to '\(name)'; quit again (or Ctrl-D) to discard them."
    }

    /// A script that loaded or saved a session and changed it afterwards without saving again.
    static func unsavedScriptWarning(_ name: String) -> String {
        "session '\(name)' has changes that were not saved and are discarded — end the script with 'save' to keep them"
    }

    /// `script.lgc` when stdin is redirected from a file (so errors name it), else `<stdin>`.
    static func stdinName() -> String {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/0"),
              target.hasPrefix("/"), FileManager.default.fileExists(atPath: target) else { return "<stdin>" }
        let cwd = FileManager.default.currentDirectoryPath + "/"
        return target.hasPrefix(cwd) ? String(target.dropFirst(cwd.count)) : target
    }
}

/// Lines from stdin, read as they arrive (so a pipe can feed the shell slowly).
struct StdinLines: IteratorProtocol {
    mutating func next() -> String? { readLine(strippingNewline: true) }
}

/// Ctrl-C while a command runs must not kill the shell and lose its state: it sets a flag that long
/// trainings poll to cancel, and that scripts check between commands. The editor handles ^C itself.
enum Interrupts {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interrupts.requested = 1 }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
    }
}
