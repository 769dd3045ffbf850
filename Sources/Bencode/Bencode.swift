/// A bencoded value (BEP 3).
///
/// Byte strings stay raw bytes: names, hashes and peer ids in torrents are
/// not guaranteed to be UTF-8, so converting them eagerly would lose data.
public enum Bencode: Hashable, Sendable {
    case integer(Int64)
    case bytes([UInt8])
    case list([Bencode])
    case dictionary([[UInt8]: Bencode])
}

extension Bencode {
    /// A byte string holding `string`'s UTF-8 bytes.
    public static func string(_ string: String) -> Bencode {
        .bytes(Array(string.utf8))
    }

    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var bytesValue: [UInt8]? {
        if case .bytes(let value) = self { return value }
        return nil
    }

    /// The byte string decoded as UTF-8, or nil when it is not a byte string
    /// or not valid UTF-8 (never a lossy conversion).
    public var stringValue: String? {
        guard case .bytes(let value) = self else { return nil }
        return String(validating: value, as: UTF8.self)
    }

    public var listValue: [Bencode]? {
        if case .list(let value) = self { return value }
        return nil
    }

    public var dictionaryValue: [[UInt8]: Bencode]? {
        if case .dictionary(let value) = self { return value }
        return nil
    }

    /// Looks `key` up when this value is a dictionary.
    public subscript(key: String) -> Bencode? {
        dictionaryValue?[Array(key.utf8)]
    }
}

extension Bencode: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension Bencode: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension Bencode: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Bencode...) { self = .list(elements) }
}

extension Bencode: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, Bencode)...) {
        var dictionary: [[UInt8]: Bencode] = [:]
        for (key, value) in elements { dictionary[Array(key.utf8)] = value }
        self = .dictionary(dictionary)
    }
}
