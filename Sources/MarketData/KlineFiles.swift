import Foundation
import ZIPFoundation

/// Reads Binance's public kline history files (data.binance.vision) as published: a header-less CSV of 12 columns
/// (`open_time, open, high, low, close, volume, close_time, quote_volume, trades, taker_base, taker_quote, ignore`),
/// plain or as the one CSV inside a `.zip`, from one file, a folder of them, or a glob (`data/BTCUSDT-1h-2024-*.zip`).
///
/// Files are read as streams, line by line (a zip entry chunk by chunk as it inflates), so a year of 1-minute bars
/// never sits in memory as text. Times are epoch milliseconds or, in the spot files since 2025, microseconds: each
/// file's unit is told by its first row's magnitude. A bar's time is its close (close_time plus one unit, the next
/// bar's open), as for every `Bar`. The files are joined in time order; a bar two files both hold is kept once.
public enum KlineFiles {
    /// Whether `import PATH` means kline files: a `.zip`, a glob, a folder holding Binance-named files or zips, or a
    /// file whose first line is a header-less row of 12 numbers. Anything else is the headered CSV importer's.
    public static func applies(to path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return isGlob(path) }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return !folderFiles(path).isEmpty
        case S_IFREG: return isZip(path) || looksLikeKlines(path: path)
        default: return false
        }
    }

    /// Loads one kline file, a folder of them or a glob's matches, all or nothing.
    ///
    /// The symbol is `symbol`, else the Binance file name's (`BTCUSDT-1h-2024-01.zip` → BTCUSDT), else the first
    /// file's name without extension, uppercased. Every file must hold bars of one interval.
    public static func load(_ path: String, symbol: String? = nil) throws -> KlineImport {
        let files = try expand(path)
        // One import is one series: files named for two symbols are refused before any is read.
        if symbol == nil {
            let symbols = files.compactMap { BinanceName(URL(fileURLWithPath: $0).lastPathComponent)?.symbol }
            if let first = symbols.first, let other = symbols.first(where: { $0 != first }) {
                throw KlineFileError.mixedSymbols(first: first, second: other)
            }
        }
        var bars = [Bar]()
        var intervals = [(file: String, label: String, seconds: TimeInterval)]()
        for file in files {
            let read = try readFile(file, into: &bars)
            let name = BinanceName(URL(fileURLWithPath: file).lastPathComponent)
            let seconds = name?.seconds ?? read.interval
            let label = name?.interval ?? DurationText.format(seconds)
            if let first = intervals.first, first.seconds != seconds {
                throw KlineFileError.mixedIntervals(first: first.file, firstInterval: first.label,
                                                    second: file, secondInterval: label)
            }
            intervals.append((file, label, seconds))
        }
        guard !bars.isEmpty else { throw MarketDataError.emptyFile(path: path) }

        // Join in time order; of bars at one time the first file's is kept.
        var ascending = true
        for i in bars.indices.dropFirst() where bars[i].time < bars[i - 1].time {
            ascending = false
            break
        }
        if !ascending {
            let order = bars.indices.sorted { bars[$0].time != bars[$1].time ? bars[$0].time < bars[$1].time : $0 < $1 }
            bars = order.map { bars[$0] }
        }
        var kept = 0
        var duplicates = 0
        for i in bars.indices {
            if kept > 0, bars[i].time == bars[kept - 1].time {
                duplicates += 1
                continue
            }
            bars[kept] = bars[i]
            kept += 1
        }
        bars.removeLast(bars.count - kept)

        let interval = intervals[0].seconds
        let first = files[0]
        let name = symbol ?? BinanceName(URL(fileURLWithPath: first).lastPathComponent)?.symbol
            ?? URL(fileURLWithPath: first).deletingPathExtension().lastPathComponent.uppercased()
        let series = PriceSeries(symbol: name, source: "csv:\(path)", bars: bars)
        let (gaps, largest) = series.gaps(interval: interval)
        return KlineImport(series: series, files: files, duplicates: duplicates, gaps: gaps, largestGap: largest,
                           interval: interval)
    }

    // MARK: Finding the files

    static func isGlob(_ path: String) -> Bool { path.contains { $0 == "*" || $0 == "?" || $0 == "[" } }
    static func isZip(_ path: String) -> Bool { path.lowercased().hasSuffix(".zip") }

    /// The files `path` names: itself, a folder's zips and Binance-named CSVs, or a glob's regular files; sorted.
    static func expand(_ path: String) throws -> [String] {
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR {
                let files = folderFiles(path)
                guard !files.isEmpty else { throw MarketDataError.notRegularFile(path: path, kind: "a directory") }
                return files
            }
            if let kind = CSVImporter.nonRegularKind(info.st_mode) { throw MarketDataError.notRegularFile(path: path, kind: kind) }
            return [path]
        }
        guard isGlob(path) else { throw MarketDataError.fileNotFound(path: path) }
        var matches = glob_t()
        defer { globfree(&matches) }
        var files = [String]()
        if glob(path, 0, nil, &matches) == 0 {
            for i in 0..<Int(matches.gl_pathc) {
                guard let pointer = matches.gl_pathv[i] else { continue }
                let file = String(cString: pointer)
                var fileInfo = stat()
                if stat(file, &fileInfo) == 0, fileInfo.st_mode & S_IFMT == S_IFREG { files.append(file) }
            }
        }
        guard !files.isEmpty else { throw KlineFileError.noMatch(pattern: path) }
        return files.sorted()
    }

    /// A folder's `.zip` files and Binance-named `.csv` files (checksums and anything else are left alone).
    static func folderFiles(_ folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.filter { name in
            !name.hasPrefix(".") && (isZip(name) || (name.lowercased().hasSuffix(".csv") && BinanceName(name) != nil))
        }
        .sorted()
        .map { (folder as NSString).appendingPathComponent($0) }
        .filter { file in
            var info = stat()
            return stat(file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        }
    }

    /// Whether the file's first line is a header-less row of 12 numbers.
    static func looksLikeKlines(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 4096), !head.isEmpty else { return false }
        let line = head.prefix { $0 != CSVByte.lf && $0 != CSVByte.cr }
        let fields = line.split(separator: CSVByte.comma, omittingEmptySubsequences: false)
        guard fields.count == 12 else { return false }
        return fields.allSatisfy { field in
            let text = String(decoding: field, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            return !text.isEmpty && Double(text) != nil
        }
    }

    // MARK: Reading

    /// Appends one file's bars to `bars`; returns its interval (from its first row).
    static func readFile(_ file: String, into bars: inout [Bar]) throws -> (rows: Int, interval: TimeInterval) {
        var parser = KlineParser(origin: file)
        if isZip(file) {
            let archive: Archive
            do {
                archive = try Archive(url: URL(fileURLWithPath: file), accessMode: .read)
            } catch {
                throw KlineFileError.corruptZip(path: file)
            }
            let entries = archive.filter { $0.type == .file && $0.path.lowercased().hasSuffix(".csv") }
            guard !entries.isEmpty else { throw KlineFileError.noCSVInZip(path: file) }
            for entry in entries {
                parser.begin(origin: "\(file)/\(entry.path)")
                // A row's error waits for the checksum: damaged data is the archive's fault, not the rows'.
                var rowError: (any Error)?
                let checksum: CRC32
                do {
                    checksum = try archive.extract(entry, bufferSize: 1 << 20) { chunk in
                        guard rowError == nil else { return }
                        do { try parser.feed(chunk, into: &bars) } catch { rowError = error }
                    }
                } catch {
                    throw KlineFileError.corruptZip(path: file)
                }
                guard checksum == entry.checksum else { throw KlineFileError.corruptZip(path: file) }
                if let rowError { throw rowError }
                try parser.finish(into: &bars)
            }
        } else {
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw MarketDataError.unreadable(path: file, reason: String(cString: strerror(errno)))
            }
            defer { try? handle.close() }
            while true {
                let chunk: Data
                do {
                    guard let read = try handle.read(upToCount: 1 << 20), !read.isEmpty else { break }
                    chunk = read
                } catch {
                    throw MarketDataError.unreadable(path: file, reason: error.localizedDescription)
                }
                try parser.feed(chunk, into: &bars)
            }
            try parser.finish(into: &bars)
        }
        guard parser.rows > 0, let interval = parser.interval else { throw MarketDataError.emptyFile(path: file) }
        return (parser.rows, interval)
    }
}

