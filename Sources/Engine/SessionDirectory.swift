import Metainfo
import PeerWire
import Synchronization

/// The sessions a listener serves, by info-hash (thread-safe).
public final class SessionDirectory: Sendable {
    private let sessions = Mutex<[InfoHash: TorrentSession]>([:])

    public init() {}

    public func add(_ session: TorrentSession) {
        sessions.withLock { $0[session.metainfo.infoHash] = session }
    }

    public func session(for infoHash: InfoHash) -> TorrentSession? {
        sessions.withLock { $0[infoHash] }
    }
}
