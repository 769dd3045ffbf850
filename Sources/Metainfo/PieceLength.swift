/// How the piece length of a new torrent is chosen.
public enum PieceLength: Hashable, Sendable {
    /// A power of two from 16 KiB to 16 MiB giving about 1000–2000 pieces.
    case auto
    case fixed(Int)

    public static let minimum = 16 << 10
    public static let autoMaximum = 16 << 20
    public static let maximum = Metainfo.maxPieceLength

    /// Parses `auto`, a byte count (`262144`), or a count with a binary
    /// suffix (`256K`, `256KiB`, `4M`, `4MiB`).
    public init?(argument: String) {
        let text = argument.lowercased()
        if text == "auto" {
            self = .auto
            return
        }
        let suffixes: [(String, Int)] = [("kib", 10), ("k", 10), ("mib", 20), ("m", 20), ("b", 0), ("", 0)]
        for (suffix, shift) in suffixes where text.hasSuffix(suffix) {
            guard let count = Int(text.dropLast(suffix.count)), count > 0, count <= Self.maximum >> shift else {
                continue
            }
            self = .fixed(count << shift)
            return
        }
        return nil
    }

    /// Why a fixed length cannot be used for a new torrent, or nil.
    public var problem: String? {
        guard case .fixed(let length) = self else { return nil }
        guard length >= Self.minimum, length <= Self.maximum, length & (length - 1) == 0 else {
            return "piece length must be a power of two from 16 KiB to 256 MiB (got \(length))"
        }
        return nil
    }

    /// The piece length in bytes for content of `totalLength` bytes.
    public func resolved(forTotalLength totalLength: Int64) -> Int {
        switch self {
        case .fixed(let length):
            return length
        case .auto:
            var length = Self.minimum
            while length < Self.autoMaximum, totalLength > Int64(length) * 2000 {
                length <<= 1
            }
            return length
        }
    }
}