/// What `import` of kline files loaded, for its report.
public struct KlineImport: Sendable, Equatable {
    public var series: PriceSeries
    /// The files read, in the order read.
    public var files: [String]
    /// Bars dropped because an earlier one had the same time (files that overlap).
    public var duplicates: Int
    /// Places where at least one bar is missing.
    public var gaps: Int
    /// The longest stretch missing, in seconds (0 without gaps).
    public var largestGap: TimeInterval
    /// The bars' interval in seconds.
    public var interval: TimeInterval
}

/// A failure reading kline files. Wording lives in `description`; what to type about it, in the shell.
public enum KlineFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A zip archive without a `.csv` entry.
    case noCSVInZip(path: String)
    /// A file named `.zip` that is no readable archive, or whose data does not match its checksum.
    case corruptZip(path: String)
    /// A row that is not a Binance kline; `origin` is the file (or `ZIP/ENTRY`), `line` counts from 1.
    case notKlines(origin: String, line: Int, reason: String)
    /// Two files of one import with bars of different intervals.
    case mixedIntervals(first: String, firstInterval: String, second: String, secondInterval: String)
    /// A glob that matches no file.
    case noMatch(pattern: String)
    /// Files of two symbols in one import (one import is one series).
    case mixedSymbols(first: String, second: String)

    public var description: String {
        switch self {
        case .noCSVInZip(let path):
            return "'\(path)' holds no CSV file"
        case .corruptZip(let path):
            return "'\(path)' is not a readable zip archive (damaged or truncated)"
        case .notKlines(let origin, let line, let reason):
            return "\(origin):\(line): not a Binance kline row — \(reason)"
        case .mixedIntervals(let first, let firstInterval, let second, let secondInterval):
            return "'\(first)' holds \(firstInterval) bars but '\(second)' holds \(secondInterval) bars — one import takes one interval"
        case .noMatch(let pattern):
            return "no file matches '\(pattern)'"
        case .mixedSymbols(let first, let second):
            return "the files hold two symbols, \(first) and \(second) — one PATH is one series"
        }
    }
}

