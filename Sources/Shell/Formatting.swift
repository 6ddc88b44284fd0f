import Charts
import FeedbackLoop
import Foundation
import MarketData

/// Number and time formatting for human text.
enum Format {
    static func percent(_ value: Double?, decimals: Int = 1) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%.\(decimals)f%%", value * 100)
    }

    static func signedPercent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%+.1f pp", value * 100)
    }

    /// A holdout accuracy, with `!` when it does not beat its baseline (explained by `baselineFootnote`).
    static func holdout(_ record: TrainingRecord) -> String {
        percent(record.accuracy) + (record.beatsBaseline == false ? " !" : "")
    }

    /// A holdout accuracy in a sentence: says so when it does not beat its baseline.
    static func holdoutPhrase(_ record: TrainingRecord) -> String {
        percent(record.accuracy)
            + (record.beatsBaseline == false ? " (not above its baseline \(percent(record.baselineAccuracy)))" : "")
    }

    /// What the `baseline` column means — one rule for every model, the LSTM included — and, when one of `records`
    /// carries it, what `!` marks.
    static func baselineFootnote(_ records: [TrainingRecord]) -> String {
        "baseline: majority class (up / not up) of the training part, scored on the same holdout"
            + (records.contains { $0.beatsBaseline == false } ? "\n! = accuracy not above its baseline" : "")
    }

    static func price(_ value: Double) -> String {
        let decimals = value >= 1000 ? 2 : value >= 1 ? 4 : 6
        let formatted = String(format: "%.\(decimals)f", value)
        guard value >= 1000, let dot = formatted.firstIndex(of: ".") else { return formatted }
        let whole = formatted[..<dot]
        var grouped = ""
        for (index, ch) in whole.reversed().enumerated() {
            if index > 0, index % 3 == 0 { grouped.append(",") }
            grouped.append(ch)
        }
        return String(grouped.reversed()) + formatted[dot...]
    }

    static func seconds(_ value: Double) -> String {
        value < 1 ? String(format: "%.1f ms", value * 1000) : String(format: "%.2f s", value)
    }

    static func fixed(_ value: Double, _ decimals: Int = 3) -> String {
        String(format: "%.\(decimals)f", value)
    }

    static func time(_ value: TimeInterval?) -> String {
        value.map(ISOTime.short) ?? "never"
    }
}

extension ShellContext {
    var chartStyle: ChartStyle { ChartStyle(unicode: terminal.unicode, color: terminal.color && format == .text) }

    func table(_ headers: [String], _ rows: [[String]], right: Set<Int> = []) -> String {
        TextTable.render(headers: headers, rows: rows,
                         alignments: headers.indices.map { right.contains($0) ? .right : .left },
                         style: chartStyle)
    }
}

extension JSON {
    static func time(_ value: TimeInterval?) -> JSON {
        value.map { .string(ISOTime.format($0)) } ?? .null
    }
}
