/// One torrent's peers as the tracker sees them.
///
/// Peers live in a dense array with an index by id, so adding, removing
/// (swap with last) and sampling a random window are all O(1) per peer.
struct Swarm: Sendable {
    struct Peer: Sendable {
        let id: PeerID
        var endpoint: PeerEndpoint
        var isSeeder: Bool
        var lastSeen: Double
    }

    private(set) var peers: [Peer] = []
    private var index: [PeerID: Int] = [:]
    private(set) var seeders = 0
    /// Completed downloads seen (`downloaded` in scrape replies).
    var completions = 0

    var leechers: Int { peers.count - seeders }
    var count: Int { peers.count }

    func peer(_ id: PeerID) -> Peer? { index[id].map { peers[$0] } }

    /// Adds or refreshes a peer; returns whether it was new.
    @discardableResult
    mutating func upsert(_ peer: Peer) -> Bool {
        if let position = index[peer.id] {
            if peers[position].isSeeder != peer.isSeeder { seeders += peer.isSeeder ? 1 : -1 }
            peers[position] = peer
            return false
        }
        index[peer.id] = peers.count
        peers.append(peer)
        if peer.isSeeder { seeders += 1 }
        return true
    }

    @discardableResult
    mutating func remove(_ id: PeerID) -> Bool {
        guard let position = index.removeValue(forKey: id) else { return false }
        if peers[position].isSeeder { seeders -= 1 }
        let last = peers.removeLast()
        if position < peers.count {
            peers[position] = last
            index[last.id] = position
        }
        return true
    }

    /// Drops peers last seen before `deadline`; returns how many.
    mutating func expire(before deadline: Double) -> Int {
        // Backwards, in place: `remove` moves the last peer into the hole,
        // and that one was already looked at.
        var removed = 0
        for position in stride(from: peers.count - 1, through: 0, by: -1) where peers[position].lastSeen < deadline {
            remove(peers[position].id)
            removed += 1
        }
        return removed
    }

    /// Up to `count` peers other than `asker`, from a random starting point;
    /// seeders are given only leechers (they need nothing from seeders).
    func sample(
        _ count: Int, excluding asker: PeerID, leechersOnly: Bool, using random: inout some RandomNumberGenerator
    ) -> [SwarmRegistry.Reply.Peer] {
        guard count > 0, !peers.isEmpty else { return [] }
        var chosen: [SwarmRegistry.Reply.Peer] = []
        chosen.reserveCapacity(min(count, peers.count))
        let start = Int.random(in: 0..<peers.count, using: &random)
        for step in 0..<peers.count {
            let peer = peers[(start + step) % peers.count]
            if peer.id == asker || (leechersOnly && peer.isSeeder) { continue }
            chosen.append((peer.id, peer.endpoint))
            if chosen.count == count { break }
        }
        return chosen
    }
}