/// A data.binance.vision file name: `SYMBOL-INTERVAL-YYYY-MM[-DD].zip|csv`.
struct BinanceName {
    var symbol: String
    var interval: String
    /// The interval in seconds; nil for `1mo` (months differ), where the rows tell.
    var seconds: TimeInterval?

    static let intervals: [String: TimeInterval?] = [
        "1s": 1, "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14_400,
        "6h": 21_600, "8h": 28_800, "12h": 43_200, "1d": 86_400, "3d": 259_200, "1w": 604_800, "1mo": nil,
    ]

    init?(_ fileName: String) {
        let lower = fileName.lowercased()
        guard let dot = lower.lastIndex(of: "."), [".zip", ".csv"].contains(String(lower[dot...])) else { return nil }
        let parts = fileName[..<dot].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 || parts.count == 5,
              !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
              let seconds = BinanceName.intervals[parts[1]],
              parts[2].count == 4, parts[2...].allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && Int($0) != nil }),
              parts[3...].allSatisfy({ $0.count == 2 })
        else { return nil }
        symbol = parts[0].uppercased()
        interval = parts[1]
        self.seconds = seconds
    }
}

/// Turns chunks of kline CSV into bars, line by line; a line split across chunks is carried to the next.
struct KlineParser {
    var origin: String
    /// Lines read so far in this entry (1-based number of the line being parsed).
    private(set) var line = 0
    private(set) var rows = 0
    /// Units per second (1000 for milliseconds, 1_000_000 for microseconds), from the file's first row.
    private var unit: Double?
    /// The first row's interval in seconds.
    private(set) var interval: TimeInterval?
    private var carry = [UInt8]()
    private var fields = [Int](repeating: 0, count: 26)

    init(origin: String) { self.origin = origin }

    /// Starts another entry (of one file): line numbers restart; the unit and interval stay the file's.
    mutating func begin(origin: String) {
        self.origin = origin
        line = 0
        carry.removeAll(keepingCapacity: true)
    }

