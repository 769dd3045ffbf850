extension Bencode {
    /// The canonical encoding: dictionary keys sorted as raw bytes, as BEP 3
    /// requires, so equal values always give equal bytes (and equal hashes).
    public func encoded() -> [UInt8] {
        var output: [UInt8] = []
        encode(into: &output)
        return output
    }

    public func encode(into output: inout [UInt8]) {
        switch self {
        case .integer(let value):
            Bencode.encodeInteger(value, into: &output)
        case .bytes(let bytes):
            Bencode.encodeByteString(bytes, into: &output)
        case .list(let elements):
            output.append(UInt8(ascii: "l"))
            for element in elements { element.encode(into: &output) }
            output.append(UInt8(ascii: "e"))
        case .dictionary(let dictionary):
            output.append(UInt8(ascii: "d"))
            for key in dictionary.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                Bencode.encodeByteString(key, into: &output)
                dictionary[key]!.encode(into: &output)
            }
            output.append(UInt8(ascii: "e"))
        }
    }

    /// The pieces of the encoding, for encoders that write a known shape
    /// straight into bytes (the tracker's announce reply) rather than
    /// building a `Bencode` value first.
    public static func encodeInteger(_ value: Int64, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "i"))
        output.append(contentsOf: String(value).utf8)
        output.append(UInt8(ascii: "e"))
    }

    public static func encodeByteString(_ bytes: some Collection<UInt8>, into output: inout [UInt8]) {
        encodeByteStringLength(bytes.count, into: &output)
        output.append(contentsOf: bytes)
    }

    /// A byte string's length and colon; its `count` bytes are the caller's
    /// to append.
    public static func encodeByteStringLength(_ count: Int, into output: inout [UInt8]) {
        output.append(contentsOf: String(count).utf8)
        output.append(UInt8(ascii: ":"))
    }
}
