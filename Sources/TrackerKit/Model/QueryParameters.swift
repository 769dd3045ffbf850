import Metainfo

/// A URL query string decoded to raw bytes.
///
/// `info_hash` and `peer_id` are arbitrary 20-byte values percent-encoded
/// byte by byte; decoding them through a UTF-8 string would corrupt most
/// real hashes, so values stay `[UInt8]`.
public struct QueryParameters: Sendable {
    public private(set) var pairs: [(name: String, value: [UInt8])] = []

    /// Parses `a=1&b=%FF`. Malformed percent escapes are refused; `+` is
    /// kept literally (clients percent-encode every reserved byte).
    public init(parsing query: some Collection<UInt8>) throws(TrackerFailure) {
        var name: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        var iterator = query.makeIterator()
        func finish(_ pairs: inout [(name: String, value: [UInt8])]) {
            if !name.isEmpty || inValue { pairs.append((String(decoding: name, as: UTF8.self), value)) }
            name.removeAll(keepingCapacity: true)
            value.removeAll(keepingCapacity: true)
            inValue = false
        }
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "&"):
                finish(&pairs)
            case UInt8(ascii: "=") where !inValue:
                inValue = true
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Hex.value(of:)), let low = iterator.next().flatMap(Hex.value(of:)) else {
                    throw TrackerFailure("malformed percent-encoding in query")
                }
                if inValue { value.append(high << 4 | low) } else { name.append(high << 4 | low) }
            default:
                if inValue { value.append(byte) } else { name.append(byte) }
            }
        }
        finish(&pairs)
    }

    public init() {}

    public func first(_ name: String) -> [UInt8]? {
        pairs.first(where: { $0.name == name })?.value
    }

    public func all(_ name: String) -> [[UInt8]] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    public mutating func append(_ name: String, _ value: [UInt8]) {
        pairs.append((name, value))
    }

    public mutating func append(_ name: String, _ value: String) {
        pairs.append((name, Array(value.utf8)))
    }

    /// Encodes every byte outside RFC 3986's unreserved set.
    public var encoded: String {
        pairs.map { Self.percentEncode(Array($0.name.utf8)) + "=" + Self.percentEncode($0.value) }.joined(separator: "&")
    }

    public static func percentEncode(_ bytes: [UInt8]) -> String {
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
