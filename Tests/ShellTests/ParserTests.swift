import FeedbackLoop
import Foundation
@testable import Shell
import Testing

@Suite struct LineParsing {
    @Test(arguments: [
        ("train tier1", ["train", "tier1"]),
        ("  fetch   demo  30 ", ["fetch", "demo", "30"]),
        ("import \"my prices.csv\" --symbol BTC", ["import", "my prices.csv", "--symbol", "BTC"]),
        ("import 'it''s.csv'", ["import", "its.csv"]),
        ("import my\\ file.csv", ["import", "my file.csv"]),
        ("set format json # switch to JSON", ["set", "format", "json"]),
        ("# only a comment", []),
        ("", []),
        ("log BUY#not-a-comment", ["log", "BUY#not-a-comment"]),
        ("import \"a\\\"b.csv\"", ["import", "a\"b.csv"]),
    ])
    func words(line: String, expected: [String]) throws {
        #expect(try LineParser.parse(line).words == expected)
    }

    @Test func unterminatedQuote() {
        #expect(throws: ParseError.unterminatedQuote("\"")) { try LineParser.parse("import \"open.csv") }
    }

    @Test func verbIsCaseInsensitive() throws {
        #expect(try LineParser.parse("TRAIN tier1").verb == "train")
    }

    @Test func splitsCommandsOnSemicolonsOutsideQuotes() {
        #expect(LineParser.splitCommands("fetch demo; train tier1;predict") == ["fetch demo", " train tier1", "predict"])
        #expect(LineParser.splitCommands("import \"a;b.csv\"; data") == ["import \"a;b.csv\"", " data"])
    }
}

@Suite struct ArgumentBinding {
    @Test func flagsAndPositionals() throws {
        let args = try Commands.fetch.bind(["bitcoin", "30", "--source", "CoinGecko"])
        #expect(args.positionals == ["bitcoin", "30"])
        // The words as typed; the typed values read by the kinds (a choice lowercased, DAYS a number).
        #expect(args.option("source") == "CoinGecko")
        #expect(args.value(of: Commands.FetchRequest.source) == "coingecko")
        #expect(args.value(of: Commands.FetchRequest.days) == 30)
        let inline = try Commands.fetch.bind(["--source=demo"])
        #expect(inline.value(of: Commands.FetchRequest.source) == "demo")
    }

    @Test func exactUsageErrors() {
        func message(_ command: CommandSpec, _ words: [String]) -> String {
            do {
                _ = try command.bind(words[...])
                return "no error"
            } catch {
                return String(describing: error)
            }
        }
        #expect(message(Commands.train, []) == "train: missing argument — usage: train tier1|tier2|tier3 ?--asset NAME|all?")
        #expect(message(Commands.train, ["tier1", "tier2"]) == "train: too many arguments ('tier2' is extra) — usage: train tier1|tier2|tier3 ?--asset NAME|all?")
        #expect(message(Commands.status, ["now"]) == "status: takes no arguments — usage: status ?--asset NAME|all?")
        #expect(message(Commands.fetch, ["--sauce", "demo"]) == "fetch: unknown option '--sauce' — did you mean '--source'? — usage: fetch ?COIN? ?SYMBOL…? ?DAYS? ?--source coingecko|demo? ?--seed N? ?--end TIME? ?--interval 1m|5m|15m|1h|4h|1d?")
        #expect(message(Commands.fetch, ["--source", "yahoo"]) == "fetch: invalid --source 'yahoo': expected 'coingecko' or 'demo' — usage: fetch ?COIN? ?SYMBOL…? ?DAYS? ?--source coingecko|demo? ?--seed N? ?--end TIME? ?--interval 1m|5m|15m|1h|4h|1d?")
        #expect(message(Commands.fetch, ["--source"]) == "fetch: option '--source' needs a value (SOURCE) — usage: fetch ?COIN? ?SYMBOL…? ?DAYS? ?--source coingecko|demo? ?--seed N? ?--end TIME? ?--interval 1m|5m|15m|1h|4h|1d?")
    }

    @Test func everyCommandHasHelpAndAUniqueName() {
        let names = Commands.names
        #expect(Set(names).count == names.count)
        for command in Commands.all {
            #expect(!command.abstract.isEmpty && !command.examples.isEmpty, "\(command.name)")
            #expect(command.synopsis.hasPrefix(command.name), "\(command.name)")
        }
    }

    @Test func tierNames() throws {
        #expect(try Tier.parse("tier1").number == 1)
        #expect(try Tier.parse("TIER3").number == 3)
        #expect(try Tier.parse("2").number == 2)
        #expect(throws: LoopError.unknownTier("tier4")) { try Tier.parse("tier4") }
    }

    @Test func didYouMean() {
        #expect(Suggest.closest(to: "trian", in: Commands.names) == "train")
        #expect(Suggest.closest(to: "stauts", in: Commands.names) == "status")
        #expect(Suggest.closest(to: "xyzzy", in: Commands.names) == nil)
    }
}

@Suite struct JSONEncoding {
    @Test func stableCompactOutput() {
        let value = JSON.object([("command", .string("perf")), ("ok", .bool(true)), ("accuracy", .number(nil)),
                                 ("n", .int(3)), ("x", .double(0.55)), ("one", .double(1)),
                                 ("s", .string("a\"b\n")), ("list", .array([.int(1), .null]))])
        #expect(value.serialized() == #"{"command":"perf","ok":true,"accuracy":null,"n":3,"x":0.55,"one":1.0,"s":"a\"b\n","list":[1,null]}"#)
        #expect(JSON.number(.nan).serialized() == "null")
    }
}
