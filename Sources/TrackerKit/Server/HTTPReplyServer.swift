#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix

/// Listening sockets for `HTTPReplyHandler` servers (the tracker, the
/// daemon's status endpoint): each bound to one event loop, with that
/// loop's `HTTPConnections`, which stop when the socket closes.
public enum HTTPReplyServer {
    public struct Limits: Sendable {
        public var backlog: Int32
        public var idleTimeoutSeconds: Int
        /// Connections held at once on this socket's loop.
        public var maxOpen: Int

        public init(backlog: Int32, idleTimeoutSeconds: Int, maxOpen: Int) {
            self.backlog = backlog
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.maxOpen = maxOpen
        }
    }

    /// Binds `host:port` on `loop`. With `sharingPort`, other sockets may
    /// bind the same port (SO_REUSEPORT: one per loop, the kernel spreads
    /// new connections among them).
    public static func bind(
        on loop: any EventLoop, host: String, port: Int, sharingPort: Bool = false, limits: Limits,
        logger: Logger? = nil, responder: @escaping HTTPReplyHandler.Responder
    ) async throws -> any Channel {
        let connections = HTTPConnections(
            loop: loop, timeoutSeconds: limits.idleTimeoutSeconds, maxOpen: limits.maxOpen, logger: logger)
        // (No child options: TCP_NODELAY, the one wanted, is inherited from
        // the listening socket, where NIO sets it, and an empty option list
        // spares every connection a setsockopt and a future chain.)
        var bootstrap = ServerBootstrap(group: loop)
            .serverChannelOption(.backlog, value: limits.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPReplyHandlers(connections: connections, responder: responder)
                }
            }
        if sharingPort {
            bootstrap = bootstrap.serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
        }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            channel.closeFuture.whenComplete { _ in connections.cancel() }
            return channel
        } catch {
            connections.cancel()
            throw error
        }
    }
}