    mutating func feed(_ chunk: Data, into bars: inout [Bar]) throws {
        try chunk.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            if !carry.isEmpty {
                guard let lf = bytes.firstIndex(of: CSVByte.lf) else {
                    carry.append(contentsOf: bytes)
                    return
                }
                carry.append(contentsOf: bytes[..<lf])
                try carry.withUnsafeBufferPointer { try parseLine($0, 0, $0.count, into: &bars) }
                carry.removeAll(keepingCapacity: true)
                start = lf + 1
            }
            var p = start
            let count = bytes.count
            while p < count {
                if bytes[p] == CSVByte.lf {
                    try parseLine(bytes, start, p, into: &bars)
                    start = p + 1
                }
                p += 1
            }
            if start < count { carry.append(contentsOf: bytes[start..<count]) }
        }
    }

    mutating func finish(into bars: inout [Bar]) throws {
        guard !carry.isEmpty else { return }
        try carry.withUnsafeBufferPointer { try parseLine($0, 0, $0.count, into: &bars) }
        carry.removeAll(keepingCapacity: true)
    }

    private mutating func parseLine(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ lineEnd: Int,
                                    into bars: inout [Bar]) throws {
        line += 1
        var end = lineEnd
        if end > start, bytes[end - 1] == CSVByte.cr { end -= 1 }
        if line == 1, end - start >= 3, bytes[start] == 0xEF, bytes[start + 1] == 0xBB, bytes[start + 2] == 0xBF {
            return try parseFields(bytes, start + 3, end, into: &bars)
        }
        try parseFields(bytes, start, end, into: &bars)
    }

    private mutating func parseFields(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
                                      into bars: inout [Bar]) throws {
        var blank = true
        for i in start..<end where !CSVByte.isBlank(bytes[i]) {
            blank = false
            break
        }
        if blank { return }
        // Field k spans fields[2k]..<fields[2k+1]; at most 13 are recorded (12 expected, one more to say "too many").
        var n = 0
        var fieldStart = start
        var total = 1
        for i in start..<end where bytes[i] == CSVByte.comma {
            if n < 12 {
                fields[2 * n] = fieldStart
                fields[2 * n + 1] = i
                n += 1
            }
            total += 1
            fieldStart = i + 1
        }
        if n < 12 {
            fields[2 * n] = fieldStart
            fields[2 * n + 1] = end
        }
        // Futures files carry a header line; it is not a row.
        if line == 1, rows == 0, end - start >= 9,
           String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<start + 9]), as: UTF8.self) == "open_time" {
            return
        }
        guard total == 12 else {
            throw KlineFileError.notKlines(
                origin: origin, line: line,
                reason: "expected 12 comma-separated columns (open_time, open, high, low, close, volume, close_time, …), found \(total)")
        }
        func text(_ k: Int) -> String {
            SafeText.oneLine(String(decoding: UnsafeBufferPointer(rebasing: bytes[fields[2 * k]..<fields[2 * k + 1]]), as: UTF8.self),
                             limit: 40)
        }
        func whole(_ k: Int, _ name: String) throws -> Int64 {
            var value: Int64 = 0
            var i = fields[2 * k], stop = fields[2 * k + 1]
            while i < stop, CSVByte.isBlank(bytes[i]) { i += 1 }
            while stop > i, CSVByte.isBlank(bytes[stop - 1]) { stop -= 1 }
            guard i < stop, stop - i <= 18 else {
                throw KlineFileError.notKlines(origin: origin, line: line, reason: "\(name) '\(text(k))' is not a whole number")
            }
            while i < stop {
                guard CSVByte.isDigit(bytes[i]) else {
                    throw KlineFileError.notKlines(origin: origin, line: line, reason: "\(name) '\(text(k))' is not a whole number")
                }
                value = value * 10 + Int64(bytes[i] - CSVByte.zero)
                i += 1
            }
            return value
        }
        func number(_ k: Int, _ name: String) throws -> Double {
            var i = fields[2 * k], stop = fields[2 * k + 1]
            while i < stop, CSVByte.isBlank(bytes[i]) { i += 1 }
            while stop > i, CSVByte.isBlank(bytes[stop - 1]) { stop -= 1 }
            guard let value = CSVNumber.parse(bytes, i, stop), value.isFinite else {
                throw KlineFileError.notKlines(origin: origin, line: line, reason: "\(name) '\(text(k))' is not a number")
            }
            return value
        }
        let openTime = try whole(0, "open_time")
        let closeTime = try whole(6, "close_time")
        let open = try number(1, "open"), high = try number(2, "high"), low = try number(3, "low")
        let close = try number(4, "close"), volume = try number(5, "volume")
        let unit: Double
        if let known = self.unit {
            unit = known
        } else {
            // Epoch microseconds pass 1e14 (1973); milliseconds stay below it until the year 5138.
            unit = openTime > 100_000_000_000_000 ? 1_000_000 : 1000
            self.unit = unit
        }
        guard closeTime >= openTime else {
            throw KlineFileError.notKlines(origin: origin, line: line,
                                           reason: "close_time \(closeTime) is before open_time \(openTime)")
        }
        if interval == nil { interval = Double(closeTime + 1 - openTime) / unit }
        let bar = Bar(time: Double(closeTime + 1) / unit, open: open, high: high, low: low, close: close, volume: volume)
        if let bad = bar.firstOutOfRange {
            let column = ["time": 6, "open": 1, "high": 2, "low": 3, "close": 4, "volume": 5][bad.field]!
            throw MarketDataError.outOfRange(origin: "\(origin):\(line)", field: bad.field, value: text(column), bounds: bad.bounds)
        }
        bars.append(bar)
        rows += 1
    }
}
