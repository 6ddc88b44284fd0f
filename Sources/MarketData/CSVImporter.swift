import Foundation

/// Loads price series from CSV files in the usual exchange, Yahoo, CoinGecko and pandas layouts.
///
/// Recognised headers (case-insensitive; extra trailing columns are ignored):
/// - `timestamp,open,high,low,close,volume` (exchange klines; `date`, `datetime` or `time`
///   may name the first column),
/// - `Date,Open,High,Low,Close,Adj Close,Volume` (Yahoo; the price is Close, not Adj Close),
/// - `snapped_at,price,market_cap,total_volume` (CoinGecko export),
/// - `,Open,High,Low,Close,Volume` (pandas with an unnamed date index).
///
/// Times may be ISO-8601 (with `T` or a space, with `Z`, `UTC` or an offset, or none = UTC),
/// a plain date (midnight UTC), or epoch seconds, milliseconds (> 1e11) or microseconds (> 1e14).
/// Bar times are taken as written; they are not shifted to the bar's close.
public enum CSVImporter {
    /// Loads a CSV price file; the format is detected from its header.
    ///
    /// The series' source is `csv:<path>` and its symbol is `symbol`, or else the file name
    /// without extension, uppercased. A leading `~` in `path` means the home directory.
    public static func load(path: String, symbol: String? = nil) throws -> PriceSeries {
        let resolved = (path as NSString).expandingTildeInPath
        // Only a regular file is read: a directory cannot be, a device or a FIFO could block or never end.
        var info = stat()
        guard stat(resolved, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw MarketDataError.fileNotFound(path: path) }
            throw MarketDataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if let kind = nonRegularKind(info.st_mode) { throw MarketDataError.notRegularFile(path: path, kind: kind) }
        // Binance's kline files (a .zip, or header-less rows of 12 numbers) are streamed by their own reader.
        if KlineFiles.isZip(resolved) || KlineFiles.looksLikeKlines(path: resolved) {
            return try KlineFiles.load(resolved, symbol: symbol).series
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: resolved))
        } catch {
            throw MarketDataError.unreadable(path: path, reason: error.localizedDescription)
        }
        let name = symbol ?? URL(fileURLWithPath: resolved).deletingPathExtension().lastPathComponent.uppercased()
        return try data.withUnsafeBytes { raw in
            try parse(bytes: raw.bindMemory(to: UInt8.self), path: path, symbol: name)
        }
    }

    /// What a file of `mode` is, in words, when it is not a regular file.
    static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }

    /// Parses CSV text as if read from `path` (used in error messages and the source).
    public static func parse(text: String, path: String, symbol: String) throws -> PriceSeries {
        var text = text
        return try text.withUTF8 { try parse(bytes: $0, path: path, symbol: symbol) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, path: String, symbol: String) throws -> PriceSeries {
        var scanner = CSVScanner(bytes: bytes, path: path)
        var fields = [CSVField]()
        fields.reserveCapacity(16)

        guard try scanner.nextRecord(into: &fields) != nil else {
            throw MarketDataError.emptyFile(path: path)
        }
        let headerNames = fields.map { scanner.text(of: $0).trimmingCharacters(in: .whitespaces) }
        guard let layout = CSVLayout(header: headerNames.map { $0.lowercased() }) else {
            var header = headerNames.joined(separator: ",")
            if header.count > 120 { header = String(header.prefix(120)) + "…" }
            throw MarketDataError.unknownHeader(path: path, header: header)
        }

        // One pass to size the buffers: rows are at most the number of line breaks plus one.
        var lineBreaks = 0
        for byte in bytes where byte == CSVByte.lf { lineBreaks += 1 }
        var bars = [Bar]()
        var lines = [Int]()
        bars.reserveCapacity(lineBreaks + 1)
        lines.reserveCapacity(lineBreaks + 1)

        while let line = try scanner.nextRecord(into: &fields) {
            guard fields.count == layout.columns else {
                throw MarketDataError.malformedRow(
                    path: path, line: line,
                    reason: "expected \(layout.columns) comma-separated fields like the header, found \(fields.count)")
            }
            bars.append(try layout.bar(from: fields, scanner: scanner, line: line))
            lines.append(line)
        }
        guard !bars.isEmpty else { throw MarketDataError.emptyFile(path: path) }
        return PriceSeries(symbol: symbol, source: "csv:\(path)", bars: try chronological(bars, lines: lines, path: path))
    }

    /// Returns `bars` in ascending time order: as-is when ascending, reversed when the whole file
    /// is newest-first; otherwise throws naming the first out-of-order line.
    private static func chronological(_ bars: [Bar], lines: [Int], path: String) throws -> [Bar] {
        var firstAscendingBreak: Int?
        var firstDescendingBreak: Int?
        var ascendingPairs = 0
        var descendingPairs = 0
        for i in bars.indices.dropFirst() {
            let previous = bars[i - 1].time, current = bars[i].time
            if current > previous { ascendingPairs += 1 } else if firstAscendingBreak == nil { firstAscendingBreak = i }
            if current < previous { descendingPairs += 1 } else if firstDescendingBreak == nil { firstDescendingBreak = i }
        }
        guard let ascendingBreak = firstAscendingBreak else { return bars }
        guard let descendingBreak = firstDescendingBreak else { return bars.reversed() }
        // Report against whichever order most of the file follows, so a newest-first export with
        // one bad row points at that row rather than at its second line.
        if descendingPairs > ascendingPairs {
            throw MarketDataError.malformedRow(
                path: path, line: lines[descendingBreak],
                reason: "timestamp is not before the previous row's — a newest-first file must be in strictly descending time order throughout")
        }
        throw MarketDataError.notChronological(path: path, line: lines[ascendingBreak])
    }
}

