import Logging
import Metainfo

/// Keeps one torrent announced to its trackers: `started`, then a regular
/// announce at the tracker's interval, `completed` when told, `stopped` at
/// the end. Trackers are tried in BEP 12 tier order; the one that answers
/// moves to the front of its tier. When every tracker fails, rounds are
/// retried on a `BackoffSchedule`.
public actor Announcer {
    /// Transfer totals reported in each announce.
    public struct Totals: Sendable {
        public var uploaded: Int64
        public var downloaded: Int64
        public var left: Int64

        public init(uploaded: Int64, downloaded: Int64, left: Int64) {
            self.uploaded = uploaded
            self.downloaded = downloaded
            self.left = left
        }
    }

    public struct Settings: Sendable {
        public var port: UInt16
        public var numwant = 50
        /// The address to announce (`ip=`), when bound to one interface.
        public var ip: IPAddress?
        public var backoff = BackoffSchedule()
        /// Longest wait between announces, whatever the tracker says.
        public var maximumInterval: Duration = .seconds(1800)

        public init(port: UInt16) {
            self.port = port
        }
    }

    public let infoHash: InfoHash
    public let peerID: PeerID
    private var settings: Settings
    private let client: TrackerClient
    private let totals: @Sendable () async -> Totals
    private let onResponse: @Sendable (AnnounceResponse) async -> Void
    private let logger: Logger
    private var tiers: [[TrackerURL]]
    private var started = false
    public private(set) var lastResponse: AnnounceResponse?
    public private(set) var lastError: TrackerClientError?
    public private(set) var consecutiveFailures = 0

    /// - Parameters:
    ///   - trackers: BEP 12 tiers of URLs; unusable URLs are logged and skipped.
    ///   - totals: read before each announce.
    ///   - onResponse: receives every successful reply (peers, counts).
    public init(
        trackers: [[String]], infoHash: InfoHash, peerID: PeerID, settings: Settings,
        client: TrackerClient = TrackerClient(), logger: Logger = Logger(label: "microtorr.announce"),
        totals: @escaping @Sendable () async -> Totals,
        onResponse: @escaping @Sendable (AnnounceResponse) async -> Void
    ) {
        self.infoHash = infoHash
        self.peerID = peerID
        self.settings = settings
        self.client = client
        self.logger = logger
        self.totals = totals
        self.onResponse = onResponse
        tiers = Self.usableTiers(trackers, logger: logger)
    }

    /// Parsed tiers, each shuffled once (BEP 12: then keep the order that
    /// works); unusable URLs are logged and left out.
    private static func usableTiers(_ trackers: [[String]], logger: Logger) -> [[TrackerURL]] {
        var usable: [[TrackerURL]] = []
        for tier in trackers {
            var urls: [TrackerURL] = []
            for text in tier {
                do throws(TrackerClientError) {
                    urls.append(try TrackerURL(text))
                } catch {
                    logger.warning("tracker skipped", metadata: ["event": "tracker.skipped", "url": .string(text), "error": .string(error.description)])
                }
            }
            if !urls.isEmpty { usable.append(urls.shuffled()) }
        }
        return usable
    }

    /// Announces to other trackers from the next round on, starting with
    /// `started` there.
    public func setTrackers(_ trackers: [[String]]) {
        tiers = Self.usableTiers(trackers, logger: logger)
        started = false
    }

    public var hasTrackers: Bool { !tiers.isEmpty }

    /// One announce round through the tiers; the first answer wins.
    @discardableResult
    public func announce(_ event: AnnounceEvent) async throws(TrackerClientError) -> AnnounceResponse {
        guard !tiers.isEmpty else { throw .unsupportedURL("", "no usable tracker") }
        let current = await totals()
        var request = AnnounceRequest(infoHash: infoHash, peerID: peerID, port: settings.port)
        request.event = event
        request.uploaded = current.uploaded
        request.downloaded = current.downloaded
        request.left = current.left
        request.ip = settings.ip
        request.numwant = event == .stopped ? 0 : settings.numwant
        var lastFailure = TrackerClientError.timedOut
        for tierIndex in tiers.indices {
            for url in tiers[tierIndex] {
                do throws(TrackerClientError) {
                    let response = try await client.announce(request, to: url)
                    // Another announce may have reordered the tier meanwhile
                    // (the actor is re-entered at each await): find it again.
                    if let position = tiers[tierIndex].firstIndex(of: url) {
                        tiers[tierIndex].remove(at: position)
                        tiers[tierIndex].insert(url, at: 0)
                    }
                    lastResponse = response
                    lastError = nil
                    consecutiveFailures = 0
                    logger.debug("announced", metadata: [
                        "event": "tracker.announced", "info_hash": .string(infoHash.hex), "url": .string(url.description),
                        "announce_event": .string(event == .none ? "none" : event.rawValue),
                        "peers": .stringConvertible(response.peers.count),
                    ])
                    if event != .stopped { await onResponse(response) }
                    return response
                } catch {
                    lastFailure = error
                    logger.debug("tracker failed", metadata: [
                        "event": "tracker.failed", "url": .string(url.description), "error": .string(error.description),
                    ])
                }
            }
        }
        lastError = lastFailure
        consecutiveFailures += 1
        throw lastFailure
    }

    /// Announces until the calling task is cancelled: `started` first (until
    /// one succeeds), then regular announces. Call `stop()` afterwards.
    public func run() async {
        while !Task.isCancelled {
            let wait: Duration
            do throws(TrackerClientError) {
                let response = try await announce(started ? .none : .started)
                started = true
                let interval = Duration.seconds(max(response.interval, response.minInterval ?? 1, 1))
                wait = min(interval, settings.maximumInterval)
            } catch {
                if Task.isCancelled { return }  // stopping, not a tracker problem
                wait = settings.backoff.delay(afterFailures: consecutiveFailures)
                logger.warning("no tracker answered", metadata: [
                    "event": "tracker.unreachable", "info_hash": .string(infoHash.hex), "error": .string(error.description),
                    "retry_s": .stringConvertible(wait.components.seconds),
                ])
            }
            try? await Task.sleep(for: wait)
        }
    }

    /// Where peers reach us from the next announce on (the daemon moved to
    /// another port).
    public func setPort(_ port: UInt16) {
        settings.port = port
    }

    /// Sends `completed` now (the download just finished).
    public func completed() async {
        _ = try? await announce(.completed)
    }

    /// Sends `stopped` if anything was announced, within `timeout`.
    public func stop(timeout: Duration = .seconds(3)) async {
        guard started || lastResponse != nil else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await self.announce(.stopped) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
