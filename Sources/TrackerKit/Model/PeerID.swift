import Metainfo

/// A peer's 20-byte id, stored inline (no heap allocation): a tracker holds
/// one per live peer, so 100 000 peers must stay cheap.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 20
    private let head: UInt64
    private let middle: UInt64
    private let tail: UInt32

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        // Loaded straight from the collection (a slice of the request, for
        // a tracker): no copy per announce.
        var head: UInt64 = 0, middle: UInt64 = 0, tail: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 0..<8: head = head << 8 | UInt64(byte)
            case 8..<16: middle = middle << 8 | UInt64(byte)
            default: tail = tail << 8 | UInt32(byte)
            }
        }
        (self.head, self.middle, self.tail) = (head, middle, tail)
    }

    /// `-MT0100-` followed by random bytes (Azureus-style client prefix).
    public static func random(clientPrefix: String = "-MT0100-") -> PeerID {
        var bytes = Array(clientPrefix.utf8.prefix(byteCount))
        while bytes.count < byteCount { bytes.append(UInt8.random(in: 0...255)) }
        return PeerID(bytes: bytes)!
    }

    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: head >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: middle >> UInt64(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: tail >> UInt32(shift))) }
        return bytes
    }

    /// Printable ids as text, others as hex.
    public var description: String {
        let raw = bytes
        if raw.allSatisfy({ (0x21...0x7E).contains($0) }) { return String(decoding: raw, as: UTF8.self) }
        return Hex.encode(raw)
    }
}
