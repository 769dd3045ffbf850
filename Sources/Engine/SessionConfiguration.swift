/// How a torrent session behaves.
public struct SessionConfiguration: Sendable {
    /// Most peer connections for this torrent.
    public var maxPeers = 50
    /// Requests in flight per peer: at least this many...
    public var minPipeline = 16
    /// ...at most this many (16 KiB each: 8 MiB in flight, which keeps a
    /// loopback or LAN link full while bounding memory).
    public var maxPipeline = 512
    /// Seconds of the peer's observed rate to keep in flight.
    public var pipelineSeconds = 0.5
    /// Received bytes waiting to be written before we stop requesting more:
    /// the network can outrun the disk, and memory must stay flat. 2 MiB
    /// (128 blocks) keeps the disk busy: at 1 GiB on loopback the speed was
    /// the same as with 16 MiB, the leecher's peak RSS 48 MiB instead of 76.
    public var maxPendingWriteBytes = 2 << 20
    /// Received bytes gathered before a write (fewer, larger writes: see
    /// `TorrentSession.writeNextBatch`)...
    public var writeBatchBytes = 1 << 20
    /// ...and seconds blocks may be held back for it.
    public var writeBatchDelay = 0.02
    /// Most queued uploads per peer; beyond, requests are dropped.
    public var maxQueuedUploads = 512
    /// Blocks read from disk for one peer at a time (64 × 16 KiB = 1 MiB);
    /// with the socket's write-buffer mark this bounds a seeder's memory
    /// per peer whatever the peer's speed.
    public var maxReadsInFlight = 64
    /// A request unanswered this long goes to another peer; a peer that
    /// sends no requested block for this long while owing some is dropped.
    public var requestTimeout = 20.0
    /// Seconds before dialling again a peer that traded data and left...
    public var redialDelay = 2.0
    /// ...and one whose connection came to nothing, doubled each time in a
    /// row, at most `maxRedialDelay`.
    public var fruitlessRedialDelay = 5.0
    public var maxRedialDelay = 600.0
    /// No bytes from a peer for this long: disconnect.
    public var idleTimeout = 150.0
    /// Keep-alive when nothing was sent for this long.
    public var keepAliveInterval = 60.0
    /// The original's exploration: share of picks that go to a random peer
    /// rather than the fastest one.
    public var randomPeerShare = 0.1
    /// Request nothing until the swarm holds this many seeders...
    public var waitSeeders = 1
    /// ...and this many other leechers (the original's thresholds).
    public var waitLeechers = 0
    /// Verified pieces are recorded here (nil: not recorded).
    public var resumePath: String?
    /// Seconds between resume-state saves while pieces arrive.
    public var resumeSaveInterval = 5.0
    /// When seeding under an upload limit, tell each peer about a few pieces
    /// nobody else was given yet (BEP 16 style), so leechers hold
    /// different pieces and the seeder's scarce upload sends each piece once.
    public var superSeeding = true
    /// Bytes of pieces a super-seeding peer may have revealed but not yet
    /// announced back.
    public var revealWindowBytes = 2 << 20
    /// Redundant messages (repeated haves, keep-alives, repeated choke or
    /// interest states, unknown extension messages) tolerated in a burst
    /// before a peer is dropped as flooding; 50 a second are forgiven.
    public var maxRedundantBurst = 500.0
    /// Blocks nobody asked for tolerated before a peer is dropped.
    public var maxUnrequestedBlocks = 4

    public init() {}
}
