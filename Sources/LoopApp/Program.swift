import Foundation
import MarketData
import SessionStore

/// This program's version: sessions, reports and sweep manifests record it, and a sweep task refuses a manifest
/// written by another (its reports could differ).
public enum Program {
    public static let version = "0.1.0"
}

/// The identity of a series' data: a SHA-256 over every bar's time and prices up to `last`, so two sources that
/// hold the same bars agree and any changed bar shows.
public enum DataFingerprint {
    public static func of(_ series: PriceSeries, through last: Int) -> String {
        var data = Data(capacity: (last + 1) * 40)
        for bar in series.bars[0...last] {
            for value in [bar.time, bar.open, bar.high, bar.low, bar.close] {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
        }
        return SHA256.hex(data)
    }
}

/// Seconds on the monotonic clock since `start`.
public enum Stopwatch {
    public static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = (ContinuousClock.now - start).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
    }
}
