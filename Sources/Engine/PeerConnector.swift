import Logging
import Metainfo
import NIOCore
import NIOPosix
import PeerWire
import TrackerKit

/// Opens outbound peer connections (on the session's loop) and builds the
/// pipeline every peer connection has: wire decoder, encoder, handler.
public struct PeerConnector: Sendable {
    public var localAddress: SocketAddress?
    public var connectTimeout: TimeAmount = .seconds(5)
    /// Unsent bytes a peer connection may hold before it stops being
    /// writable (uploads pause): enough blocks to keep a LAN link busy.
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 << 10, high: 1 << 20)

    public var handshakeTimeout: TimeAmount = .seconds(10)
    let logger: Logger

    /// - Parameter localAddress: bind outgoing connections here (`-i`).
    public init(localAddress: SocketAddress? = nil, logger: Logger = Logger(label: "microtorr.peer")) {
        self.localAddress = localAddress
        self.logger = logger
    }

    func connect(to endpoint: PeerEndpoint, session: TorrentSession) {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: endpoint.ip.description, port: Int(endpoint.port))
        } catch {
            session.loop.execute { session.connectionFailed(endpoint) }
            return
        }
        let geometry = session.geometry
        let infoHash = session.metainfo.infoHash
        let logger = self.logger
        let handshakeTimeout = self.handshakeTimeout
        var bootstrap = ClientBootstrap(group: session.loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: Self.writeBufferWaterMark)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try PeerConnector.addPeerHandlers(
                        to: channel, resolve: { $0 == infoHash ? geometry : nil },
                        role: .outbound(session, endpoint), handshakeTimeout: handshakeTimeout, logger: logger)
                }
            }
        if let localAddress { bootstrap = bootstrap.bind(to: localAddress) }
        // Success is told by the handshake (`attach`), or its absence by the
        // handler (`connectionFailed`).
        bootstrap.connect(to: address).whenFailure { _ in
            session.loop.execute { session.connectionFailed(endpoint) }
        }
    }

    static func addPeerHandlers(
        to channel: any Channel, resolve: @escaping @Sendable (InfoHash) -> TorrentGeometry?,
        role: PeerConnectionHandler.Role, handshakeTimeout: TimeAmount, logger: Logger
    ) throws {
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(ByteToMessageHandler(PeerWireDecoder(resolve: resolve)))
        try operations.addHandler(PeerWireWriter())
        try operations.addHandler(PeerConnectionHandler(role: role, handshakeTimeout: handshakeTimeout, logger: logger))
    }
}
