import Metainfo

/// Why a connection is dropped: every violation is logged with its reason.
public enum PeerWireError: Error, Hashable, Sendable, CustomStringConvertible {
    case badProtocol
    case unknownInfoHash(InfoHash)
    case messageTooLong(Int)
    case malformedMessage(id: UInt8, length: Int)
    case bitfieldInvalid
    case pieceIndexOutOfRange(Int)
    case blockOutOfRange(BlockRequest)
    case requestTooLong(Int)

    public var description: String {
        switch self {
        case .badProtocol: return "not a BitTorrent handshake"
        case .unknownInfoHash(let hash): return "handshake for a torrent we do not have (\(hash.hex))"
        case .messageTooLong(let length): return "message of \(length) bytes exceeds the limit"
        case .malformedMessage(let id, let length): return "message id \(id) with impossible length \(length)"
        case .bitfieldInvalid: return "bitfield of the wrong size or with spare bits set"
        case .pieceIndexOutOfRange(let index): return "piece index \(index) out of range"
        case .blockOutOfRange(let block): return "block \(block.piece):\(block.offset)+\(block.length) outside its piece"
        case .requestTooLong(let length): return "request for \(length) bytes exceeds 128 KiB"
        }
    }
}