// MARK: - Layout

/// Which column holds what, as found in the header.
struct CSVLayout {
    var time = 0
    var open: Int?
    var high: Int?
    var low: Int?
    var close: Int
    var volume: Int
    /// Number of fields every row must have (the header's).
    var columns: Int

    init?(header names: [String]) {
        columns = names.count
        if names.count >= 4, Array(names[0..<4]) == ["snapped_at", "price", "market_cap", "total_volume"] {
            close = 1
            volume = 3
            return
        }
        let timeNames: Set<String> = ["timestamp", "date", "datetime", "time", ""]
        guard names.count >= 6, timeNames.contains(names[0]),
              Array(names[1..<5]) == ["open", "high", "low", "close"] else { return nil }
        open = 1
        high = 2
        low = 3
        close = 4
        if names[5] == "volume" {
            volume = 5
        } else if names.count >= 7, ["adj close", "adj_close", "adjclose"].contains(names[5]), names[6] == "volume" {
            volume = 6
        } else {
            return nil
        }
    }

    func bar(from fields: [CSVField], scanner: CSVScanner, line: Int) throws -> Bar {
        let bytes = scanner.bytes, path = scanner.path
        let timeField = fields[time]
        guard let seconds = CSVTime.parse(bytes, timeField.start, timeField.end) else {
            throw MarketDataError.malformedRow(
                path: path, line: line,
                reason: "cannot read the time '\(scanner.text(of: timeField))' — expected ISO-8601 like 2024-01-31T00:00:00Z, a date like 2024-01-31, or epoch seconds or milliseconds")
        }
        let closeField = fields[close]
        guard let price = CSVNumber.parse(bytes, closeField.start, closeField.end), price.isFinite, price > 0 else {
            throw MarketDataError.badPrice(path: path, line: line, value: scanner.text(of: closeField))
        }
        // Price-only sources and rows with blank open/high/low fall back to the close.
        func optionalPrice(_ column: Int?) throws -> Double {
            guard let column else { return price }
            let field = fields[column]
            if field.start == field.end { return price }
            guard let value = CSVNumber.parse(bytes, field.start, field.end), value.isFinite, value > 0 else {
                throw MarketDataError.badPrice(path: path, line: line, value: scanner.text(of: field))
            }
            return value
        }
        let openPrice = try optionalPrice(open)
        let highPrice = try optionalPrice(high)
        let lowPrice = try optionalPrice(low)

        let volumeField = fields[volume]
        var tradedVolume = 0.0
        if volumeField.start != volumeField.end {
            guard let value = CSVNumber.parse(bytes, volumeField.start, volumeField.end), value.isFinite else {
                throw MarketDataError.malformedRow(
                    path: path, line: line, reason: "volume '\(scanner.text(of: volumeField))' is not a number")
            }
            guard value >= 0 else {
                throw MarketDataError.malformedRow(
                    path: path, line: line, reason: "volume '\(scanner.text(of: volumeField))' is negative")
            }
            tradedVolume = value
        }
        let bar = Bar(time: seconds, open: openPrice, high: highPrice, low: lowPrice, close: price, volume: tradedVolume)
        if let bad = bar.firstOutOfRange {
            let column = ["time": time, "open": open, "high": high, "low": low, "close": close, "volume": volume][bad.field]!
            let written = column.map { scanner.text(of: fields[$0]) } ?? scanner.text(of: fields[close])
            throw MarketDataError.outOfRange(origin: "\(path):\(line)", field: bad.field, value: written, bounds: bad.bounds)
        }
        return bar
    }
}

