import Metainfo

/// Every swarm the tracker knows: the tracker's whole state as a plain value,
/// so its rules (caps, expiry, seeder counting) are tested with a clock the
/// test controls. `TrackerService` owns the one instance behind a lock.
public struct SwarmRegistry: Sendable {
    public struct Limits: Sendable {
        public var maxPeersPerSwarm = 10_000
        public var maxSwarms = 100_000
        public var defaultNumwant = 50
        public var maxNumwant = 200

        public init() {}
    }

    public struct Reply: Sendable {
        /// A peer as a reply lists it.
        public typealias Peer = (id: PeerID, endpoint: PeerEndpoint)
        public let peers: [Peer]
        public let complete: Int
        public let incomplete: Int
    }

    public struct ScrapeEntry: Sendable, Hashable {
        public let complete: Int
        public let downloaded: Int
        public let incomplete: Int
    }

    public var limits: Limits
    private(set) var swarms: [InfoHash: Swarm] = [:]
    public private(set) var peerCount = 0
    public private(set) var seederCount = 0
    /// Where each reply's peer list starts.
    private var random = FastRandom()

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public var swarmCount: Int { swarms.count }

    /// Records an announce from `endpoint` at time `now` (seconds) and picks
    /// the peers to return.
    public mutating func announce(_ request: AnnounceRequest, from endpoint: PeerEndpoint, now: Double) throws(TrackerFailure) -> Reply {
        let position: Dictionary<InfoHash, Swarm>.Index
        if let existing = swarms.index(forKey: request.infoHash) {
            position = existing
        } else if request.event == .stopped {
            return Reply(peers: [], complete: 0, incomplete: 0)
        } else {
            guard swarms.count < limits.maxSwarms else { throw TrackerFailure("tracker is full: too many torrents") }
            swarms[request.infoHash] = Swarm()
            position = swarms.index(forKey: request.infoHash)!
        }
        // Mutated in place through the index: copying a swarm out and back
        // would copy its peer array on every announce.
        let peersBefore = swarms.values[position].count
        let seedersBefore = swarms.values[position].seeders
        let reply = Self.record(request, from: endpoint, now: now, limits: limits, random: &random, in: &swarms.values[position])
        peerCount += swarms.values[position].count - peersBefore
        seederCount += swarms.values[position].seeders - seedersBefore
        if swarms.values[position].count == 0 { swarms.remove(at: position) }
        return reply
    }

    private static func record(
        _ request: AnnounceRequest, from endpoint: PeerEndpoint, now: Double, limits: Limits, random: inout FastRandom,
        in swarm: inout Swarm
    ) -> Reply {
        if request.event == .stopped {
            swarm.remove(request.peerID)
            return Reply(peers: [], complete: swarm.seeders, incomplete: swarm.leechers)
        }
        let previous = swarm.peer(request.peerID)
        let isSeeder = request.left == 0
        if previous != nil || swarm.count < limits.maxPeersPerSwarm {
            // A full swarm still answers a newcomer; it just is not listed.
            swarm.upsert(Swarm.Peer(id: request.peerID, endpoint: endpoint, isSeeder: isSeeder, lastSeen: now))
            if request.event == .completed, previous?.isSeeder != true { swarm.completions += 1 }
        }
        let wanted = min(request.numwant ?? limits.defaultNumwant, limits.maxNumwant)
        let peers = swarm.sample(wanted, excluding: request.peerID, leechersOnly: isSeeder, using: &random)
        return Reply(peers: peers, complete: swarm.seeders, incomplete: swarm.leechers)
    }

    /// Drops peers silent since before `now - timeout`, and empty swarms.
    @discardableResult
    public mutating func expire(now: Double, timeout: Double) -> Int {
        var removed = 0
        var emptied: [InfoHash] = []
        // A hand-driven index: `swarms.indices` would hold a copy of the
        // dictionary, and the first write would then copy every swarm.
        var position = swarms.startIndex
        while position != swarms.endIndex {
            defer { swarms.formIndex(after: &position) }
            let seedersBefore = swarms.values[position].seeders
            let count = swarms.values[position].expire(before: now - timeout)
            guard count > 0 else { continue }
            removed += count
            peerCount -= count
            seederCount -= seedersBefore - swarms.values[position].seeders
            if swarms.values[position].count == 0 { emptied.append(swarms.keys[position]) }
        }
        for hash in emptied { swarms[hash] = nil }
        return removed
    }

    /// Counts for the given swarms, or for all when `hashes` is empty.
    public func scrape(_ hashes: [InfoHash]) -> [(InfoHash, ScrapeEntry)] {
        let keys = hashes.isEmpty ? Array(swarms.keys) : hashes
        return keys.map { hash in
            let swarm = swarms[hash]
            return (hash, ScrapeEntry(complete: swarm?.seeders ?? 0, downloaded: swarm?.completions ?? 0, incomplete: swarm?.leechers ?? 0))
        }
    }
}
