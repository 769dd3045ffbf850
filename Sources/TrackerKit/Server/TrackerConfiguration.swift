/// How a tracker behaves; defaults per SPEC (interval 10 s, timeout 30 s).
public struct TrackerConfiguration: Sendable {
    /// Seconds between a peer's announces.
    public var interval = 10
    /// Seconds a peer is kept without announcing.
    public var peerTimeout = 30
    public var limits = SwarmRegistry.Limits()
    /// Only torrents whose `.mtorrent`/`.torrent` is in this directory.
    public var whitelistDirectory: String?
    /// A connection that sends nothing for this long is closed.
    public var idleTimeoutSeconds = 30
    /// Connections held at once (shared out among the event loops); past
    /// it a newcomer closes the least recently active one.
    public var maxConnections = 4096
    /// Longest accepted request target (path and query).
    public var maxRequestTargetLength = 4096

    public init() {}

    /// `min interval`: peers must not announce faster than this.
    public var minInterval: Int { max(1, interval / 2) }
}