// MARK: - Tokenizer

enum CSVByte {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= nine }
    @inline(__always) static func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }
}

/// A field's byte range inside the file; quotes are already stripped.
struct CSVField {
    var start: Int
    var end: Int
    /// True when the quoted field contains `""` escapes.
    var escaped: Bool
}

/// Splits CSV bytes into records (RFC 4180 quoting, CRLF/LF/CR line ends), counting file lines.
struct CSVScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let path: String
    private var position: Int
    /// 1-based file line at `position`.
    private var line = 1

    init(bytes: UnsafeBufferPointer<UInt8>, path: String) {
        self.bytes = bytes
        self.path = path
        let hasBOM = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        position = hasBOM ? 3 : 0
    }

    /// Reads the next non-blank record into `fields`; returns its first file line, or nil at the end.
    mutating func nextRecord(into fields: inout [CSVField]) throws -> Int? {
        fields.removeAll(keepingCapacity: true)
        let count = bytes.count
        while true {
            var p = position
            while p < count, CSVByte.isBlank(bytes[p]) { p += 1 }
            if p == count {
                position = count
                return nil
            }
            guard bytes[p] == CSVByte.lf || bytes[p] == CSVByte.cr else { break }
            position = p
            consumeLineEnd()
        }
        let recordLine = line
        while true {
            while position < count, CSVByte.isBlank(bytes[position]) { position += 1 }
            if position < count, bytes[position] == CSVByte.quote {
                position += 1
                let start = position
                var escaped = false
                while true {
                    guard position < count else {
                        throw MarketDataError.malformedRow(
                            path: path, line: recordLine, reason: "a quoted field is never closed (missing '\"')")
                    }
                    let byte = bytes[position]
                    if byte == CSVByte.quote {
                        if position + 1 < count, bytes[position + 1] == CSVByte.quote {
                            escaped = true
                            position += 2
                            continue
                        }
                        break
                    }
                    if byte == CSVByte.lf || (byte == CSVByte.cr && !(position + 1 < count && bytes[position + 1] == CSVByte.lf)) {
                        line += 1
                    }
                    position += 1
                }
                fields.append(CSVField(start: start, end: position, escaped: escaped))
                position += 1
                while position < count, CSVByte.isBlank(bytes[position]) { position += 1 }
            } else {
                let start = position
                while position < count {
                    let byte = bytes[position]
                    if byte == CSVByte.comma || byte == CSVByte.lf || byte == CSVByte.cr { break }
                    position += 1
                }
                var end = position
                while end > start, CSVByte.isBlank(bytes[end - 1]) { end -= 1 }
                fields.append(CSVField(start: start, end: end, escaped: false))
            }
            if position == count { return recordLine }
            let byte = bytes[position]
            if byte == CSVByte.comma {
                position += 1
                continue
            }
            if byte == CSVByte.lf || byte == CSVByte.cr {
                consumeLineEnd()
                return recordLine
            }
            throw MarketDataError.malformedRow(
                path: path, line: recordLine, reason: "unexpected text after a closing quote (expected ',' or end of line)")
        }
    }

    private mutating func consumeLineEnd() {
        if bytes[position] == CSVByte.cr, position + 1 < bytes.count, bytes[position + 1] == CSVByte.lf { position += 1 }
        position += 1
        line += 1
    }

    /// The field's text with `""` escapes undone (for messages and header names).
    func text(of field: CSVField) -> String {
        let raw = String(decoding: UnsafeBufferPointer(rebasing: bytes[field.start..<field.end]), as: UTF8.self)
        return field.escaped ? raw.replacingOccurrences(of: "\"\"", with: "\"") : raw
    }
}

