/// Why a byte sequence is not acceptable bencode, and where.
///
/// The offset is the index of the first offending byte in the input, so a
/// user can look at the file with `xxd` and see the problem.
public struct BencodeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case emptyInteger
        case leadingZero
        case negativeZero
        case integerOverflow
        case stringLengthOverflow
        case stringTooLong(declared: Int, limit: Int)
        case stringBeyondEnd(declared: Int, available: Int)
        case nestingTooDeep(limit: Int)
        case tooManyValues(limit: Int)
        case nonStringKey
        case duplicateKey([UInt8])
        case trailingBytes
    }

    public let offset: Int
    public let reason: Reason

    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        "invalid bencode at byte \(offset): \(reason.explanation)"
    }
}

extension BencodeError.Reason {
    var explanation: String {
        switch self {
        case .unexpectedEnd: return "unexpected end of data"
        case .unexpectedByte(let byte): return "unexpected byte \(Self.show(byte))"
        case .emptyInteger: return "empty integer"
        case .leadingZero: return "leading zero in a number"
        case .negativeZero: return "negative zero"
        case .integerOverflow: return "integer does not fit in 64 bits"
        case .stringLengthOverflow: return "string length does not fit in 64 bits"
        case .stringTooLong(let declared, let limit):
            return "string of \(declared) bytes exceeds the limit of \(limit)"
        case .stringBeyondEnd(let declared, let available):
            return "string declares \(declared) bytes but only \(available) remain"
        case .nestingTooDeep(let limit): return "nesting deeper than \(limit) levels"
        case .tooManyValues(let limit): return "more than \(limit) values"
        case .nonStringKey: return "dictionary key is not a byte string"
        case .duplicateKey(let key): return "duplicate dictionary key \"\(Self.show(key))\""
        case .trailingBytes: return "trailing bytes after the value"
        }
    }

    private static func show(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16)
    }

    /// Printable ASCII as is, every other byte as `\xNN`: the key came from
    /// the input and must not put control characters into a message.
    private static func show(_ bytes: [UInt8]) -> String {
        bytes.prefix(64).map { (0x20...0x7E).contains($0) && $0 != 0x5C ? String(Character(Unicode.Scalar($0))) : "\\x" + String($0, radix: 16) }.joined()
    }
}
