import Foundation

/// File-name candidates for a partial path (directories get a trailing `/`).
enum PathCompletion {
    static func candidates(for partial: String) -> [String] {
        let expanded = (partial as NSString).expandingTildeInPath
        let slash = expanded.lastIndex(of: "/")
        let directory = slash.map { String(expanded[...$0]) } ?? ""
        let prefix = slash.map { String(expanded[expanded.index(after: $0)...]) } ?? expanded
        let listed = directory.isEmpty ? "." : directory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: listed) else { return [] }
        // Keep the user's own spelling (e.g. `~/`) in front of what we complete.
        let typedDirectory = partial.lastIndex(of: "/").map { String(partial[...$0]) } ?? ""
        return names.filter { $0.hasPrefix(prefix) && (prefix.hasPrefix(".") || !$0.hasPrefix(".")) }.sorted().map { name in
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: directory + name, isDirectory: &isDirectory)
            return typedDirectory + name + (isDirectory.boolValue ? "/" : "")
        }
    }
}
