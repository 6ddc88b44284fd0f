import Foundation

/// A UBJSON document as libxgboost 1.7 writes it, decoded into values that tests can change and encode again
/// byte for byte the way the library would (so a crafted model differs from a real one only where a test says).
indirect enum UBJ: Equatable {
    case object([Member])
    /// A counted array of values (`[#L n …`).
    case array([UBJ])
    case string(String)
    /// An integer; written in the smallest signed form (`i`, `I`, `l`, `L`) as libxgboost does.
    case int(Int64)
    case floats([Float])
    case int32s([Int32])
    case int64s([Int64])
    case bytes([UInt8])

    struct Member: Equatable {
        var key: String
        var value: UBJ
    }

    struct DecodeError: Error, Equatable { let offset: Int }

    // MARK: Access

    subscript(key: String) -> UBJ {
        get {
            guard case .object(let members) = self, let member = members.first(where: { $0.key == key }) else {
                fatalError("no key \(key)")
            }
            return member.value
        }
        set {
            guard case .object(var members) = self else { fatalError("not an object") }
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].value = newValue
            } else {
                members.append(Member(key: key, value: newValue))
            }
            self = .object(members)
        }
    }

    subscript(index: Int) -> UBJ {
        get {
            guard case .array(let items) = self else { fatalError("not an array") }
            return items[index]
        }
        set {
            guard case .array(var items) = self else { fatalError("not an array") }
            items[index] = newValue
            self = .array(items)
        }
    }

    var items: [UBJ] {
        get { if case .array(let items) = self { return items }; fatalError("not an array") }
        set { self = .array(newValue) }
    }

    var int32Values: [Int32] {
        get { if case .int32s(let values) = self { return values }; fatalError("not int32s") }
        set { self = .int32s(newValue) }
    }

    var floatValues: [Float] {
        get { if case .floats(let values) = self { return values }; fatalError("not floats") }
        set { self = .floats(newValue) }
    }

    var byteValues: [UInt8] {
        get { if case .bytes(let values) = self { return values }; fatalError("not bytes") }
        set { self = .bytes(newValue) }
    }

    mutating func removeKey(_ key: String) {
        guard case .object(let members) = self else { fatalError("not an object") }
        self = .object(members.filter { $0.key != key })
    }

    // MARK: Decoding

    static func decode(_ data: Data) throws -> UBJ {
        var reader = Reader(bytes: [UInt8](data))
        let value = try reader.value()
        guard reader.offset == reader.bytes.count else { throw DecodeError(offset: reader.offset) }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw DecodeError(offset: offset) }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func bigEndian(_ size: Int) throws -> UInt64 {
            var value: UInt64 = 0
            for _ in 0..<size { value = value << 8 | UInt64(try byte()) }
            return value
        }

        mutating func integer(marker: UInt8) throws -> Int64 {
            switch marker {
            case UInt8(ascii: "i"): return Int64(Int8(truncatingIfNeeded: try bigEndian(1)))
            case UInt8(ascii: "U"): return Int64(try bigEndian(1))
            case UInt8(ascii: "I"): return Int64(Int16(truncatingIfNeeded: try bigEndian(2)))
            case UInt8(ascii: "l"): return Int64(Int32(truncatingIfNeeded: try bigEndian(4)))
            case UInt8(ascii: "L"): return Int64(bitPattern: try bigEndian(8))
            default: throw DecodeError(offset: offset - 1)
            }
        }

        mutating func length() throws -> Int {
            let value = try integer(marker: try byte())
            guard value >= 0, value <= bytes.count - offset else { throw DecodeError(offset: offset) }
            return Int(value)
        }

        mutating func text() throws -> String {
            let count = try length()
            defer { offset += count }
            return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
        }

        mutating func value() throws -> UBJ {
            let marker = try byte()
            switch marker {
            case UInt8(ascii: "{"):
                var members: [Member] = []
                while offset < bytes.count, bytes[offset] != UInt8(ascii: "}") {
                    let key = try text()
                    members.append(Member(key: key, value: try value()))
                }
                _ = try byte()
                return .object(members)
            case UInt8(ascii: "["):
                let next = try byte()
                if next == UInt8(ascii: "#") {
                    let count = try length()
                    return .array(try (0..<count).map { _ in try value() })
                }
                guard next == UInt8(ascii: "$") else { throw DecodeError(offset: offset - 1) }
                let element = try byte()
                guard try byte() == UInt8(ascii: "#") else { throw DecodeError(offset: offset - 1) }
                let count = try length()
                switch element {
                case UInt8(ascii: "d"): return .floats(try (0..<count).map { _ in Float(bitPattern: UInt32(try bigEndian(4))) })
                case UInt8(ascii: "l"): return .int32s(try (0..<count).map { _ in Int32(truncatingIfNeeded: try bigEndian(4)) })
                case UInt8(ascii: "L"): return .int64s(try (0..<count).map { _ in Int64(bitPattern: try bigEndian(8)) })
                case UInt8(ascii: "U"): return .bytes(try (0..<count).map { _ in UInt8(try bigEndian(1)) })
                default: throw DecodeError(offset: offset)
                }
            case UInt8(ascii: "S"):
                return .string(try text())
            default:
                return .int(try integer(marker: marker))
            }
        }
    }

    // MARK: Encoding

    func encoded() -> Data {
        var out: [UInt8] = []
        encode(into: &out)
        return Data(out)
    }

    private static func bigEndian(_ value: UInt64, size: Int, into out: inout [UInt8]) {
        for shift in stride(from: (size - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func length(_ count: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "L"))
        bigEndian(UInt64(count), size: 8, into: &out)
    }

    private static func text(_ text: String, into out: inout [UInt8]) {
        length(text.utf8.count, into: &out)
        out += Array(text.utf8)
    }

    private static func typedHeader(_ marker: Character, count: Int, into out: inout [UInt8]) {
        out += [UInt8(ascii: "["), UInt8(ascii: "$"), marker.asciiValue!, UInt8(ascii: "#")]
        length(count, into: &out)
    }

    private func encode(into out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for member in members {
                Self.text(member.key, into: &out)
                member.value.encode(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out += [UInt8(ascii: "["), UInt8(ascii: "#")]
            Self.length(items.count, into: &out)
            for item in items { item.encode(into: &out) }
        case .string(let string):
            out.append(UInt8(ascii: "S"))
            Self.text(string, into: &out)
        case .int(let value):
            if let small = Int8(exactly: value) {
                out.append(UInt8(ascii: "i")); Self.bigEndian(UInt64(UInt8(bitPattern: small)), size: 1, into: &out)
            } else if let medium = Int16(exactly: value) {
                out.append(UInt8(ascii: "I")); Self.bigEndian(UInt64(UInt16(bitPattern: medium)), size: 2, into: &out)
            } else if let large = Int32(exactly: value) {
                out.append(UInt8(ascii: "l")); Self.bigEndian(UInt64(UInt32(bitPattern: large)), size: 4, into: &out)
            } else {
                out.append(UInt8(ascii: "L")); Self.bigEndian(UInt64(bitPattern: value), size: 8, into: &out)
            }
        case .floats(let values):
            Self.typedHeader("d", count: values.count, into: &out)
            for value in values { Self.bigEndian(UInt64(value.bitPattern), size: 4, into: &out) }
        case .int32s(let values):
            Self.typedHeader("l", count: values.count, into: &out)
            for value in values { Self.bigEndian(UInt64(UInt32(bitPattern: value)), size: 4, into: &out) }
        case .int64s(let values):
            Self.typedHeader("L", count: values.count, into: &out)
            for value in values { Self.bigEndian(UInt64(bitPattern: value), size: 8, into: &out) }
        case .bytes(let values):
            Self.typedHeader("U", count: values.count, into: &out)
            out += values
        }
    }
}