// MARK: - Numbers

enum CSVNumber {
    /// Exact powers of ten for the fast path (10^22 is the largest exactly representable).
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// Parses a plain decimal (`-12.5`, `3e-4`); nil for anything else, including `inf`, `nan` and hex.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var i = start
        guard i < end else { return nil }
        var negative = false
        if bytes[i] == CSVByte.plus || bytes[i] == CSVByte.minus {
            negative = bytes[i] == CSVByte.minus
            i += 1
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var sawDigit = false
        var exponent = 0
        while i < end, CSVByte.isDigit(bytes[i]) {
            accumulate(bytes[i], into: &mantissa, significant: &significantDigits)
            sawDigit = true
            i += 1
        }
        if i < end, bytes[i] == CSVByte.dot {
            i += 1
            while i < end, CSVByte.isDigit(bytes[i]) {
                accumulate(bytes[i], into: &mantissa, significant: &significantDigits)
                exponent -= 1
                sawDigit = true
                i += 1
            }
        }
        guard sawDigit else { return nil }
        if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var exponentNegative = false
            if i < end, bytes[i] == CSVByte.plus || bytes[i] == CSVByte.minus {
                exponentNegative = bytes[i] == CSVByte.minus
                i += 1
            }
            guard i < end, CSVByte.isDigit(bytes[i]) else { return nil }
            var written = 0
            while i < end, CSVByte.isDigit(bytes[i]) {
                if written < 100_000 { written = written * 10 + Int(bytes[i] - CSVByte.zero) }
                i += 1
            }
            exponent += exponentNegative ? -written : written
        }
        guard i == end else { return nil }

        // Clinger's fast path: both operands exact, so one IEEE operation rounds correctly.
        if significantDigits <= 19, mantissa <= 1 << 53, abs(exponent) <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
            return negative ? -value : value
        }
        // Rare long or extreme numbers: the syntax is already checked, so the standard parser is safe.
        return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
    }

    @inline(__always)
    private static func accumulate(_ digit: UInt8, into mantissa: inout UInt64, significant: inout Int) {
        if mantissa == 0 && digit == CSVByte.zero { return }
        significant += 1
        if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(digit - CSVByte.zero) }
    }
}

// MARK: - Times

