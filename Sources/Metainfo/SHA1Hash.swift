/// A 20-byte SHA-1 digest: info-hashes, piece hashes, the original's id_hash.
public struct SHA1Hash: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 20

    public let bytes: [UInt8]

    /// Nil unless `bytes` holds exactly 20 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses 40 hexadecimal digits (either case).
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * Self.byteCount else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Hex.value(of: digits[index]), let low = Hex.value(of: digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// Lower-case hexadecimal, as every BitTorrent tool prints it.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

}

/// Identifies a torrent: SHA-1 of the bencoded `info` dictionary.
public typealias InfoHash = SHA1Hash
