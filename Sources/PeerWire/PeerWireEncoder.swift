import NIOCore

/// Writes handshakes and messages in wire form.
public struct PeerWireEncoder: MessageToByteEncoder {
    public typealias OutboundIn = PeerWireFrame

    public init() {}

    public func encode(data: PeerWireFrame, out: inout ByteBuffer) throws {
        Self.write(data, to: &out)
    }

    /// Appends `frame` in wire form (never fails).
    public static func write(_ frame: PeerWireFrame, to out: inout ByteBuffer) {
        switch frame {
        case .handshake(let handshake):
            out.writeInteger(UInt8(19))
            out.writeBytes(Handshake.protocolName)
            out.writeBytes(handshake.reserved)
            out.writeBytes(handshake.infoHash.bytes)
            out.writeBytes(handshake.peerID)
        case .message(let message):
            write(message, to: &out)
        }
    }

    /// The header of a `piece` message carrying `length` bytes of block
    /// data, for senders that write the data separately (from disk).
    public static func pieceHeader(piece: Int, offset: Int, length: Int, to out: inout ByteBuffer) {
        out.writeInteger(UInt32(9 + length))
        out.writeInteger(PeerMessage.ID.piece.rawValue)
        out.writeInteger(UInt32(piece))
        out.writeInteger(UInt32(offset))
    }

    static func write(_ message: PeerMessage, to out: inout ByteBuffer) {
        func simple(_ id: PeerMessage.ID) {
            out.writeInteger(UInt32(1))
            out.writeInteger(id.rawValue)
        }
        func block(_ id: PeerMessage.ID, _ request: BlockRequest) {
            out.writeInteger(UInt32(13))
            out.writeInteger(id.rawValue)
            out.writeInteger(UInt32(request.piece))
            out.writeInteger(UInt32(request.offset))
            out.writeInteger(UInt32(request.length))
        }
        switch message {
        case .keepAlive: out.writeInteger(UInt32(0))
        case .choke: simple(.choke)
        case .unchoke: simple(.unchoke)
        case .interested: simple(.interested)
        case .notInterested: simple(.notInterested)
        case .have(let piece):
            out.writeInteger(UInt32(5))
            out.writeInteger(PeerMessage.ID.have.rawValue)
            out.writeInteger(UInt32(piece))
        case .bitfield(let bitfield):
            out.writeInteger(UInt32(1 + bitfield.bytes.count))
            out.writeInteger(PeerMessage.ID.bitfield.rawValue)
            out.writeBytes(bitfield.bytes)
        case .request(let request): block(.request, request)
        case .cancel(let request): block(.cancel, request)
        case .piece(let piece, let offset, let data):
            pieceHeader(piece: piece, offset: offset, length: data.readableBytes, to: &out)
            out.writeImmutableBuffer(data)
        case .extended(let id, let payload):
            out.writeInteger(UInt32(2 + payload.count))
            out.writeInteger(PeerMessage.ID.extended.rawValue)
            out.writeInteger(id)
            out.writeBytes(payload)
        }
    }
}
