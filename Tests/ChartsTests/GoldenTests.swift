import Foundation
import Testing
import Charts

/// Exact-output tests against reviewed files in Golden/ (one file per case in `GoldenCases`).
@Suite struct GoldenTests {
    @Test(arguments: GoldenCases.all.map(\.name))
    func matchesGoldenFile(name: String) throws {
        let output = try #require(GoldenCases.all.first { $0.name == name }).output
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Golden"), "missing Golden/\(name).txt")
        var expected = try String(contentsOf: url, encoding: .utf8)
        // Golden files end with a newline for editors; rendered charts do not.
        if expected.hasSuffix("\n") { expected.removeLast() }
        #expect(output == expected, "output of \(name) differs from Golden/\(name).txt:\n\(output)")
    }

    @Test func everyGoldenFileHasACase() throws {
        let directory = try #require(Bundle.module.url(forResource: "Golden", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".txt") }
            .map { String($0.dropLast(4)) }
        #expect(Set(files) == Set(GoldenCases.all.map(\.name)))
    }
}
