import NIOCore
import NIOPosix
import PeerWire

/// Where a process meets its peers: one listening socket and one way of
/// dialling out, shared by all its torrents (the daemon serves many on one
/// port; `download` and each `demo` peer serve one).
public final class PeerService: Sendable {
    public let directory: SessionDirectory
    public let connector: PeerConnector
    private let listener: PeerListener

    private init(directory: SessionDirectory, connector: PeerConnector, listener: PeerListener) {
        self.directory = directory
        self.connector = connector
        self.listener = listener
    }

    /// Listens on `host:port` (port 0: any free one). With `bindOutgoing`,
    /// connections we open also leave from `host` (`-i IFACE`).
    public static func start(host: String, port: Int, bindOutgoing: Bool = false,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> PeerService {
        let directory = SessionDirectory()
        let listener = try await PeerListener.start(host: host, port: port, directory: directory, group: group)
        let connector = PeerConnector(localAddress: bindOutgoing ? try SocketAddress(ipAddress: host, port: 0) : nil)
        return PeerService(directory: directory, connector: connector, listener: listener)
    }

    public var port: Int { listener.port }

    /// Makes `session` reachable and starts it with the pieces it has.
    public func add(_ session: TorrentSession, have: Bitfield) {
        session.start(have: have, connector: connector)
        directory.add(session)
    }

    public func close() async {
        await listener.close()
    }
}
