import Dispatch
import Logging
import Metainfo
import NIOCore
import NIOPosix

/// The HTTP tracker: a SwiftNIO HTTP/1.1 server in front of a
/// `TrackerService`, with periodic expiry of silent peers and (in
/// whitelist mode) rescans of the whitelist directory off the event loop.
public final class TrackerServer: Sendable {
    public let service: TrackerService
    private let logger: Logger
    private let channels: [any Channel]
    private let expiryTask: RepeatedTask
    private let whitelistTask: RepeatedTask?

    /// Binds `host:port` (port 0 picks a free one) and starts serving.
    public static func start(
        host: String, port: Int, configuration: TrackerConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "microtorr.tracker")
    ) async throws -> TrackerServer {
        let service = TrackerService(configuration: configuration, logger: logger)
        // One listening socket per event loop (SO_REUSEPORT): the kernel
        // spreads new connections, so accepting is not bound to one thread.
        // Trackers see mostly short connections (opentracker's clients open
        // one per announce), which makes the accept path the hot one.
        // SO_REUSEPORT would also let a second tracker join the port
        // silently: an exclusive bind first makes a busy port an error
        // (and resolves port 0 to the port all listeners then share).
        // (SO_REUSEADDR: connections of a previous run in TIME_WAIT must
        // not block a restart; a live listener still does.)
        let probe = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port).get()
        var boundPort = probe.localAddress?.port ?? port
        try await probe.close()
        let loops = Array(group.makeIterator())
        // The connection cap must bind before the kernel's descriptor limit
        // does (a margin for the listeners, logs and whitelist reads),
        // whoever runs the tracker (the command, the daemon, the demo); it
        // is shared out among the loops' sockets.
        let descriptors = DescriptorLimit.raiseToMaximum() ?? 1024
        let maxConnections = min(configuration.maxConnections, max(1, descriptors - 64))
        if maxConnections < configuration.maxConnections {
            logger.warning("connection cap lowered to fit the open-file limit", metadata: [
                "event": "tracker.connections_lowered", "max_connections": .stringConvertible(maxConnections),
                "open_file_limit": .stringConvertible(descriptors),
            ])
        }
        var channels: [any Channel] = []
        do {
            for (index, loop) in loops.enumerated() {
                // The remainder to the first loops, so the shares add up to
                // the cap (a loop takes at least one connection even so:
                // `HTTPConnections`).
                let share = maxConnections / loops.count + (index < maxConnections % loops.count ? 1 : 0)
                let limits = HTTPReplyServer.Limits(
                    backlog: 1024, idleTimeoutSeconds: configuration.idleTimeoutSeconds, maxOpen: share)
                let channel = try await HTTPReplyServer.bind(
                    on: loop, host: host, port: boundPort, sharingPort: true, limits: limits, logger: logger
                ) { service.handle(target: $0, source: $1) }
                boundPort = channel.localAddress?.port ?? boundPort
                channels.append(channel)
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return TrackerServer(service: service, group: group, logger: logger, channels: channels)
    }

    private init(service: TrackerService, group: any EventLoopGroup, logger: Logger, channels: [any Channel]) {
        self.service = service
        self.logger = logger
        self.channels = channels
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
            "event": "tracker.started", "listen": .string(channels[0].localAddress?.hostPort ?? "?"),
        ])
    }

    /// The bound port (useful when started on port 0).
    public var port: Int { channels[0].localAddress?.port ?? 0 }

    /// Stops accepting, stops the timers, closes the connections still open
    /// (replies are written synchronously, so none is cut mid-reply).
    public func shutdown() async {
        expiryTask.cancel()
        whitelistTask?.cancel()
        for channel in channels { try? await channel.close() }
        logger.info("tracker stopped", metadata: ["event": "tracker.stopped"])
    }
}
