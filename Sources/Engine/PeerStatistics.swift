/// What was exchanged with one peer, for the statistics printed at exit.
public struct PeerStatistics: Sendable, Hashable {
    public var endpoint: String
    public var client: String
    /// The peer's 20-byte id (tells our own sessions apart in `demo`).
    public var peerID: [UInt8]
    public var downloaded: Int64
    public var uploaded: Int64
    /// Seconds the peer was connected.
    public var connectedSeconds: Double

    public var averageDownloadRate: Double { connectedSeconds > 0 ? Double(downloaded) / connectedSeconds : 0 }
    public var averageUploadRate: Double { connectedSeconds > 0 ? Double(uploaded) / connectedSeconds : 0 }
}

/// A moment's view of a session, safe to read from any thread.
public struct SessionSnapshot: Sendable {
    public var downloaded: Int64 = 0
    public var uploaded: Int64 = 0
    public var left: Int64 = 0
    public var verifiedPieces = 0
    public var pieceCount = 0
    public var peers = 0
    public var seeders = 0
    public var leechers = 0
    public var downloadRate: Double = 0
    public var uploadRate: Double = 0
    public var isComplete = false
    public var failedPieces = 0
    /// Bytes received that were not used: late after a choke or timeout,
    /// endgame duplicates, blocks nobody asked for.
    public var wasted: Int64 = 0
    /// Requesting nothing until the swarm meets the wait thresholds.
    public var isWaitingForSwarm = false
    /// Requesting nothing for now: the disk refused a write (full,
    /// read-only); `error` says why. Retried with back-off.
    public var isPausedForStorage = false
    public var error: String?
}
