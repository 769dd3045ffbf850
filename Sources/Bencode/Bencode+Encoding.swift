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
            output.append(UInt8(ascii: "i"))
            output.append(contentsOf: String(value).utf8)
            output.append(UInt8(ascii: "e"))
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

    private static func encodeByteString(_ bytes: [UInt8], into output: inout [UInt8]) {
        output.append(contentsOf: String(bytes.count).utf8)
        output.append(UInt8(ascii: ":"))
        output.append(contentsOf: bytes)
    }
}
