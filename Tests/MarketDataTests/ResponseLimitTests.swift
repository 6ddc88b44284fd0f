import Foundation
import Testing
@testable import MarketData

/// Minimal gzip writer for tests (fixed-Huffman deflate): real gzip answers and gzip bombs without zlib.
enum Gzip {
    /// `data` as a gzip member of literal codes only (no compression, any bytes).
    static func literals(_ data: Data) -> Data {
        var bits = BitWriter()
        bits.write(1, count: 1)   // BFINAL
        bits.write(1, count: 2)   // BTYPE 01: fixed Huffman codes
        for byte in data { bits.literal(Int(byte)) }
        bits.literal(256)          // end of block
        return member(bits.finished, crc: CRC32.of(data), size: data.count)
    }

    /// `count` zero bytes (count ≥ 1) as a gzip member of about count / 159 bytes: one literal, then
    /// copies of 258 bytes from distance 1 — a gzip bomb.
    static func zeros(_ count: Int) -> Data {
        var bits = BitWriter()
        bits.write(1, count: 1)
        bits.write(1, count: 2)
        bits.literal(0)
        let copies = (count - 1) / 258
        for _ in 0..<copies {
            bits.literal(285)          // length 258, no extra bits
            bits.code(0, length: 5)    // distance code 0: distance 1
        }
        for _ in 0..<((count - 1) % 258) { bits.literal(0) }
        bits.literal(256)
        return member(bits.finished, crc: CRC32.zeros(count), size: count)
    }

    private static func member(_ deflate: [UInt8], crc: UInt32, size: Int) -> Data {
        var out = Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF])
        out.append(contentsOf: deflate)
        for value in [crc, UInt32(truncatingIfNeeded: size)] {
            out.append(contentsOf: (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
        }
        return out
    }

    private struct BitWriter {
        var bytes: [UInt8] = []
        private var buffer: UInt64 = 0
        private var filled = 0

        /// `count` bits of `value`, least significant first (header fields, extra bits).
        mutating func write(_ value: Int, count: Int) {
            buffer |= UInt64(value) << filled
            filled += count
            while filled >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                filled -= 8
            }
        }

        /// A Huffman code, most significant bit first.
        mutating func code(_ code: Int, length: Int) {
            var reversed = 0
            for bit in 0..<length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
            write(reversed, count: length)
        }

        /// A literal/length symbol with RFC 1951's fixed codes.
        mutating func literal(_ symbol: Int) {
            switch symbol {
            case 0...143: code(0x30 + symbol, length: 8)
            case 144...255: code(0x190 + symbol - 144, length: 9)
            case 256...279: code(symbol - 256, length: 7)
            default: code(0xC0 + symbol - 280, length: 8)
            }
        }

        var finished: [UInt8] { filled > 0 ? bytes + [UInt8(truncatingIfNeeded: buffer)] : bytes }
    }
}

/// CRC-32 (IEEE), as gzip's trailer carries it.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func of(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    static func zeros(_ count: Int) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for _ in 0..<count { crc = table[Int(crc & 0xFF)] ^ (crc >> 8) }
        }
        return ~crc
    }
}

private let chart = Data("""
{"prices": [[1704067200000, 42000.5], [1704070800000, 42100.25], [1704074400000, 41950]],
 "total_volumes": [[1704067200000, 1.5e10], [1704070800000, 1.6e10], [1704074400000, 1.4e10]]}
""".utf8)

private func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

@Suite("CoinGecko answers: size caps and error bodies")
struct ResponseLimitTests {
    private func client(_ server: LoopbackHTTPServer, maxBodyBytes: Int = CoinGeckoClient.defaultMaxBodyBytes) -> CoinGeckoClient {
        CoinGeckoClient(baseURL: server.baseURL, timeout: 20, retryDelays: [0.005], maxBodyBytes: maxBodyBytes)
    }

    @Test func gzipHelperRoundTripsThroughTheCRC() {
        // The check value of CRC-32/ISO-HDLC.
        #expect(CRC32.of(Data("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.zeros(5) == CRC32.of(Data(count: 5)))
        #expect(Gzip.zeros(1 + 258 * 1000).count < 1_700)
    }

