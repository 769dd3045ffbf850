/// How a torrent's byte stream is cut into pieces: what a peer connection
/// checks messages against and what the picker plans with.
public struct TorrentGeometry: Hashable, Sendable {
    public let pieceCount: Int
    public let pieceLength: Int
    public let totalLength: Int64

    public init(pieceCount: Int, pieceLength: Int, totalLength: Int64) {
        self.pieceCount = pieceCount
        self.pieceLength = pieceLength
        self.totalLength = totalLength
    }

    public func length(ofPiece index: Int) -> Int {
        Int(min(Int64(pieceLength), totalLength - Int64(index) * Int64(pieceLength)))
    }
}
