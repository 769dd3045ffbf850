import Metainfo

/// The sizes a peer connection checks messages against, known before any
/// byte of a message body is kept: piece count, piece length, total length.
public struct TorrentGeometry: Hashable, Sendable {
    public let pieceCount: Int
    public let pieceLength: Int
    public let totalLength: Int64

    public init(pieceCount: Int, pieceLength: Int, totalLength: Int64) {
        self.pieceCount = pieceCount
        self.pieceLength = pieceLength
        self.totalLength = totalLength
    }

    public init(_ info: InfoDictionary) {
        self.init(pieceCount: info.pieceCount, pieceLength: info.pieceLength, totalLength: info.totalLength)
    }

    public func length(ofPiece index: Int) -> Int {
        Int(min(Int64(pieceLength), totalLength - Int64(index) * Int64(pieceLength)))
    }

    /// Whether a block lies inside its piece.
    public func contains(_ block: BlockRequest) -> Bool {
        block.piece >= 0 && block.piece < pieceCount && block.offset >= 0 && block.length > 0
            && block.offset + block.length <= length(ofPiece: block.piece)
    }
}
