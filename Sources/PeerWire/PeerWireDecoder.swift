import Metainfo
import NIOCore

/// Frames a BitTorrent connection: the 68-byte handshake, then messages
/// with a 4-byte big-endian length (0 = keep-alive).
///
/// Every limit is checked from the header, before the body is waited for
/// or kept: message length, request length (at most 128 KiB), bitfield size
/// and spare bits, piece index and block ranges. A violation throws, and
/// the connection is closed with the reason.
public struct PeerWireDecoder: ByteToMessageDecoder {
    public typealias InboundOut = PeerWireFrame

    /// Largest block accepted in a `request` or `piece`.
    public static let maxBlockLength = 128 << 10

    private enum State {
        case handshake
        case messages(TorrentGeometry)
    }

    private var state: State = .handshake
    /// A message cut by the end of the last read, as far as it came.
    private var partial: ByteBuffer?
    private let resolve: @Sendable (InfoHash) -> TorrentGeometry?

    /// - Parameter resolve: the geometry of the torrent a handshake names,
    ///   or nil when we do not serve it (the connection is then refused).
    public init(resolve: @escaping @Sendable (InfoHash) -> TorrentGeometry?) {
        self.resolve = resolve
    }

    /// A decoder already past the handshake, so its framing
    /// can be checked on its own (the verifier shuffles inputs).
    init(messagesOf geometry: TorrentGeometry) {
        self.resolve = { _ in geometry }
        self.state = .messages(geometry)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .handshake:
            return try decodeHandshake(context: context, buffer: &buffer)
        case .messages(let geometry):
            return try decodeMessage(geometry: geometry, context: context, buffer: &buffer)
        }
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    private mutating func decodeHandshake(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        // Refuse garbage as soon as it differs from the protocol string,
        // without waiting for 68 bytes.
        let prefix = [UInt8(19)] + Handshake.protocolName
        let available = min(buffer.readableBytes, prefix.count)
        guard let head = buffer.getBytes(at: buffer.readerIndex, length: available), head.elementsEqual(prefix.prefix(available)) else {
            throw PeerWireError.badProtocol
        }
        guard buffer.readableBytes >= Handshake.length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: prefix.count)
        let reserved = buffer.readBytes(length: 8)!
        let infoHash = InfoHash(bytes: buffer.readBytes(length: 20)!)!
        let peerID = buffer.readBytes(length: 20)!
        guard let geometry = resolve(infoHash) else { throw PeerWireError.unknownInfoHash(infoHash) }
        state = .messages(geometry)
        context.fireChannelRead(wrapInboundOut(.handshake(Handshake(infoHash: infoHash, peerID: peerID, reserved: reserved))))
        return .continue
    }

    /// Every byte handed in is consumed: complete messages are slices of
    /// the received buffer, and a message cut by the end of a read is copied
    /// into a buffer of its own size (`partial`) and completed from the next
    /// reads. Left in `ByteToMessageHandler`'s buffer, that tail would make
    /// it copy each following read onto it, and copy the whole buffer again
    /// whenever earlier blocks (still waiting for the disk) shared it: at
    /// loopback speed that copying took a third of the event loop.
    private mutating func decodeMessage(
        geometry: TorrentGeometry, context: ChannelHandlerContext, buffer: inout ByteBuffer
    ) throws -> DecodingState {
        if var pending = partial {
            partial = nil
            guard try complete(&pending, from: &buffer, geometry: geometry) else {
                partial = pending
                return .needMoreData
            }
            return try decodeFrame(geometry: geometry, context: context, buffer: &pending)
        }
        let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map(Int.init)
        if let length {
            try Self.check(length: length, geometry: geometry)
            if buffer.readableBytes >= 4 + length {
                return try decodeFrame(geometry: geometry, context: context, buffer: &buffer)
            }
        }
        // Cut short: keep what came in a buffer of its own, sized for the
        // whole message once its length is known.
        var pending = context.channel.allocator.buffer(capacity: length.map { 4 + $0 } ?? 4)
        pending.writeBuffer(&buffer)
        if pending.readableBytes > 0 { partial = pending }
        return .needMoreData
    }

    /// Limits checked from the length prefix alone, before anything is kept.
    private static func check(length: Int, geometry: TorrentGeometry) throws {
        let bitfieldLength = 1 + (geometry.pieceCount + 7) / 8
        guard length <= max(9 + Self.maxBlockLength, bitfieldLength) else { throw PeerWireError.messageTooLong(length) }
    }

    /// Moves bytes from `buffer` into `pending` until it holds a whole
    /// message; false if `buffer` ran out first.
    private func complete(_ pending: inout ByteBuffer, from buffer: inout ByteBuffer, geometry: TorrentGeometry) throws -> Bool {
        if pending.readableBytes < 4 {
            var head = buffer.readSlice(length: min(4 - pending.readableBytes, buffer.readableBytes))!
            pending.writeBuffer(&head)
            guard pending.readableBytes == 4 else { return false }
        }
        let length = Int(pending.getInteger(at: pending.readerIndex, as: UInt32.self)!)
        try Self.check(length: length, geometry: geometry)
        pending.reserveCapacity(4 + length)
        var body = buffer.readSlice(length: min(4 + length - pending.readableBytes, buffer.readableBytes))!
        pending.writeBuffer(&body)
        return pending.readableBytes == 4 + length
    }

    /// Decodes one message whose every byte is in `buffer`.
    private mutating func decodeFrame(
        geometry: TorrentGeometry, context: ChannelHandlerContext, buffer: inout ByteBuffer
    ) throws -> DecodingState {
        let length = Int(buffer.readInteger(as: UInt32.self)!)
        guard length > 0 else {
            context.fireChannelRead(wrapInboundOut(.message(.keepAlive)))
            return .continue
        }
        var body = buffer.readSlice(length: length)!
        let id = body.readInteger(as: UInt8.self)!
        func expect(_ wanted: Int) throws {
            guard length == wanted else { throw PeerWireError.malformedMessage(id: id, length: length) }
        }
        func block(_ body: inout ByteBuffer) throws -> BlockRequest {
            let piece = Int(body.readInteger(as: UInt32.self)!)
            let offset = Int(body.readInteger(as: UInt32.self)!)
            let size = Int(body.readInteger(as: UInt32.self)!)
            guard size <= Self.maxBlockLength else { throw PeerWireError.requestTooLong(size) }
            let request = BlockRequest(piece: piece, offset: offset, length: size)
            guard piece < geometry.pieceCount else { throw PeerWireError.pieceIndexOutOfRange(piece) }
            guard geometry.contains(request) else { throw PeerWireError.blockOutOfRange(request) }
            return request
        }

        let message: PeerMessage
        switch PeerMessage.ID(rawValue: id) {
        case .choke?: try expect(1); message = .choke
        case .unchoke?: try expect(1); message = .unchoke
        case .interested?: try expect(1); message = .interested
        case .notInterested?: try expect(1); message = .notInterested
        case .have?:
            try expect(5)
            let piece = Int(body.readInteger(as: UInt32.self)!)
            guard piece < geometry.pieceCount else { throw PeerWireError.pieceIndexOutOfRange(piece) }
            message = .have(piece: piece)
        case .bitfield?:
            // Taken whenever it comes: BEP 3 puts it first, but clients
            // send other messages before it (BEP 10's handshake, aria2 a
            // `have` or `interested`); the session reconciles it with any
            // `have` so far.
            guard let bitfield = Bitfield(bytes: body.readBytes(length: body.readableBytes)!, count: geometry.pieceCount) else {
                throw PeerWireError.bitfieldInvalid
            }
            message = .bitfield(bitfield)
        case .request?:
            try expect(13)
            message = .request(try block(&body))
        case .cancel?:
            try expect(13)
            message = .cancel(try block(&body))
        case .piece?:
            guard length > 9 else { throw PeerWireError.malformedMessage(id: id, length: length) }
            // The length cap above also admits a large bitfield; a block never exceeds this.
            guard length - 9 <= Self.maxBlockLength else { throw PeerWireError.messageTooLong(length) }
            let piece = Int(body.readInteger(as: UInt32.self)!)
            let offset = Int(body.readInteger(as: UInt32.self)!)
            let request = BlockRequest(piece: piece, offset: offset, length: body.readableBytes)
            guard piece < geometry.pieceCount else { throw PeerWireError.pieceIndexOutOfRange(piece) }
            guard geometry.contains(request) else { throw PeerWireError.blockOutOfRange(request) }
            message = .piece(piece: piece, offset: offset, data: body)
        case .extended?:
            guard length >= 2 else { throw PeerWireError.malformedMessage(id: id, length: length) }
            let extensionID = body.readInteger(as: UInt8.self)!
            message = .extended(id: extensionID, payload: body.readBytes(length: body.readableBytes)!)
        case nil:
            // Unknown ids (extensions we did not negotiate) are skipped.
            return .continue
        }
        context.fireChannelRead(wrapInboundOut(.message(message)))
        return .continue
    }
}
