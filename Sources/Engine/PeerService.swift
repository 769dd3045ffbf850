import NIOCore
import NIOPosix
import PeerWire
import Synchronization

/// Where a process meets its peers: listening sockets and one way of
/// dialling out, shared by all its torrents (the daemon serves many on one
/// port; `download` and each `demo` peer serve one).
public final class PeerService: Sendable {
    public let directory: SessionDirectory
    public let connector: PeerConnector
    private let group: any EventLoopGroup
    private let listeners: Mutex<[PeerListener]>

    private init(directory: SessionDirectory, connector: PeerConnector, listeners: [PeerListener], group: any EventLoopGroup) {
        self.directory = directory
        self.connector = connector
        self.listeners = Mutex(listeners)
        self.group = group
    }

    /// Listens on `host:port` (port 0: any free one). With `bindOutgoing`,
    /// connections we open also leave from `host` (`-i IFACE`).
    public static func start(host: String, port: Int, bindOutgoing: Bool = false,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> PeerService {
        let connector = PeerConnector(localAddress: bindOutgoing ? try SocketAddress(ipAddress: host, port: 0) : nil)
        return try await start(hosts: [host], port: port, connector: connector, group: group)
    }

    /// Listens on every address of `hosts` at `port` (the daemon's
    /// `network.interfaces`); with port 0 the first listener picks one and
    /// the others use it too.
    public static func start(hosts: [String], port: Int, connector: PeerConnector = PeerConnector(),
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> PeerService {
        let directory = SessionDirectory()
        let listeners = try await openListeners(hosts: hosts, port: port, directory: directory, group: group)
        return PeerService(directory: directory, connector: connector, listeners: listeners, group: group)
    }

    private static func openListeners(hosts: [String], port: Int, directory: SessionDirectory,
                                      group: any EventLoopGroup) async throws -> [PeerListener] {
        var opened: [PeerListener] = []
        do {
            var port = port
            for host in hosts {
                let listener = try await PeerListener.start(host: host, port: port, directory: directory, group: group)
                port = listener.port
                opened.append(listener)
            }
        } catch {
            for listener in opened { await listener.close() }
            throw error
        }
        return opened
    }

    public var port: Int { listeners.withLock { $0.first?.port ?? 0 } }

    /// Moves to other addresses or another port without touching the
    /// sessions; established connections are kept. The new sockets open
    /// first; where that is refused (the same port on an overlapping
    /// address, e.g. all addresses → one interface) the old ones close
    /// first and are reopened if the new ones still fail.
    public func rebind(hosts: [String], port: Int) async throws {
        let previousPort = self.port
        let previousHosts = listeners.withLock { $0.map(\.host) }
        do {
            let fresh = try await Self.openListeners(hosts: hosts, port: port, directory: directory, group: group)
            await replaceListeners(with: fresh)
        } catch {
            await replaceListeners(with: [])
            do {
                await replaceListeners(with: try await Self.openListeners(hosts: hosts, port: port, directory: directory, group: group))
            } catch {
                let restored = try? await Self.openListeners(hosts: previousHosts, port: previousPort, directory: directory, group: group)
                await replaceListeners(with: restored ?? [])
                throw error
            }
        }
    }

    private func replaceListeners(with fresh: [PeerListener]) async {
        let old = listeners.withLock { listeners in
            defer { listeners = fresh }
            return listeners
        }
        for listener in old { await listener.close() }
    }

    /// Makes `session` reachable and starts it with the pieces it has.
    public func add(_ session: TorrentSession, have: Bitfield) {
        session.start(have: have, connector: connector)
        directory.add(session)
    }

    /// Makes `session` unreachable (it is being stopped).
    public func remove(_ session: TorrentSession) {
        directory.remove(session)
    }

    public func close() async {
        await replaceListeners(with: [])
    }
}
