import Logging
import NIOCore
import PeerWire
import TrackerKit

/// Bridges one peer connection to its session: sends our handshake
/// (outbound: at once; inbound: once we know the torrent), then hands every
/// frame to the session on the session's loop, in order: directly when the
/// connection lives on that loop (outbound ones always do), else by a hop.
/// The end of each read batch is passed on too, so replies to a batch of
/// blocks leave in one write rather than one each.
final class PeerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = PeerWireFrame
    typealias OutboundOut = PeerWireFrame

    enum Role {
        case outbound(TorrentSession, PeerEndpoint)
        case inbound(SessionDirectory)
    }

    private let role: Role
    private let handshakeTimeout: TimeAmount
    private let logger: Logger
    private var session: TorrentSession?
    /// Whether the session shares this connection's loop (decided once, at
    /// the handshake, so events never overtake each other).
    private var direct = false
    private var endpoint: PeerEndpoint?
    private var timeout: Scheduled<Void>?

    init(role: Role, handshakeTimeout: TimeAmount, logger: Logger) {
        self.role = role
        self.handshakeTimeout = handshakeTimeout
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: handshakeTimeout) { channel.close(promise: nil) }
        switch role {
        case .outbound(let session, let endpoint):
            self.endpoint = endpoint
            context.writeAndFlush(wrapOutboundOut(.handshake(Self.handshake(for: session))), promise: nil)
        case .inbound:
            endpoint = context.channel.remoteAddress.flatMap(PeerEndpoint.init(socketAddress:))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let channel = context.channel
        switch unwrapInboundIn(data) {
        case .handshake(let handshake):
            timeout?.cancel()
            let session: TorrentSession
            switch role {
            case .outbound(let outboundSession, _):
                session = outboundSession
            case .inbound(let directory):
                // The decoder only lets through hashes the directory has.
                guard let found = directory.session(for: handshake.infoHash) else {
                    context.close(promise: nil)
                    return
                }
                session = found
                // A peer for one of our torrents: no longer evictable by a flood.
                context.triggerUserOutboundEvent(ConnectionLimiter.Proven(), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.handshake(Self.handshake(for: session))), promise: nil)
            }
            self.session = session
            direct = session.loop === context.eventLoop
            let endpoint = self.endpoint
            let outbound: Bool
            if case .outbound = role { outbound = true } else { outbound = false }
            deliver({ session.attach(channel: channel, handshake: handshake, endpoint: endpoint, outbound: outbound) }, context: context)
        case .message(let message):
            guard let session else { return }
            deliver({ session.received(message, from: channel) }, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let session {
            let channel = context.channel
            deliver({ session.readComplete(channel) }, context: context)
        }
        context.fireChannelReadComplete()
    }

    /// Runs `event` on the session's loop. Directly only for reads of a
    /// live connection: a close or a write the session makes can fire
    /// inactivity, writability or leftover reads synchronously, and those
    /// must not re-enter the session in the middle of its work (they hop,
    /// and so still come after everything delivered before them).
    private func deliver(_ event: @escaping @Sendable () -> Void, context: ChannelHandlerContext? = nil) {
        guard let session else { return }
        if direct, let context, context.channel.isActive { event() } else { session.loop.execute(event) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let session {
            let channel = context.channel
            deliver { session.writabilityChanged(channel) }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if let session {
            let channel = context.channel
            deliver { session.detach(channel) }
        } else if case .outbound(let session, let endpoint) = role {
            // Closed before its handshake came: as good as refused.
            session.loop.execute { session.connectionFailed(endpoint) }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol violation or a socket error: log why, then close.
        logger.debug("peer connection closed", metadata: [
            "event": "peer.dropped", "peer": .string(endpoint?.description ?? "?"), "error": .string("\(error)"),
        ])
        context.close(promise: nil)
    }

    private static func handshake(for session: TorrentSession) -> Handshake {
        var handshake = Handshake(infoHash: session.metainfo.infoHash, peerID: session.peerID.bytes)
        handshake.supportsExtensions = true
        return handshake
    }
}

extension PeerEndpoint {
    /// The IP and port of a NIO socket address.
    init?(socketAddress: SocketAddress) {
        guard let ip = IPAddress(socketAddress: socketAddress), let port = socketAddress.port, port > 0,
              let port16 = UInt16(exactly: port) else { return nil }
        self.init(ip: ip, port: port16)
    }
}
