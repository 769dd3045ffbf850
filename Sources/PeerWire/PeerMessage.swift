import Metainfo
import NIOCore

/// A block of a piece: 16 KiB except at the end of the torrent (BEP 3).
public struct BlockRequest: Hashable, Sendable {
    public var piece: Int
    public var offset: Int
    public var length: Int

    public init(piece: Int, offset: Int, length: Int) {
        self.piece = piece
        self.offset = offset
        self.length = length
    }
}

/// One BitTorrent v1 message after the handshake (BEP 3).
public enum PeerMessage: Hashable, Sendable {
    case keepAlive
    case choke
    case unchoke
    case interested
    case notInterested
    case have(piece: Int)
    case bitfield(Bitfield)
    case request(BlockRequest)
    /// Block data; a `ByteBuffer` slice of the received bytes, not a copy.
    case piece(piece: Int, offset: Int, data: ByteBuffer)
    case cancel(BlockRequest)
    /// An extension protocol message (BEP 10): `id` 0 is the extension
    /// handshake, a bencoded dictionary; other ids are what we announced.
    case extended(id: UInt8, payload: [UInt8])

    /// Message ids on the wire.
    enum ID: UInt8 {
        case choke = 0, unchoke, interested, notInterested, have, bitfield, request, piece, cancel
        case extended = 20
    }
}

/// What travels on a connection: the handshake first, then messages.
public enum PeerWireFrame: Hashable, Sendable {
    case handshake(Handshake)
    case message(PeerMessage)
}

extension TorrentGeometry {
    /// Where a block starts in the torrent's byte stream.
    public func offset(of block: BlockRequest) -> Int64 {
        Int64(block.piece) * Int64(pieceLength) + Int64(block.offset)
    }

    /// Whether a block lies inside its piece.
    public func contains(_ block: BlockRequest) -> Bool {
        block.piece >= 0 && block.piece < pieceCount && block.offset >= 0 && block.length > 0
            && block.offset + block.length <= length(ofPiece: block.piece)
    }
}
