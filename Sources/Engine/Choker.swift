/// Who may download from us: the tit-for-tat choker of BEP 3 practice.
/// Four regular slots go to the interested peers with the best rate (what
/// they give us while we leech, what they take while we seed), re-evaluated
/// every 10 s; one optimistic slot goes to a random other interested peer,
/// rotated every 30 s, so newcomers get a chance to show their rate. A pure
/// value: the session passes the peers, the clock and the randomness.
public struct Choker: Sendable {
    public typealias PeerKey = PiecePicker.PeerKey

    public struct Candidate: Sendable {
        public var key: PeerKey
        public var isInterested: Bool
        /// Bytes per second that rank this peer.
        public var rate: Double

        public init(key: PeerKey, isInterested: Bool, rate: Double) {
            self.key = key
            self.isInterested = isInterested
            self.rate = rate
        }
    }

    public var regularSlots = 4
    public var rechokeInterval = 10.0
    public var optimisticInterval = 30.0

    public private(set) var regular: Set<PeerKey> = []
    public private(set) var optimistic: PeerKey?
    private var optimisticSince = -Double.infinity
    private var lastRechoke = -Double.infinity

    public init() {}

    /// The peers unchoked now.
    public var unchoked: Set<PeerKey> {
        var set = regular
        if let optimistic { set.insert(optimistic) }
        return set
    }

    /// Whether a full re-evaluation is due.
    public func isRechokeDue(now: Double) -> Bool {
        now - lastRechoke >= rechokeInterval
    }

    /// The full evaluation: best rates get the regular slots, the optimistic
    /// slot rotates when its time is up. Returns the unchoked set.
    @discardableResult
    public mutating func rechoke<R: RandomNumberGenerator>(_ candidates: [Candidate], now: Double, using random: inout R) -> Set<PeerKey> {
        lastRechoke = now
        // Shuffle first so equal rates are ordered at random.
        let ranked = candidates.filter(\.isInterested).shuffled(using: &random).sorted { $0.rate > $1.rate }
        regular = Set(ranked.prefix(regularSlots).map(\.key))
        chooseOptimistic(candidates, now: now, force: now - optimisticSince >= optimisticInterval, using: &random)
        return unchoked
    }

    /// Between evaluations (a peer became interested, lost interest or
    /// left): free slots are filled, nobody unchoked is choked for rate.
    @discardableResult
    public mutating func update<R: RandomNumberGenerator>(_ candidates: [Candidate], now: Double, using random: inout R) -> Set<PeerKey> {
        let interested = Set(candidates.filter(\.isInterested).map(\.key))
        regular.formIntersection(interested)
        if let current = optimistic, !interested.contains(current) { optimistic = nil }
        let waiting = candidates.filter { $0.isInterested && !unchoked.contains($0.key) }
            .shuffled(using: &random).sorted { $0.rate > $1.rate }
        for candidate in waiting where regular.count < regularSlots {
            regular.insert(candidate.key)
        }
        chooseOptimistic(candidates, now: now, force: false, using: &random)
        return unchoked
    }

    private mutating func chooseOptimistic<R: RandomNumberGenerator>(_ candidates: [Candidate], now: Double, force: Bool, using random: inout R) {
        let interested = Set(candidates.filter(\.isInterested).map(\.key))
        let keep = optimistic.map { !force && interested.contains($0) && !regular.contains($0) } ?? false
        guard !keep else { return }
        let choices = candidates.filter { $0.isInterested && !regular.contains($0.key) }
        let previous = optimistic
        optimistic = choices.filter { $0.key != previous }.randomElement(using: &random)?.key
            ?? choices.randomElement(using: &random)?.key
        if optimistic != previous || force { optimisticSince = now }
    }
}
