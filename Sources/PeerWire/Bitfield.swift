/// Which pieces a peer has: one bit per piece, high bit of byte 0 first
/// (BEP 3). A value type, so the picker can work on plain copies.
public struct Bitfield: Hashable, Sendable {
    public let count: Int
    public private(set) var bytes: [UInt8]
    public private(set) var setCount = 0

    public init(count: Int, allSet: Bool = false) {
        self.count = count
        bytes = [UInt8](repeating: allSet ? 0xFF : 0, count: (count + 7) / 8)
        if allSet {
            clearSpareBits()
            setCount = count
        }
    }

    /// From wire bytes; nil when the length is wrong or spare bits are set
    /// (BEP 3 says a peer sending either must be dropped).
    public init?(bytes: [UInt8], count: Int) {
        guard bytes.count == (count + 7) / 8 else { return nil }
        let spare = bytes.count * 8 - count
        if spare > 0, bytes[bytes.count - 1] & UInt8((1 << spare) - 1) != 0 { return nil }
        self.count = count
        self.bytes = bytes
        setCount = bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    public subscript(index: Int) -> Bool {
        get { bytes[index >> 3] & (0x80 >> UInt8(index & 7)) != 0 }
        set {
            let mask: UInt8 = 0x80 >> UInt8(index & 7)
            let was = bytes[index >> 3] & mask != 0
            guard was != newValue else { return }
            if newValue { bytes[index >> 3] |= mask } else { bytes[index >> 3] &= ~mask }
            setCount += newValue ? 1 : -1
        }
    }

    public var isComplete: Bool { setCount == count }
    public var isEmpty: Bool { setCount == 0 }

    private mutating func clearSpareBits() {
        let spare = bytes.count * 8 - count
        if spare > 0 { bytes[bytes.count - 1] &= ~UInt8((1 << spare) - 1) }
    }
}
