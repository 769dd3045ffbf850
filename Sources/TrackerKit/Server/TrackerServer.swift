import Dispatch
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP tracker: a SwiftNIO HTTP/1.1 server in front of a
/// `TrackerService`, with periodic expiry of silent peers and (in
/// whitelist mode) rescans of the whitelist directory off the event loop.
public final class TrackerServer: Sendable {
    public let service: TrackerService
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel: any Channel
    private let expiryTask: RepeatedTask
    private let whitelistTask: RepeatedTask?

    /// Binds `host:port` (port 0 picks a free one) and starts serving.
    public static func start(
        host: String, port: Int, configuration: TrackerConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "microtorr.tracker")
    ) async throws -> TrackerServer {
        let service = TrackerService(configuration: configuration, logger: logger)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(TrackerHTTPHandler(service: service))
                }
            }
            .bind(host: host, port: port).get()
        return TrackerServer(service: service, group: group, logger: logger, channel: channel)
    }

    private init(service: TrackerService, group: any EventLoopGroup, logger: Logger, channel: any Channel) {
        self.service = service
        self.group = group
        self.logger = logger
        self.channel = channel
        let sweep = TimeAmount.milliseconds(Int64(max(250, service.configuration.peerTimeout * 250)))
        expiryTask = group.next().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in
            service.expirePeers()
        }
        if service.configuration.whitelistDirectory != nil {
            // Reading the directory blocks: the timer only hands it to a
            // background queue.
            whitelistTask = group.next().scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { _ in
                DispatchQueue.global(qos: .utility).async { service.reloadWhitelist() }
            }
        } else {
            whitelistTask = nil
        }
        logger.info("tracker listening", metadata: [
            "event": "tracker.started", "listen": .string(channel.localAddress?.description ?? "?"),
        ])
    }

    /// The bound address (useful when started on port 0).
    public var localAddress: SocketAddress? { channel.localAddress }

    public var port: Int { channel.localAddress?.port ?? 0 }

    /// Completes when the listening socket is closed.
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }

    /// Stops accepting, stops the timers. Connections in flight finish.
    public func shutdown() async {
        expiryTask.cancel()
        whitelistTask?.cancel()
        try? await channel.close()
        logger.info("tracker stopped", metadata: ["event": "tracker.stopped"])
    }
}
