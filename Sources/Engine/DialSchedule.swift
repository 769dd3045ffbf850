import TrackerKit

/// When to dial each peer address we know of. A new address is dialled at
/// once; one whose connection traded data, soon after it ended; one whose
/// connections come to nothing (refused, closed before or right after the
/// handshake, ended with nothing traded: a seed meeting our seed, a client
/// that turns us away) after a delay that doubles each time in a row, up to
/// a cap, so it is not dialled every few seconds for as long as we run. A
/// dial counts as under way until its handshake is accepted or the
/// connection ends; one we turned away for our own peer cap goes again
/// after `capRetry`; our own address never. At most `capacity` addresses are kept (a long-lived
/// swarm's churn, or a hostile tracker, must not grow it without bound):
/// a newcomer takes the place of the address that failed most in a row,
/// else of one never to be dialled (which may then be dialled once more if
/// learnt again). An address forgotten while its connection is open comes
/// back when that ends: the table may exceed `capacity` by at most the
/// connections open. Plain data, given the time by its owner (the session).
struct DialSchedule: Sendable {
    struct Delays: Sendable {
        /// After a connection that traded data.
        var fruitful: Double
        /// After fruitless ones in a row.
        var fruitless: BackoffSchedule
    }

    /// After we refused a dialled peer for our own peer cap.
    static let capRetry = 30.0

    let delays: Delays
    let capacity: Int
    /// Endpoint → earliest next dial (`.infinity`: never).
    private var due: [PeerEndpoint: Double] = [:]
    /// Fruitless connections in a row, per endpoint.
    private var fruitlessInARow: [PeerEndpoint: Int] = [:]
    /// Dialled, handshake not yet accepted nor the connection ended: they
    /// take peer slots.
    private(set) var dialling: Set<PeerEndpoint> = []

    init(delays: Delays, capacity: Int = 2000) {
        self.delays = delays
        self.capacity = max(1, capacity)
    }

    /// Adds an address (from a tracker or the command line); one already
    /// known keeps its schedule. When full, a newcomer replaces the address
    /// with the most fruitless dials in a row, if any failed at all.
    mutating func learn(_ endpoint: PeerEndpoint, now: Double) {
        guard due[endpoint] == nil else { return }
        if due.count >= capacity {
            guard let victim = evictable() else { return }
            due[victim] = nil
            fruitlessInARow[victim] = nil
        }
        due[endpoint] = now
    }

    /// The address that failed most in a row, else one never to be dialled;
    /// none being dialled.
    private func evictable() -> PeerEndpoint? {
        var worst: (endpoint: PeerEndpoint, count: Int)?
        for (endpoint, count) in fruitlessInARow where count > (worst?.count ?? 0) && !dialling.contains(endpoint) {
            worst = (endpoint, count)
        }
        if let worst { return worst.endpoint }
        return due.first { $0.value == .infinity && !dialling.contains($0.key) }?.key
    }

    /// Never dials `endpoint` again (we dialled ourselves, or a seed while
    /// we seed). Only for addresses we dial: an inbound peer's address has
    /// a passing source port.
    mutating func never(_ endpoint: PeerEndpoint) {
        dialling.remove(endpoint)
        due[endpoint] = .infinity
        fruitlessInARow[endpoint] = nil
    }

    /// A connection to `endpoint` we dialled ended: after trading data, or
    /// (`fruitful` false) without: refused, timed out, closed before or
    /// right after its handshake, turned away by us.
    mutating func ended(_ endpoint: PeerEndpoint, fruitful: Bool, now: Double) {
        dialling.remove(endpoint)
        guard due[endpoint] != .infinity else { return }
        guard !fruitful else {
            fruitlessInARow[endpoint] = nil
            due[endpoint] = now + delays.fruitful
            return
        }
        let count = (fruitlessInARow[endpoint] ?? 0) + 1
        fruitlessInARow[endpoint] = count
        due[endpoint] = now + delays.fruitless.seconds(afterFailures: count)
    }

    /// Its handshake was accepted: a peer now, no longer a dial.
    mutating func accepted(_ endpoint: PeerEndpoint) {
        dialling.remove(endpoint)
    }

    /// We turned it away for our own peer cap: tried again later, no
    /// back-off (it did nothing wrong).
    mutating func postponed(_ endpoint: PeerEndpoint, now: Double) {
        dialling.remove(endpoint)
        if due[endpoint] != .infinity { due[endpoint] = now + Self.capRetry }
    }

    /// Up to `limit` endpoints due by `now`, none being dialled and none
    /// `excluded` (connected already, banned); they count as being dialled.
    mutating func takeDue(now: Double, limit: Int, excluding excluded: (PeerEndpoint) -> Bool) -> [PeerEndpoint] {
        var taken: [PeerEndpoint] = []
        for (endpoint, time) in due where taken.count < limit && time <= now && !dialling.contains(endpoint) && !excluded(endpoint) {
            taken.append(endpoint)
        }
        dialling.formUnion(taken)
        return taken
    }

    /// When `endpoint` may be dialled next (nil: unknown); for tests.
    func nextDial(of endpoint: PeerEndpoint) -> Double? { due[endpoint] }
}
