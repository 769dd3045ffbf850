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

    /// Removes `session` (not a newer one with the same info-hash).
    public func remove(_ session: TorrentSession) {
        sessions.withLock { sessions in
            if sessions[session.metainfo.infoHash] === session { sessions[session.metainfo.infoHash] = nil }
        }
    }

    public func session(for infoHash: InfoHash) -> TorrentSession? {
        sessions.withLock { $0[infoHash] }
    }
}
