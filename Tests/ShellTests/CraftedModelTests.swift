import FeedbackLoop
import Foundation
import SessionStore
import Testing

/// A session file is data from anywhere: one whose XGBoost blob is crafted, with a valid SHA-256 so that only the
/// model validation stands between it and libxgboost, is refused with one line by every way of opening it.
@Suite struct CraftedModelSessions {
    let directory: URL
    var environment: [String: String] { ["LGC_SESSIONS": directory.path] }

    init() throws {
        directory = try ShellProcess.temporaryDirectory()
    }

    /// Saves a trained session, then writes `crafted.lgc` (or `path`): the same state with the current XGBoost
    /// blob's root pointing at a child far outside its tree — libxgboost would read out of bounds on `predict`.
    /// Returns the file and the refusal `ModelCodec` gives for that blob.
    func writeCrafted(to path: String? = nil) throws -> (path: String, refusal: ModelCodecError) {
        let setup = try ShellProcess.run(["-q", "-c", "set xgboost.threads 1; fetch demo 20; train tier2; save good"],
                                         environment: environment)
        #expect(setup.status == 0, "\(setup.stderr)")
        var state = try SessionDatabase.readValidated(path: directory.appendingPathComponent("good.lgc").path)
        let version = try #require(state.assets[0].currentVersions[.xgboost])
        let index = try #require(state.assets[0].models.firstIndex { $0.record.model == .xgboost && $0.record.version == version })
        var bytes = [UInt8](state.assets[0].models[index].data)
        let key = try #require(bytes.firstRange(of: Array("left_children[$l#L".utf8)))
        // Big-endian Int32.max over the root's left child (after the 8-byte count).
        bytes.replaceSubrange((key.upperBound + 8)..<(key.upperBound + 12), with: [0x7f, 0xff, 0xff, 0xff])
        state.assets[0].models[index].data = Data(bytes)
        let target = path ?? directory.appendingPathComponent("crafted.lgc").path
        let database = try SessionDatabase.create(at: target, createdAt: 1_790_000_000)
        try database.replaceAll(with: state)
        database.close()
        // The file itself is sound (checksums recomputed): the store passes it on.
        let stored = try SessionDatabase.readValidated(path: target)
        #expect(stored.assets[0].models[index].data == Data(bytes))
        do {
            _ = try ModelCodec.decode(format: state.assets[0].models[index].format, data: Data(bytes), as: .xgboost)
            Issue.record("the crafted blob must be refused")
            return (target, .unknownFormat(""))
        } catch {
            return (target, error)
        }
    }

    @Test func loadRefusesWithOneLineAndKeepsTheCurrentSession() throws {
        let (path, refusal) = try writeCrafted()
        guard case .xgboost(.childOutOfRange(tree: 0, node: 0, child: 2_147_483_647, _)) = refusal else {
            Issue.record("\(refusal)"); return
        }
        let result = try ShellProcess.run(["--keep-going", "-q", "-c", "fetch demo 5; train tier1; load crafted; data; predict"],
                                          environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr == "-c:3: error: '\(path)' is truncated or damaged (\(refusal.description))\n")
        #expect(result.stdout.contains("120 1h bars of DEMO"), "the current session is untouched: \(result.stdout)")
        #expect(result.stdout.contains("logistic"), "and predicts with its own model: \(result.stdout)")
    }

    @Test func startingWithItRefusesInsteadOfCrashing() throws {
        let (path, refusal) = try writeCrafted()
        let result = try ShellProcess.run(["-q", "--session", "crafted", "-c", "predict"], environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr == "lgc-shell: cannot start with session 'crafted': '\(path)' is truncated or damaged (\(refusal.description))\n")
    }

    @Test func recoverRefusesAnOrphanedWorkingFileWithACraftedModel() throws {
        // A working file whose shell is gone (no process has this id) is what `recover` takes over.
        let orphan = directory.appendingPathComponent(".unsaved-2147483646.lgc").path
        let (_, refusal) = try writeCrafted(to: orphan)
        let result = try ShellProcess.run(["--keep-going", "-q", "-c", "fetch demo 5; recover; data"], environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr == "-c:2: error: '\(orphan)' is truncated or damaged (\(refusal.description))\n", "\(result.stderr)")
        #expect(result.stdout.contains("120 1h bars of DEMO"))
    }
}
