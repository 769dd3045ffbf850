import Logging
import Metainfo
import Synchronization

/// The tracker's request handling: routes a request target to announce,
/// scrape or metrics and produces the reply. It owns the registry behind a
/// mutex (held only for the registry update, never for I/O), so any number
/// of event loops can serve requests.
public final class TrackerService: Sendable {
    public let configuration: TrackerConfiguration
    private let registry: Mutex<SwarmRegistry>
    private let clock: @Sendable () -> Double
    private let metrics = TrackerMetrics()
    private let whitelist: Whitelist?
    private let logger: Logger

    /// - Parameter clock: seconds on a monotonic scale (tests pass their own).
    public init(configuration: TrackerConfiguration, logger: Logger = Logger(label: "microtorr.tracker"),
                clock: @escaping @Sendable () -> Double = MonotonicClock.seconds) {
        self.configuration = configuration
        self.registry = Mutex(SwarmRegistry(limits: configuration.limits))
        self.clock = clock
        self.logger = logger
        self.whitelist = configuration.whitelistDirectory.map(Whitelist.init(directory:))
        if let whitelist {
            for (file, error) in whitelist.reload() {
                logger.warning("whitelist file ignored", metadata: ["event": "tracker.whitelist_invalid", "file": .string(file), "error": .string(error)])
            }
        }
    }

    /// Answers `GET target` from `source` (nil when unknown, e.g. in tests).
    public func handle(target: String, source: IPAddress?) -> HTTPReply {
        let path: Substring
        let query: Substring
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = target[target.index(after: mark)...]
        } else {
            path = Substring(target)
            query = ""
        }
        switch path {
        case "/announce":
            return bencoded(announce(query: query, source: source))
        case "/scrape":
            return bencoded(scrape(query: query))
        case "/metrics":
            let counts = registry.withLock { ($0.swarmCount, $0.peerCount, $0.seederCount) }
            return HTTPReply(status: 200, contentType: "text/plain; version=0.0.4",
                                    body: metrics.render(swarmCount: counts.0, peerCount: counts.1, seederCount: counts.2))
        default:
            return .text("not found\n", status: 404)
        }
    }

    /// Drops silent peers; run periodically.
    @discardableResult
    public func expirePeers() -> Int {
        let now = clock()
        return registry.withLock { $0.expire(now: now, timeout: Double(configuration.peerTimeout)) }
    }

    /// Rereads the whitelist directory (blocking: call off the event loop).
    public func reloadWhitelist() {
        guard let whitelist else { return }
        for (file, error) in whitelist.reload() {
            logger.warning("whitelist file ignored", metadata: ["event": "tracker.whitelist_invalid", "file": .string(file), "error": .string(error)])
        }
    }

    public var counts: (swarms: Int, peers: Int, seeders: Int) {
        registry.withLock { ($0.swarmCount, $0.peerCount, $0.seederCount) }
    }

    private func bencoded(_ result: Result<(body: [UInt8], contentType: String), TrackerFailure>) -> HTTPReply {
        switch result {
        case .success(let reply):
            return HTTPReply(status: 200, contentType: reply.contentType, body: reply.body)
        case .failure(let failure):
            // Clients expect 200 with a bencoded reason, not an HTTP error.
            return HTTPReply(status: 200, contentType: "text/plain", body: AnnounceReply.failure(failure.reason))
        }
    }

    private func announce(query: Substring, source: IPAddress?) -> Result<(body: [UInt8], contentType: String), TrackerFailure> {
        do throws(TrackerFailure) {
            guard query.utf8.count <= configuration.maxRequestTargetLength else { throw TrackerFailure("request too long") }
            let request = try AnnounceRequest(query: QueryParameters(parsing: query.utf8))
            if let whitelist, !whitelist.contains(request.infoHash) {
                throw TrackerFailure("torrent not tracked here")
            }
            guard let address = Self.peerAddress(claimed: request.ip, source: source) else {
                throw TrackerFailure("cannot determine peer address")
            }
            let endpoint = PeerEndpoint(ip: address, port: request.port)
            let now = clock()
            let reply = try registry.withLock { (registry) throws(TrackerFailure) in
                try registry.announce(request, from: endpoint, now: now)
            }
            metrics.announced(ok: true)
            logger.debug("announce", metadata: [
                "event": "tracker.announce", "info_hash": .string(request.infoHash.hex), "peer": .string(endpoint.description),
                "announce_event": .string(request.event == .none ? "none" : request.event.rawValue),
                "left": .stringConvertible(request.left), "returned": .stringConvertible(reply.peers.count),
            ])
            if request.wantsJSON {
                return .success((AnnounceReply.json(reply, configuration: configuration), "application/json"))
            }
            return .success((AnnounceReply.bencoded(reply, request: request, configuration: configuration), "text/plain"))
        } catch {
            metrics.announced(ok: false)
            logger.debug("announce refused", metadata: ["event": "tracker.announce_refused", "error": .string(error.reason)])
            return .failure(error)
        }
    }

    private func scrape(query: Substring) -> Result<(body: [UInt8], contentType: String), TrackerFailure> {
        do throws(TrackerFailure) {
            guard query.utf8.count <= configuration.maxRequestTargetLength else { throw TrackerFailure("request too long") }
            let raw = try QueryParameters(parsing: query.utf8).all("info_hash")
            var hashes: [InfoHash] = []
            for bytes in raw {
                guard let hash = InfoHash(bytes: bytes) else { throw TrackerFailure("info_hash must be 20 bytes, got \(bytes.count)") }
                hashes.append(hash)
            }
            if let whitelist { hashes = hashes.filter(whitelist.contains) }
            let entries = registry.withLock { $0.scrape(hashes) }
            metrics.scraped()
            return .success((AnnounceReply.scrape(entries), "text/plain"))
        } catch {
            return .failure(error)
        }
    }

    /// The connection's source address, or the claimed `ip` when both are
    /// loopback or private: a public client can never point a swarm at a
    /// third party. A loopback claim is taken only from loopback: from a
    /// LAN host it would send every other peer to its own localhost.
    static func peerAddress(claimed: IPAddress?, source: IPAddress?) -> IPAddress? {
        guard let claimed, let source, claimed.isLoopbackOrPrivate, source.isLoopbackOrPrivate else { return source }
        if claimed.isLoopback, !source.isLoopback { return source }
        return claimed
    }
}

#if canImport(Glibc)
import Glibc
#endif
