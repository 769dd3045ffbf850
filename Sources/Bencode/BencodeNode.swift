/// A decoded value that remembers where it stands in the input.
///
/// The info-hash must be the SHA-1 of the `info` dictionary's bytes exactly
/// as they appear in the file (a re-encoding differs whenever the file is
/// not canonical), so the decoder keeps every value's byte range.
public struct BencodeNode: Sendable {
    public enum Content: Sendable {
        case integer(Int64)
        case bytes([UInt8])
        case list([BencodeNode])
        /// Entries in input order.
        case dictionary([Entry])
    }

    public struct Entry: Sendable {
        public let key: [UInt8]
        public let value: BencodeNode
    }

    /// Byte range of this value in the decoded input, delimiters included.
    public let range: Range<Int>
    public let content: Content

    public init(range: Range<Int>, content: Content) {
        self.range = range
        self.content = content
    }

    /// The value without positions.
    public var value: Bencode {
        switch content {
        case .integer(let value): return .integer(value)
        case .bytes(let bytes): return .bytes(bytes)
        case .list(let nodes): return .list(nodes.map(\.value))
        case .dictionary(let entries):
            var dictionary: [[UInt8]: Bencode] = [:]
            dictionary.reserveCapacity(entries.count)
            for entry in entries { dictionary[entry.key] = entry.value.value }
            return .dictionary(dictionary)
        }
    }

    /// The entry for `key` when this node is a dictionary.
    public subscript(key: String) -> BencodeNode? {
        guard case .dictionary(let entries) = content else { return nil }
        let wanted = Array(key.utf8)
        return entries.first(where: { $0.key == wanted })?.value
    }
}
