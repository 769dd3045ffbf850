import Metainfo

/// The pieces not yet started, grouped by availability (how many connected
/// peers have each), so the rarest piece a peer has is found without
/// looking at every piece: a scan over all pieces per new piece made a
/// download quadratic in the piece count (README, `Benchmarks/run pieces`:
/// 8.6× slower with 16 384 pieces). The pieces sit
/// in one array, bucket after bucket (availability 0, 1, 2, ...); a piece
/// moves to the next bucket up or down by one swap at the bucket's edge, and
/// joins or leaves with one swap per bucket above it (libtorrent's picker
/// keeps its pieces the same way). Availability lives with the caller, who
/// says what it was before each change.
///
/// Each bucket is kept in random order: a piece entering a bucket trades
/// places with a random member; one leaving is replaced by the bucket's
/// last member, and a piece passing through moves one member from one end
/// to the other. Through insertions and availability changes a bucket
/// stays a uniform shuffle (a piece taken by the search leaves a slight
/// bias, as which one was taken depends on the order). The search
/// (a random start, then the first piece the peer has) then picks each
/// equally rare piece a peer has about equally often; over a bucket kept in
/// index order it picked the piece after the longest run the peer lacks
/// (with a partial seed holding the first half, piece 0 half the time).
struct RarityOrder: Sendable {
    /// Pieces, bucket by bucket.
    private(set) var order: [Int32] = []
    /// Where each piece is in `order`; -1 when absent.
    private var position: [Int32]
    /// `ends[a]`: one past the last index of the bucket of availability `a`
    /// (which starts at `ends[a - 1]`, or 0). The last equals `order.count`.
    private(set) var ends: [Int] = [0]
    /// Where pieces entering a bucket go.
    private var shuffle: FastRandom

    /// With `seed`, the same changes give the same order (tests).
    init(pieceCount: Int, seed: UInt64? = nil) {
        position = [Int32](repeating: -1, count: pieceCount)
        shuffle = seed.map(FastRandom.init(seed:)) ?? FastRandom()
    }

    var isEmpty: Bool { order.isEmpty }

    func contains(_ piece: Int) -> Bool { position[piece] >= 0 }

    private func start(of bucket: Int) -> Int { bucket == 0 ? 0 : ends[bucket - 1] }

    /// `piece`, just placed in `bucket`, trades places with a random
    /// member of it (itself included: the inside-out Fisher–Yates step).
    private mutating func scatter(_ piece: Int, in bucket: Int) {
        let low = start(of: bucket)
        swapAt(Int(position[piece]), Int.random(in: low..<ends[bucket], using: &shuffle))
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        guard i != j else { return }
        order.swapAt(i, j)
        position[Int(order[i])] = Int32(i)
        position[Int(order[j])] = Int32(j)
    }

    /// Adds `piece`, which `availability` peers have.
    mutating func insert(_ piece: Int, availability: Int) {
        guard !contains(piece) else { return }
        while ends.count <= availability { ends.append(order.count) }
        order.append(Int32(piece))
        position[piece] = Int32(order.count - 1)
        var bucket = ends.count - 1
        ends[bucket] += 1
        // Down to its bucket: each step, it trades places with the first
        // piece of its bucket, which then ends the bucket below.
        while bucket > availability {
            swapAt(Int(position[piece]), start(of: bucket))
            ends[bucket - 1] += 1
            bucket -= 1
        }
        scatter(piece, in: availability)
    }

    /// Removes `piece`, which `availability` peers have.
    mutating func remove(_ piece: Int, availability: Int) {
        guard contains(piece) else { return }
        var bucket = availability
        // Up to the last bucket: each step, it trades places with the last
        // piece of its bucket and becomes the first of the next.
        while bucket < ends.count - 1 {
            swapAt(Int(position[piece]), ends[bucket] - 1)
            ends[bucket] -= 1
            bucket += 1
        }
        swapAt(Int(position[piece]), order.count - 1)
        ends[bucket] -= 1
        order.removeLast()
        position[piece] = -1
        trimEmptyTop()
    }

    /// One more peer has `piece` (it had `availability` before).
    mutating func increment(_ piece: Int, from availability: Int) {
        guard contains(piece) else { return }
        if ends.count == availability + 1 { ends.append(order.count) }
        swapAt(Int(position[piece]), ends[availability] - 1)
        ends[availability] -= 1
        scatter(piece, in: availability + 1)
    }

    /// One peer fewer has `piece` (it had `availability` before, at least 1).
    mutating func decrement(_ piece: Int, from availability: Int) {
        guard contains(piece), availability > 0 else { return }
        swapAt(Int(position[piece]), start(of: availability))
        ends[availability - 1] += 1
        scatter(piece, in: availability - 1)
        trimEmptyTop()
    }

    /// Buckets above the commonest piece go, so a search ends there.
    private mutating func trimEmptyTop() {
        while ends.count > 1, ends[ends.count - 2] == order.count { ends.removeLast() }
    }

    /// The availability of the rarest pieces someone has (Int.max: none).
    var lowestFetchableAvailability: Int {
        (1..<ends.count).first { start(of: $0) < ends[$0] } ?? .max
    }

    /// The first piece `accept` takes, rarest bucket first, skipping
    /// availability 0 (a piece nobody has cannot be fetched). Within a
    /// bucket the search starts at a random place and wraps around; as the
    /// bucket is a uniform shuffle, each equally rare piece the peer has is
    /// as likely as any other. For a peer with every piece
    /// (a seed) it looks at one piece; for one lacking most of the bucket,
    /// at many.
    func rarest(using random: inout some RandomNumberGenerator, where accept: (Int) -> Bool) -> Int? {
        for bucket in 1..<ends.count {
            let low = start(of: bucket)
            let high = ends[bucket]
            guard low < high else { continue }
            let first = Int.random(in: low..<high, using: &random)
            for index in first..<high where accept(Int(order[index])) { return Int(order[index]) }
            for index in low..<first where accept(Int(order[index])) { return Int(order[index]) }
        }
        return nil
    }
}
