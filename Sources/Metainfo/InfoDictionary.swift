/// The `info` dictionary: what the content is and how it is cut in pieces.
public struct InfoDictionary: Hashable, Sendable {
    public let name: String
    public let pieceLength: Int
    /// Concatenated 20-byte SHA-1 hashes, one per piece (kept flat: a
    /// torrent can have millions of pieces).
    public let pieces: [UInt8]
    /// The content's files, in torrent order. A single-file torrent has one
    /// entry with an empty path.
    public let files: [FileEntry]
    public let isMultiFile: Bool
    public let isPrivate: Bool
    /// The original MicroTorr's SHA-1 of the whole content, when present.
    public let idHash: SHA1Hash?
    /// Sum of the file lengths (computed once: it is used per piece).
    public let totalLength: Int64
    public let layout: FileLayout

    public init(
        name: String, pieceLength: Int, pieces: [UInt8], files: [FileEntry],
        isMultiFile: Bool, isPrivate: Bool, idHash: SHA1Hash?
    ) {
        self.name = name
        self.pieceLength = pieceLength
        self.pieces = pieces
        self.files = files
        self.isMultiFile = isMultiFile
        self.isPrivate = isPrivate
        self.idHash = idHash
        self.layout = FileLayout(lengths: files.map(\.length))
        self.totalLength = layout.totalLength
    }

    public var pieceCount: Int { pieces.count / SHA1Hash.byteCount }

    public func pieceHash(at index: Int) -> SHA1Hash {
        let start = index * SHA1Hash.byteCount
        return SHA1Hash(bytes: pieces[start..<start + SHA1Hash.byteCount])!
    }

    public var geometry: TorrentGeometry {
        TorrentGeometry(pieceCount: pieceCount, pieceLength: pieceLength, totalLength: totalLength)
    }

    /// Length of piece `index` (the last one is usually shorter).
    public func length(ofPiece index: Int) -> Int { geometry.length(ofPiece: index) }

    /// Where each file lands below the output directory, as path components
    /// (the name first for multi-file torrents).
    public var outputPaths: [[String]] {
        isMultiFile ? files.map { [name] + $0.path } : [[name]]
    }
}
