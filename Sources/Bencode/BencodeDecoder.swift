/// A strict, bounded bencode decoder.
///
/// Strict: leading zeros, `-0`, unterminated values, trailing bytes,
/// non-string and duplicate dictionary keys are rejected with the offset of
/// the offending byte. Bounded: nesting depth and every declared string
/// length are checked before anything is allocated, so a tiny hostile input
/// cannot ask for gigabytes or overflow the stack.
public struct BencodeDecoder: Sendable {
    public struct Limits: Sendable {
        /// Deepest accepted nesting of lists and dictionaries.
        public var maxDepth: Int
        /// Longest accepted byte string (torrent `pieces` for a 1 TiB file
        /// at 256 KiB pieces is 80 MiB).
        public var maxStringLength: Int
        /// Most values in one input. Each decoded value costs tens of bytes,
        /// so this bounds memory for inputs such as millions of `le`.
        public var maxValues: Int

        public init(maxDepth: Int = 64, maxStringLength: Int = 128 << 20, maxValues: Int = 1_000_000) {
            self.maxDepth = maxDepth
            self.maxStringLength = maxStringLength
            self.maxValues = maxValues
        }
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Decodes exactly one value spanning all of `input`.
    public func decode(_ input: [UInt8]) throws(BencodeError) -> Bencode {
        try decodeNode(input).value
    }

    /// Decodes exactly one value spanning all of `input`, keeping positions.
    public func decodeNode(_ input: [UInt8]) throws(BencodeError) -> BencodeNode {
        var parser = Parser(input: input, limits: limits)
        let node = try parser.parseValue(depth: 0)
        guard parser.position == input.count else {
            throw BencodeError(offset: parser.position, reason: .trailingBytes)
        }
        return node
    }
}

private struct Parser {
    let input: [UInt8]
    let limits: BencodeDecoder.Limits
    var position = 0
    var values = 0

    init(input: [UInt8], limits: BencodeDecoder.Limits) {
        self.input = input
        self.limits = limits
    }

    mutating func parseValue(depth: Int) throws(BencodeError) -> BencodeNode {
        let start = position
        values += 1
        if values > limits.maxValues {
            throw BencodeError(offset: start, reason: .tooManyValues(limit: limits.maxValues))
        }
        let byte = try peek()
        switch byte {
        case UInt8(ascii: "i"):
            position += 1
            let value = try parseInteger(terminator: UInt8(ascii: "e"), allowNegative: true)
            return BencodeNode(range: start..<position, content: .integer(value))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            let bytes = try parseByteString()
            return BencodeNode(range: start..<position, content: .bytes(bytes))
        case UInt8(ascii: "l"):
            try checkDepth(depth, at: start)
            position += 1
            var elements: [BencodeNode] = []
            while try peek() != UInt8(ascii: "e") {
                elements.append(try parseValue(depth: depth + 1))
            }
            position += 1
            return BencodeNode(range: start..<position, content: .list(elements))
        case UInt8(ascii: "d"):
            try checkDepth(depth, at: start)
            position += 1
            var entries: [BencodeNode.Entry] = []
            var seen = Set<[UInt8]>()
            while try peek() != UInt8(ascii: "e") {
                let keyStart = position
                guard case UInt8(ascii: "0")...UInt8(ascii: "9") = try peek() else {
                    throw BencodeError(offset: keyStart, reason: .nonStringKey)
                }
                let key = try parseByteString()
                guard seen.insert(key).inserted else {
                    throw BencodeError(offset: keyStart, reason: .duplicateKey(key))
                }
                entries.append(BencodeNode.Entry(key: key, value: try parseValue(depth: depth + 1)))
            }
            position += 1
            return BencodeNode(range: start..<position, content: .dictionary(entries))
        default:
            throw BencodeError(offset: start, reason: .unexpectedByte(byte))
        }
    }

    private func checkDepth(_ depth: Int, at offset: Int) throws(BencodeError) {
        if depth >= limits.maxDepth {
            throw BencodeError(offset: offset, reason: .nestingTooDeep(limit: limits.maxDepth))
        }
    }

    private func peek() throws(BencodeError) -> UInt8 {
        guard position < input.count else {
            throw BencodeError(offset: position, reason: .unexpectedEnd)
        }
        return input[position]
    }

    /// `<length>:<bytes>`; the length is checked against the limit and the
    /// remaining input before the bytes are copied.
    private mutating func parseByteString() throws(BencodeError) -> [UInt8] {
        let lengthStart = position
        let declared = try parseInteger(terminator: UInt8(ascii: ":"), allowNegative: false)
        guard declared <= Int64(limits.maxStringLength) else {
            throw BencodeError(
                offset: lengthStart,
                reason: .stringTooLong(declared: Int(clamping: declared), limit: limits.maxStringLength))
        }
        let length = Int(declared)
        let available = input.count - position
        guard length <= available else {
            throw BencodeError(offset: lengthStart, reason: .stringBeyondEnd(declared: length, available: available))
        }
        let bytes = Array(input[position..<position + length])
        position += length
        return bytes
    }

    /// Digits up to `terminator`, which is consumed. Rejects empty numbers,
    /// leading zeros, `-0` and values beyond 64 bits.
    private mutating func parseInteger(terminator: UInt8, allowNegative: Bool) throws(BencodeError) -> Int64 {
        var negative = false
        if allowNegative, try peek() == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        let digitsStart = position
        var magnitude: UInt64 = 0
        while true {
            let byte = try peek()
            if byte == terminator { break }
            guard case UInt8(ascii: "0")...UInt8(ascii: "9") = byte else {
                throw BencodeError(offset: position, reason: .unexpectedByte(byte))
            }
            if position > digitsStart, input[digitsStart] == UInt8(ascii: "0") {
                throw BencodeError(offset: digitsStart, reason: .leadingZero)
            }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2, sum <= UInt64(Int64.max) + (negative ? 1 : 0) else {
                throw BencodeError(
                    offset: digitsStart,
                    reason: allowNegative ? .integerOverflow : .stringLengthOverflow)
            }
            magnitude = sum
            position += 1
        }
        guard position > digitsStart else {
            throw BencodeError(offset: digitsStart, reason: allowNegative ? .emptyInteger : .unexpectedByte(terminator))
        }
        position += 1  // terminator
        if negative {
            guard magnitude != 0 else { throw BencodeError(offset: digitsStart - 1, reason: .negativeZero) }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return Int64(magnitude)
    }
}
