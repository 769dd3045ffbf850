import Logging
import NIOCore
import NIOPosix
import TrackerKit

/// The daemon's HTTP status endpoint (`status.listen`): `GET /status` and
/// `GET /metrics`, answered on the event loop from the board.
final class StatusServer: Sendable {
    private let channel: any Channel

    static func start(host: String, port: Int, report: StatusReport, logger: Logger,
                      group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> StatusServer {
        // One loop is plenty for an admin endpoint; a few dozen
        // connections are plenty too (a flood evicts the idlest).
        let channel = try await HTTPReplyServer.bind(
            on: group.next(), host: host, port: port,
            limits: HTTPReplyServer.Limits(backlog: 64, idleTimeoutSeconds: 30, maxOpen: 64), logger: logger
        ) { target, _ in report.reply(target: target) }
        return StatusServer(channel: channel)
    }

    private init(channel: any Channel) {
        self.channel = channel
    }

    var address: String { channel.localAddress?.hostPort ?? "?" }

    /// Closing the socket also closes its open connections.
    func close() async {
        try? await channel.close()
    }
}
