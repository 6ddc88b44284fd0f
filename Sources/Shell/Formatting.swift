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
