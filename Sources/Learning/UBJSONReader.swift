import Foundation

/// A forward-only reader of UBJSON as libxgboost 1.7 writes it (big-endian numbers, `L`-sized strings and keys,
/// counted arrays `[#`, typed arrays `[$T#`). It reads only the forms that writer produces and bounds every count
/// by the bytes left, so no size in the data can make it allocate or loop beyond the data's own length.
///
/// Only valid inside the `withUnsafeBytes` call that produced its buffer.
struct UBJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }
    var atEnd: Bool { offset == bytes.count }

    /// One marker byte (`{`, `[`, `S`, `i` …).
    mutating func marker() throws(XGBoostModelError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next byte, not consumed.
    func peek() throws(XGBoostModelError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset) }
        return bytes[offset]
    }

    /// Consumes `expected` or throws, naming what should have been there.
    mutating func expect(_ expected: UInt8, _ path: @autoclosure () -> String) throws(XGBoostModelError) {
        let at = offset
        let found = try marker()
        guard found == expected else { throw .unexpectedByte(path: path(), offset: at, found: found, expected: expected) }
    }

    /// A big-endian integer of `size` bytes (1, 2, 4, 8), as written after an integer marker.
    private mutating func bigEndian(_ size: Int) throws(XGBoostModelError) -> UInt64 {
        guard remaining >= size else { throw .truncated(offset: offset) }
        var value: UInt64 = 0
        for index in 0..<size { value = value << 8 | UInt64(bytes[offset + index]) }
        offset += size
        return value
    }

    /// An integer value: a marker `i`, `U`, `I`, `l` or `L` and its bytes.
    mutating func integer(_ path: @autoclosure () -> String) throws(XGBoostModelError) -> Int64 {
        let at = offset
        switch try marker() {
        case UInt8(ascii: "i"): return Int64(Int8(truncatingIfNeeded: try bigEndian(1)))
        case UInt8(ascii: "U"): return Int64(try bigEndian(1))
        case UInt8(ascii: "I"): return Int64(Int16(truncatingIfNeeded: try bigEndian(2)))
        case UInt8(ascii: "l"): return Int64(Int32(truncatingIfNeeded: try bigEndian(4)))
        case UInt8(ascii: "L"): return Int64(bitPattern: try bigEndian(8))
        case let found: throw .unexpectedByte(path: path(), offset: at, found: found, expected: UInt8(ascii: "l"))
        }
    }

    /// A length (of a string, key or array): an integer between 0 and `limit`, and never more than `perItem`-byte
    /// items could fill in the bytes left.
    mutating func length(_ path: @autoclosure () -> String, perItem: Int = 1) throws(XGBoostModelError) -> Int {
        let at = offset
        let value = try integer(path())
        guard value >= 0, value <= Int64(remaining / max(perItem, 1)) else {
            throw .countBeyondData(path: path(), offset: at, count: value, remaining: remaining)
        }
        return Int(value)
    }

    /// The bytes of a key or string body: a length, then that many bytes.
    mutating func lengthPrefixed(_ path: @autoclosure () -> String) throws(XGBoostModelError) -> UnsafeRawBufferPointer {
        let count = try length(path())
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// An object key (UBJSON keys carry no `S` marker).
    mutating func key(_ path: @autoclosure () -> String) throws(XGBoostModelError) -> UnsafeRawBufferPointer {
        try lengthPrefixed(path())
    }

    /// A string value (`S`, length, UTF-8 bytes); invalid UTF-8 is refused.
    mutating func string(_ path: @autoclosure () -> String) throws(XGBoostModelError) -> String {
        try expect(UInt8(ascii: "S"), path())
        let at = offset
        let body = try lengthPrefixed(path())
        guard let text = String(validating: body, as: UTF8.self) else { throw .invalidText(path: path(), offset: at) }
        return text
    }

    /// The start of an array that libxgboost writes with a count but untyped items: `[#` and the count. Each item
    /// takes at least `minimumItemBytes`, which bounds the count by the data.
    mutating func countedArray(_ path: @autoclosure () -> String, minimumItemBytes: Int) throws(XGBoostModelError) -> Int {
        try expect(UInt8(ascii: "["), path())
        try expect(UInt8(ascii: "#"), path())
        return try length(path(), perItem: minimumItemBytes)
    }

    /// A typed array `[$T#count` of fixed-size elements, skipped over; its elements are read through the result.
    mutating func typedArray(_ element: TypedElement, _ path: @autoclosure () -> String) throws(XGBoostModelError) -> TypedArray {
        try expect(UInt8(ascii: "["), path())
        try expect(UInt8(ascii: "$"), path())
        try expect(element.marker, path())
        try expect(UInt8(ascii: "#"), path())
        let count = try length(path(), perItem: element.size)
        let array = TypedArray(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count * element.size)]),
                               count: count)
        offset += count * element.size
        return array
    }

    /// The element types of libxgboost's typed arrays.
    enum TypedElement {
        case float32, int32, int64, uint8

        var marker: UInt8 {
            switch self {
            case .float32: return UInt8(ascii: "d")
            case .int32: return UInt8(ascii: "l")
            case .int64: return UInt8(ascii: "L")
            case .uint8: return UInt8(ascii: "U")
            }
        }

        var size: Int {
            switch self {
            case .float32, .int32: return 4
            case .int64: return 8
            case .uint8: return 1
            }
        }
    }

    /// A view of a typed array's big-endian elements inside the reader's buffer.
    struct TypedArray {
        let bytes: UnsafeRawBufferPointer
        let count: Int

        @inline(__always)
        private func word(_ index: Int) -> UInt32 {
            let at = index * 4
            return UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
        }

        @inline(__always) func int32(_ index: Int) -> Int32 { Int32(bitPattern: word(index)) }
        @inline(__always) func float32(_ index: Int) -> Float { Float(bitPattern: word(index)) }
        @inline(__always) func uint8(_ index: Int) -> UInt8 { bytes[index] }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes spell `text` (an ASCII key).
    @inline(__always)
    func spells(_ text: StaticString) -> Bool {
        guard count == text.utf8CodeUnitCount else { return false }
        guard count > 0, let start = baseAddress else { return count == 0 }
        return memcmp(start, text.utf8Start, count) == 0
    }
}