enum CSVTime {
    /// Epoch seconds from an ISO-8601 time, a plain date, or epoch seconds/ms/µs; nil when unreadable.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        guard start < end else { return nil }
        var looksNumeric = true
        for i in start..<end where !(CSVByte.isDigit(bytes[i]) || bytes[i] == CSVByte.dot) {
            looksNumeric = false
            break
        }
        if looksNumeric {
            guard let value = CSVNumber.parse(bytes, start, end) else { return nil }
            if value > 1e14 { return value / 1_000_000 }
            if value > 1e11 { return value / 1000 }
            return value
        }
        return parseISO(bytes, start, end)
    }

    private static func parseISO(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var i = start
        func number(digits: Int) -> Int? {
            guard end - i >= digits else { return nil }
            var value = 0
            for _ in 0..<digits {
                guard CSVByte.isDigit(bytes[i]) else { return nil }
                value = value * 10 + Int(bytes[i] - CSVByte.zero)
                i += 1
            }
            return value
        }
        func take(_ byte: UInt8) -> Bool {
            guard i < end, bytes[i] == byte else { return false }
            i += 1
            return true
        }

        guard let year = number(digits: 4), take(CSVByte.minus),
              let month = number(digits: 2), take(CSVByte.minus),
              let day = number(digits: 2),
              (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year: year, month: month)
        else { return nil }
        var seconds = Double(CivilDate.days(year: year, month: month, day: day) * 86_400)

        let separator = i < end ? bytes[i] | 0x20 : 0  // lowercased
        if (separator == UInt8(ascii: "t") || separator == CSVByte.space), i + 1 < end, CSVByte.isDigit(bytes[i + 1]) {
            i += 1
            guard let hour = number(digits: 2), take(CSVByte.colon), let minute = number(digits: 2),
                  hour <= 23, minute <= 59 else { return nil }
            var second = 0.0
            if take(CSVByte.colon) {
                guard let whole = number(digits: 2), whole <= 59 else { return nil }
                second = Double(whole)
                if i < end, bytes[i] == CSVByte.dot || bytes[i] == CSVByte.comma {
                    i += 1
                    var scale = 0.1
                    guard i < end, CSVByte.isDigit(bytes[i]) else { return nil }
                    while i < end, CSVByte.isDigit(bytes[i]) {
                        second += Double(bytes[i] - CSVByte.zero) * scale
                        scale /= 10
                        i += 1
                    }
                }
            }
            seconds += Double(hour * 3600 + minute * 60) + second
        }

        while i < end, CSVByte.isBlank(bytes[i]) { i += 1 }
        guard i < end else { return seconds }
        let first = bytes[i] | 0x20
        if first == UInt8(ascii: "z") {
            i += 1
        } else if end - i == 3, matchesLowercased(bytes, i, "utc") || matchesLowercased(bytes, i, "gmt") {
            i += 3
        } else if bytes[i] == CSVByte.plus || bytes[i] == CSVByte.minus {
            let sign = bytes[i] == CSVByte.minus ? -1.0 : 1.0
            i += 1
            guard let hours = number(digits: 2), hours <= 23 else { return nil }
            var minutes = 0
            if i < end {
                _ = take(CSVByte.colon)
                guard let written = number(digits: 2), written <= 59 else { return nil }
                minutes = written
            }
            // A time written at +02:00 happened two hours before the same wall time in UTC.
            seconds -= sign * Double(hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        return i == end ? seconds : nil
    }

    private static func matchesLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count else { return false }
        let pointer = word.utf8Start
        for k in 0..<count where bytes[at + k] | 0x20 != pointer[k] { return false }
        return true
    }
}

/// Times typed by people: ISO-8601 (`2026-11-20`, `2026-11-20T10:00`, `…Z`, offsets) or epoch seconds/ms.
public enum TimeText {
    /// Seconds since 1970, or nil when `text` is not a time the CSV importer would accept (within `Bounded.time`).
    public static func parse(_ text: String) -> TimeInterval? {
        Bounded.time.parse(text)
    }

    /// The time `text` writes, before any bound.
    static func unbounded(_ text: String) -> TimeInterval? {
        var text = text
        return text.withUTF8 { CSVTime.parse($0, 0, $0.count) }
    }
}
