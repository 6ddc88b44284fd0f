import Foundation
import MarketData
import Testing
@testable import SessionStore

/// SQLite's integrity report holds many problems on many lines: the error names the first and counts the rest.
@Suite("Session files: integrity reports")
struct IntegrityReportTests {
    @Test func aReportBecomesOneLine() {
        let report = ["*** in database main ***\nOn tree page 4 cell 15: Offset 65535 out of range\nOn tree page 4 cell 14: x\n\u{1B}[2Jrow 3 missing"]
        let error = SessionReader.integrityError(report, path: "/s/x.lgc")
        #expect(error == .integrity(path: "/s/x.lgc", first: "On tree page 4 cell 15: Offset 65535 out of range", others: 2, atLeast: false))
        #expect(error.description == "'/s/x.lgc' is truncated or damaged (integrity check: On tree page 4 cell 15: Offset 65535 out of range; and 2 other problems)")

        let one = SessionReader.integrityError(["row 1 missing from index i\u{1B}[31m"], path: "p")
        #expect(one.description == #"'p' is truncated or damaged (integrity check: row 1 missing from index i\u{1B}[31m)"#)

        let many = SessionReader.integrityError((1...100).map { "row \($0) missing from index i" }, path: "p")
        #expect(many.description == "'p' is truncated or damaged (integrity check: row 1 missing from index i; and 99 or more other problems)")
        #expect(SessionReader.integrityError([], path: "p").description == "'p' is truncated or damaged (integrity check: no answer)")
    }

    @Test func aDamagedPageIsReportedOnOneLine() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        let copy = directory + "/copy.lgc"
        try database.save(to: copy, overwrite: false, savedAt: 1_790_000_000)
        database.close()

        // Misstate the fragmented free bytes of every data leaf page: SQLite reads such pages normally, and only its
        // integrity check notices — once per page, so the report has many lines. (Damaging cell pointers instead
        // made SQLite stop with "malformed" before reporting, depending on which page held what.)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: copy))
        let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        var damaged = 0
        for page in 1..<(bytes.count / pageSize) {
            let start = page * pageSize
            guard bytes[start] == 0x0D, bytes[start + 7] < 200 else { continue }
            bytes[start + 7] += 3
            damaged += 1
        }
        try #require(damaged >= 4)
        try bytes.write(to: URL(fileURLWithPath: copy))

        let error = thrownError { _ = try SessionDatabase.readValidated(path: copy) }
        guard case .integrity(copy, let first, let others, _)? = error else {
            Issue.record("expected an integrity error, got \(String(describing: error))")
            return
        }
        // SQLite words the misstated count by what the page holds: free space corruption, or a count it disputes.
        #expect(first.hasSuffix(": free space corruption") || first.hasPrefix("Fragmentation of "), "\(first)")
        #expect(others >= 3)
        let line = try #require(error?.description)
        #expect(!line.unicodeScalars.contains { SafeText.needsEscape($0) }, "\(line.debugDescription)")
        #expect(line.hasSuffix("other problems)"))
    }
}
