import Metainfo

/// A URL query string decoded to raw bytes.
///
/// `info_hash` and `peer_id` are arbitrary 20-byte values percent-encoded
/// byte by byte; decoding them through a UTF-8 string would corrupt most
/// real hashes, so values stay bytes. Every name and value is decoded into
/// one shared buffer, with ranges into it: a tracker parses a query per
/// announce, and a string and an array per parameter were most of that cost.
public struct QueryParameters: Sendable {
    private var bytes: [UInt8] = []
    private var ranges: [(name: Range<Int>, value: Range<Int>)] = []

    /// Parses `a=1&b=%FF`. Malformed percent escapes are refused; `+` is
    /// kept literally (clients percent-encode every reserved byte).
    public init(parsing query: some Collection<UInt8>) throws(TrackerFailure) {
        bytes.reserveCapacity(query.count)
        ranges.reserveCapacity(12)
        var nameStart = 0
        var valueStart: Int?
        var iterator = query.makeIterator()
        func finish() {
            let end = bytes.count
            if let valueStart {
                ranges.append((nameStart..<valueStart, valueStart..<end))
            } else if end > nameStart {
                ranges.append((nameStart..<end, end..<end))
            }
            nameStart = end
            valueStart = nil
        }
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "&"):
                finish()
            case UInt8(ascii: "=") where valueStart == nil:
                valueStart = bytes.count
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Hex.value(of:)), let low = iterator.next().flatMap(Hex.value(of:)) else {
                    throw TrackerFailure("malformed percent-encoding in query")
                }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        finish()
    }

    public init() {}

    /// The first value of `name` (empty for `name` or `name=`).
    public func first(_ name: String) -> ArraySlice<UInt8>? {
        ranges.first(where: { isNamed(name, $0.name) }).map { bytes[$0.value] }
    }

    public func all(_ name: String) -> [ArraySlice<UInt8>] {
        ranges.filter { isNamed(name, $0.name) }.map { bytes[$0.value] }
    }

    /// Lengths first: most names differ in length, and an announce looks up
    /// a dozen names among a dozen parameters.
    private func isNamed(_ name: String, _ range: Range<Int>) -> Bool {
        range.count == name.utf8.count && bytes[range].elementsEqual(name.utf8)
    }

    public mutating func append(_ name: String, _ value: some Collection<UInt8>) {
        let nameStart = bytes.count
        bytes.append(contentsOf: name.utf8)
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        ranges.append((nameStart..<valueStart, valueStart..<bytes.count))
    }

    public mutating func append(_ name: String, _ value: String) {
        append(name, value.utf8)
    }

    /// Encodes every byte outside RFC 3986's unreserved set.
    public var encoded: String {
        ranges.map { Self.percentEncode(bytes[$0.name]) + "=" + Self.percentEncode(bytes[$0.value]) }.joined(separator: "&")
    }

    public static func percentEncode(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 3)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output.append(UInt8(ascii: "%"))
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

}

/// A request the tracker refuses; the text goes out as `failure reason`.
public struct TrackerFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