    @Test func aGzipAnswerStillWorks() throws {
        let server = try LoopbackHTTPServer(script: [
            .respond(status: 200, headers: ["Content-Encoding": "gzip"], body: Gzip.literals(chart)),
        ])
        defer { server.stop() }
        let series = try client(server).fetch(coin: "bitcoin", days: 1)
        #expect(series.count == 3)
        #expect(series.last == Bar(time: 1_704_074_400, price: 41950, volume: 1.4e10))
    }

    @Test func anAnswerAtTheCapIsTaken() throws {
        let server = try LoopbackHTTPServer(script: [.stream(status: 200, body: chart)])
        defer { server.stop() }
        #expect(try client(server, maxBodyBytes: chart.count).fetch(coin: "bitcoin", days: 1).count == 3)
    }

    /// 50 MB with its Content-Length: refused from the header, before the body is read, and not retried.
    @Test func aBodyOverTheCapIsRefusedFromItsLength() throws {
        let body = Data(repeating: 0x20, count: 50_000_000)
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, body: body), .respond(status: 200, body: chart)])
        defer { server.stop() }
        var error: MarketDataError?
        let elapsed = seconds { error = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 1) } }
        #expect(error == .responseTooLarge(limit: 32 << 20))
        #expect(error?.description == "CoinGecko's answer is larger than 32 MiB and was refused")
        #expect(elapsed < 5, "took \(elapsed) s")
        #expect(server.requests.count == 1, "a body too large is not fetched again")
        #expect(server.bodyBytesSent < 32 << 20, "the client read \(server.bodyBytesSent) bytes of a body it refused")
    }

    /// 64 MiB without a length: reading stops once 32 MiB have come, long before the end.
    @Test func aStreamedBodyIsCutAtTheCap() throws {
        let body = Data(repeating: 0x20, count: 64 << 20)
        let server = try LoopbackHTTPServer(script: [.stream(status: 200, body: body)])
        defer { server.stop() }
        var error: MarketDataError?
        let elapsed = seconds { error = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 1) } }
        #expect(error == .responseTooLarge(limit: 32 << 20))
        #expect(elapsed < 15, "took \(elapsed) s")
        #expect(server.bodyBytesSent < 48 << 20, "the client read \(server.bodyBytesSent) bytes of \(body.count)")
    }

    /// 16 MiB of zeros in 100 kB of gzip: the decoded size is capped too.
    @Test func aGzipBombIsRefused() throws {
        let bomb = Gzip.zeros(16 << 20)
        #expect(bomb.count < 120_000)
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, headers: ["Content-Encoding": "gzip"], body: bomb)])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server, maxBodyBytes: 1 << 20).fetch(coin: "bitcoin", days: 1) }
        #expect(error == .responseTooLarge(limit: 1 << 20))
        #expect(error?.description.hasPrefix("CoinGecko's answer is larger than 1 MiB and was refused") == true)
    }

    @Test func anErrorBodyIsShownEscapedOnOneLine() throws {
        let server = try LoopbackHTTPServer(script: [
            .respond(status: 400, headers: ["Content-Type": "text/plain"], body: Data("bad\nrequest\r\u{1B}[2J\u{1B}[31mred\u{7F}".utf8)),
            .respond(status: 403, body: Data(#"{"error": "no\nkey\u001b]0;pwned\u0007"}"#.utf8)),
            .respond(status: 400, headers: ["Content-Type": "text/plain"], body: Data((String(repeating: "x\n", count: 600)).utf8)),
        ])
        defer { server.stop() }
        let plain = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 1) }
        #expect(plain == .http(status: 400, body: #"bad\nrequest\r\u{1B}[2J\u{1B}[31mred\u{7F}"#))
        #expect(plain?.description == #"CoinGecko answered HTTP 400: bad\nrequest\r\u{1B}[2J\u{1B}[31mred\u{7F}"#)

        let json = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 1) }
        #expect(json == .http(status: 403, body: #"no\nkey\u{1B}]0;pwned\u{7}"#))

        let long = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 1) }
        guard case .http(400, let text) = long else {
            Issue.record("expected HTTP 400, got \(String(describing: long))")
            return
        }
        #expect(text.count <= CoinGeckoClient.maxErrorTextLength)
        #expect(text.hasSuffix("…"))
        for error in [plain, json, long] {
            let line = error?.description ?? ""
            #expect(!line.unicodeScalars.contains { SafeText.needsEscape($0) }, "\(line.debugDescription)")
        }
    }
}
