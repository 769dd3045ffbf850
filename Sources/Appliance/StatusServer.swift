import NIOCore
import NIOHTTP1
import NIOPosix
import TrackerKit

/// The daemon's HTTP status endpoint (`status.listen`): `GET /status` and
/// `GET /metrics`, answered on the event loop from the board.
final class StatusServer: Sendable {
    private let channel: any Channel

    static func start(host: String, port: Int, report: StatusReport,
                      group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> StatusServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(30)), position: .first)
                    try channel.pipeline.syncOperations.addHandler(HTTPReplyHandler { target, _ in report.reply(target: target) })
                }
            }
            .bind(host: host, port: port).get()
        return StatusServer(channel: channel)
    }

    private init(channel: any Channel) {
        self.channel = channel
    }

    var address: String { channel.localAddress?.hostPort ?? "?" }

    func close() async {
        try? await channel.close()
    }
}
