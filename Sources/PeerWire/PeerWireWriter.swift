import NIOCore

/// Writes frames to the connection. A `piece` goes out as its 13-byte
/// header followed by the block's own buffer (read from disk straight into
/// it), so uploads copy no block data; other messages are encoded as
/// `PeerWireEncoder` does.
public final class PeerWireWriter: ChannelOutboundHandler {
    public typealias OutboundIn = PeerWireFrame
    public typealias OutboundOut = ByteBuffer

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        if case .message(.piece(let piece, let offset, let block)) = frame {
            var header = context.channel.allocator.buffer(capacity: 13)
            PeerWireEncoder.pieceHeader(piece: piece, offset: offset, length: block.readableBytes, to: &header)
            context.write(wrapOutboundOut(header), promise: nil)
            context.write(wrapOutboundOut(block), promise: promise)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 32)
        PeerWireEncoder.write(frame, to: &buffer)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }
}
