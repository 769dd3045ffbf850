import NIOCore
import NIOHTTP1
import NIOPosix
import TrackerKit

/// The daemon's HTTP status endpoint (`status.listen`): `GET /status` and
/// `GET /metrics`, answered on the event loop from the board.
final class StatusServer: Sendable {
    private let channel: any Channel
    private let idle: IdleConnections

    static func start(host: String, port: Int, report: StatusReport,
                      group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> StatusServer {
        // One loop is plenty for an admin endpoint, and keeps its
        // connections where their idle sweep runs.
        let loop = group.next()
        let idle = IdleConnections(loop: loop, timeoutSeconds: 30)
        do {
            let channel = try await ServerBootstrap(group: loop)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPReplyHandlers(idle: idle) { target, _ in report.reply(target: target) }
                    }
                }
                .bind(host: host, port: port).get()
            return StatusServer(channel: channel, idle: idle)
        } catch {
            idle.cancel()
            throw error
        }
    }

    private init(channel: any Channel, idle: IdleConnections) {
        self.channel = channel
        self.idle = idle
    }

    var address: String { channel.localAddress?.hostPort ?? "?" }

    func close() async {
        try? await channel.close()
        idle.cancel()
    }
}
