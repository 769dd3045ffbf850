import Engine
import Metainfo
import Synchronization

/// Every torrent the daemon has, as `/status` and `/metrics` show it;
/// readable from any thread (the status server's event loop) while the
/// supervisor alone changes it.
public final class TorrentBoard: Sendable {
    public enum Stage: String, Sendable {
        /// A shared file being hashed into its `.mtorrent`.
        case hashing
        /// Data already on disk being checked against a torrent.
        case verifying
        /// Running: the session's own snapshot says the rest.
        case active
    }

    public struct Entry: Sendable {
        public let name: String
        /// Nil while a shared file is still being hashed.
        public let infoHash: InfoHash?
        /// `share` (from share_dir) or `download` (from the inbox).
        public let origin: String
        public let stage: Stage
        public let session: TorrentSession?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let inForce: Mutex<ApplianceConfiguration>
    /// When the daemon started (monotonic seconds), for `uptime_s`.
    let startedAt = MonotonicClock.seconds()

    init(configuration: ApplianceConfiguration) {
        inForce = Mutex(configuration)
    }

    /// The configuration the daemon runs on now (limits, thresholds).
    public var configuration: ApplianceConfiguration {
        get { inForce.withLock { $0 } }
        set { inForce.withLock { $0 = newValue } }
    }

    func set(_ key: String, _ entry: Entry) {
        entries.withLock { $0[key] = entry }
    }

    func remove(_ key: String) {
        entries.withLock { _ = $0.removeValue(forKey: key) }
    }

    /// Sorted by name, then info-hash, for stable output.
    public func all() -> [Entry] {
        entries.withLock { Array($0.values) }.sorted { lhs, rhs in
            lhs.name != rhs.name ? lhs.name < rhs.name : (lhs.infoHash?.hex ?? "") < (rhs.infoHash?.hex ?? "")
        }
    }
}
