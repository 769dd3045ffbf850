import Logging
import Synchronization
import TrackerKit

/// A session kept in its swarm by its trackers: announces `started`, then
/// at the tracker's interval, `completed` once the data is verified and on
/// disk, `stopped` at the end; the peers and swarm counts each reply brings
/// go to the session. What `download`, `demo` and the daemon share.
public final class TrackedSession: Sendable {
    public let session: TorrentSession
    public let announcer: Announcer
    private let running = Mutex<Task<Void, Never>?>(nil)

    /// - Parameters:
    ///   - trackers: BEP 12 tiers (the torrent's, or one given instead).
    ///   - port: where peers reach us; `ip` is announced when set (`-i`).
    public init(session: TorrentSession, trackers: [[String]], port: Int, ip: IPAddress? = nil,
                logger: Logger = Logger(label: "microtorr.announce")) {
        self.session = session
        var settings = Announcer.Settings(port: UInt16(clamping: port))
        settings.ip = ip
        announcer = Announcer(
            trackers: trackers, infoHash: session.metainfo.infoHash, peerID: session.peerID, settings: settings, logger: logger,
            totals: {
                let snapshot = session.snapshot
                return .init(uploaded: snapshot.uploaded, downloaded: snapshot.downloaded, left: snapshot.left)
            },
            onResponse: { response in
                session.trackerReported(complete: response.complete, incomplete: response.incomplete)
                session.addPeers(response.peers)
            })
    }

    /// Starts announcing (no-op without a usable tracker).
    public func start() {
        let announcer = self.announcer
        running.withLock { task in
            task = Task { if await announcer.hasTrackers { await announcer.run() } }
        }
        // `completed` is for a download that finishes, not for a seed.
        if !session.snapshot.isComplete {
            session.whenComplete { Task { await announcer.completed() } }
        }
    }

    /// Waits until a tracker answered (true) or `timeout` passed (false).
    public func waitUntilAnnounced(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await announcer.lastResponse != nil { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Stops announcing and says `stopped` while the session stops (its
    /// connections close, resume data is flushed): side by side, so a slow
    /// tracker does not delay the flush.
    public func stop() async {
        if let task = running.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        async let announced: Void = announcer.stop()
        try? await session.stop().get()
        await announced
    }

    /// Announces to `trackers` from now on (the daemon's tracker moved).
    public func setTrackers(_ trackers: [[String]]) async {
        await announcer.setTrackers(trackers)
    }
}
