import Logging
import NIOCore
import NIOPosix
import PeerWire
import TrackerKit

/// Accepts inbound peer connections for every session in a directory.
public final class PeerListener: Sendable {
    private let channel: any Channel
    public let directory: SessionDirectory

    /// Inbound connections held at once, and of those, how many may still
    /// be waiting for their handshake (the oldest waiting one is closed to
    /// make room): a connection flood costs bounded descriptors and memory
    /// and real peers, which handshake at once, still get in.
    public static let maxInboundConnections = 2048
    public static let maxAwaitingHandshake = 128

    public static func start(
        host: String, port: Int, directory: SessionDirectory,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        handshakeTimeout: TimeAmount = .seconds(10), logger: Logger = Logger(label: "microtorr.peer")
    ) async throws -> PeerListener {
        let limiter = ConnectionLimiter(maxOpen: maxInboundConnections, maxUnproven: maxAwaitingHandshake, logger: logger)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: PeerConnector.writeBufferWaterMark)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(limiter.makeHandler())
                    try PeerConnector.addPeerHandlers(
                        to: channel, resolve: { directory.session(for: $0)?.geometry },
                        role: .inbound(directory), handshakeTimeout: handshakeTimeout, logger: logger)
                }
            }
            .bind(host: host, port: port).get()
        return PeerListener(channel: channel, directory: directory, host: host)
    }

    private init(channel: any Channel, directory: SessionDirectory, host: String) {
        self.channel = channel
        self.directory = directory
        self.host = host
    }

    /// The address it was asked to listen on.
    public let host: String

    public var port: Int { channel.localAddress?.port ?? 0 }

    public func close() async {
        try? await channel.close()
    }
}
