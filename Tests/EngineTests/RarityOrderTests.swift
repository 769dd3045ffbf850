import Testing
@testable import Engine

@Suite("Rarity order")
struct RarityOrderTests {
    /// Random joins, leaves and availability changes, checked after each
    /// step against a plain dictionary: every member sits in the bucket of
    /// its availability, and the search finds a rarest accepted piece.
    @Test(arguments: [1, 2, 3])
    func staysInStepWithAPlainModel(seed: Int) {
        let pieceCount = 40
        var order = RarityOrder(pieceCount: pieceCount)
        var availability = [Int](repeating: 0, count: pieceCount)
        var members = Set<Int>()
        var random = SplitMix64(state: UInt64(seed))
        for step in 0..<4000 {
            let piece = Int.random(in: 0..<pieceCount, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                order.insert(piece, availability: availability[piece])
                members.insert(piece)
            case 1:
                order.remove(piece, availability: availability[piece])
                members.remove(piece)
            case 2:
                order.increment(piece, from: availability[piece])
                availability[piece] += 1
            default:
                guard availability[piece] > 0 else { continue }
                order.decrement(piece, from: availability[piece])
                availability[piece] -= 1
            }
            let listed = order.members
            #expect(Set(listed.map(\.piece)) == members, "step \(step)")
            #expect(listed.count == members.count, "step \(step): a piece listed twice")
            #expect(listed.allSatisfy { availability[$0.piece] == $0.availability }, "step \(step)")
            #expect(members.allSatisfy(order.contains))

            let wanted = Set((0..<pieceCount).filter { _ in Bool.random(using: &random) })
            let found = order.rarest(using: &random) { wanted.contains($0) }
            let candidates = members.filter { wanted.contains($0) && availability[$0] > 0 }
            if let rarest = candidates.map({ availability[$0] }).min() {
                #expect(found.map { candidates.contains($0) && availability[$0] == rarest } == true, "step \(step)")
            } else {
                #expect(found == nil, "step \(step)")
            }
        }
    }

    /// Equally rare pieces come out in varied order: not always the same
    /// one first, whatever order the availability changes came in.
    @Test func equallyRarePiecesComeOutAtRandom() {
        var firsts = Set<Int>()
        for seed in 0..<64 {
            var order = RarityOrder(pieceCount: 16)
            for piece in 0..<16 { order.insert(piece, availability: 0) }
            for piece in 0..<16 { order.increment(piece, from: 0) }
            var random = SplitMix64(state: UInt64(seed))
            firsts.insert(order.rarest(using: &random) { _ in true } ?? -1)
        }
        #expect(firsts.count >= 12, "only \(firsts.sorted()) came first")
    }

    /// A peer with half of a bucket (a partial seed holding the first
    /// half): each of its pieces comes first about equally often. Searched
    /// in index order, piece 0 came first half the time (after the run of
    /// the second half, which the search wraps around from).
    @Test func aPeerWithPartOfABucketGetsEachOfItsPiecesEquallyOften() throws {
        let pieceCount = 100
        let trials = 10_000
        var counts = [Int](repeating: 0, count: pieceCount)
        var random = SplitMix64(state: 42)
        for trial in 0..<trials {
            var order = RarityOrder(pieceCount: pieceCount, seed: UInt64(trial))
            for piece in 0..<pieceCount { order.insert(piece, availability: 0) }
            for piece in 0..<pieceCount { order.increment(piece, from: 0) }
            let first = order.rarest(using: &random) { $0 < pieceCount / 2 }
            counts[try #require(first)] += 1
        }
        // 200 expected for each of the 50 (binomial σ ≈ 14).
        let held = counts[0..<(pieceCount / 2)]
        #expect(counts[(pieceCount / 2)...].allSatisfy { $0 == 0 })
        #expect(held.min()! >= 120 && held.max()! <= 290, "picks per piece from \(held.min()!) to \(held.max()!)")
    }
}

extension RarityOrder {
    /// The pieces and their buckets: (piece, availability).
    var members: [(piece: Int, availability: Int)] {
        var result: [(piece: Int, availability: Int)] = []
        var start = 0
        for (bucket, end) in ends.enumerated() {
            for index in start..<end { result.append((Int(order[index]), bucket)) }
            start = end
        }
        return result
    }
}

extension PiecePicker {
    /// What breaks the bookkeeping's invariants, if anything: `fresh` holds
    /// exactly the pieces neither had, started nor being verified, each
    /// under its availability; `unrequested` exactly the started pieces
    /// with a block nobody was asked for; a started piece's counts match
    /// its blocks; a block is asked of distinct peers, at most
    /// `endgameCopies`.
    func invariantViolation() -> String? {
        let members = fresh.members
        let expected = (0..<geometry.pieceCount).filter { !have[$0] && partial[$0] == nil && !verifying.contains($0) }
        if members.map(\.piece).sorted() != expected { return "fresh holds \(members.map(\.piece).sorted()), not \(expected)" }
        if let wrong = members.first(where: { availability[$0.piece] != $0.availability }) {
            return "piece \(wrong.piece) in bucket \(wrong.availability), availability \(availability[wrong.piece])"
        }
        for (piece, state) in partial {
            for case .requested(let holders) in state.blocks
            where holders.isEmpty || Set(holders).count != holders.count || holders.count > endgameCopies {
                return "piece \(piece) has a block requested of \(holders)"
            }
            let missing = state.blocks.count { $0 == .missing }, received = state.blocks.count { $0 == .received }
            if state.missingCount != missing || state.receivedCount != received {
                return "piece \(piece) counts \(state.missingCount) missing, \(state.receivedCount) received; has \(missing), \(received)"
            }
        }
        let started = Set(partial.filter { $0.value.blocks.contains(.missing) }.keys)
        if started != unrequested { return "unrequested is \(unrequested.sorted()), not \(started.sorted())" }
        return nil
    }
}
