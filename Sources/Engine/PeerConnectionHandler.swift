import Logging
import NIOCore
import PeerWire
import TrackerKit

/// Bridges one peer connection to its session: sends our handshake
/// (outbound: at once; inbound: once we know the torrent), then hands every
/// frame to the session on the session's loop, in order.
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
            let endpoint = self.endpoint
            let outbound: Bool
            if case .outbound = role { outbound = true } else { outbound = false }
            session.loop.execute { session.attach(channel: channel, handshake: handshake, endpoint: endpoint, outbound: outbound) }
        case .message(let message):
            guard let session else { return }
            session.loop.execute { session.received(message, from: channel) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let session {
            let channel = context.channel
            session.loop.execute { session.writabilityChanged(channel) }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if let session {
            let channel = context.channel
            session.loop.execute { session.detach(channel) }
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
