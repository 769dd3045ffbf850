import Metainfo
import PeerWire
import Testing
@testable import Engine

/// A seeded generator so picks reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension PiecePicker {
    /// A peer with `bitfield` connected (the session reaches this through
    /// `peerChanged` from nothing).
    mutating func peerJoined(has bitfield: Bitfield) {
        peerChanged(had: Bitfield(count: bitfield.count), has: bitfield)
    }
}

@Suite("Piece picker")
struct PiecePickerTests {
    /// 8 pieces of 64 KiB (4 blocks), the last one 20 000 bytes (2 blocks).
    static let geometry = TorrentGeometry(pieceCount: 8, pieceLength: 65536, totalLength: 7 * 65536 + 20_000)

    static func bits(_ pieces: [Int], count: Int = 8) -> Bitfield {
        var bitfield = Bitfield(count: count)
        for piece in pieces { bitfield[piece] = true }
        return bitfield
    }

    @Test func picksTheRarestPieceFirst() {
        var picker = PiecePicker(geometry: Self.geometry)
        var random = SplitMix64(state: 1)
        picker.peerJoined(has: Self.bits(Array(0..<8)))      // seeder
        picker.peerJoined(has: Self.bits([0, 1, 2, 3, 4, 6, 7]))
        picker.peerJoined(has: Self.bits([0, 1, 2, 3, 4, 6]))
        // Piece 5 is on 1 peer, 7 on 2, the rest on 3.
        let first = picker.pickBlocks(for: 1, peerHas: Self.bits(Array(0..<8)), limit: 4, using: &random)
        #expect(Set(first.map(\.piece)) == [5])
        let next = picker.pickBlocks(for: 1, peerHas: Self.bits(Array(0..<8)), limit: 2, using: &random)
        #expect(Set(next.map(\.piece)) == [7])
        #expect(next.map(\.length) == [16384, 3616])  // the short last piece
    }

    /// A bitfield after `have`s replaces them in the counts (each piece
    /// counted once for the peer), and the peer's requests stay.
    @Test func aLateBitfieldReplacesThePeersHaves() {
        var picker = PiecePicker(geometry: Self.geometry)
        var random = SplitMix64(state: 1)
        picker.peerGot(piece: 2)
        picker.peerGot(piece: 5)
        let requested = picker.pickBlocks(for: 1, peerHas: Self.bits([2, 5]), limit: 1, using: &random)
        picker.peerChanged(had: Self.bits([2, 5]), has: Self.bits([2, 3]))
        #expect(picker.availability == [0, 0, 1, 1, 0, 0, 0, 0])
        #expect(picker.releaseRequests(of: 1) == requested, "what was requested before is still in flight from that peer")
    }

    @Test func breaksTiesAtRandom() {
        var seen = Set<Int>()
        for seed in 0..<64 {
            var picker = PiecePicker(geometry: Self.geometry)
            var random = SplitMix64(state: UInt64(seed))
            picker.peerJoined(has: Self.bits(Array(0..<8)))
            seen.insert(picker.pickBlocks(for: 1, peerHas: Self.bits(Array(0..<8)), limit: 1, using: &random)[0].piece)
        }
        #expect(seen.count >= 6, "only \(seen.sorted()) were ever chosen")
    }

    /// Two partial seeds, one with the first half of the pieces, one with
    /// the second: every piece is as rare as any other, and each of the
    /// first one's pieces is its first pick about as often (peers that
    /// start on different pieces have more to trade).
    @Test func eachPieceOfAPartialSeedIsPickedFirstAboutEquallyOften() {
        let geometry = TorrentGeometry(pieceCount: 64, pieceLength: 32768, totalLength: 64 * 32768)
        let firstHalf = Self.bits(Array(0..<32), count: 64)
        var counts = [Int](repeating: 0, count: 64)
        var random = SplitMix64(state: 5)
        for trial in 0..<6400 {
            var picker = PiecePicker(geometry: geometry, seed: UInt64(trial))
            picker.peerJoined(has: firstHalf)
            picker.peerJoined(has: Self.bits(Array(32..<64), count: 64))
            counts[picker.pickBlocks(for: 1, peerHas: firstHalf, limit: 1, using: &random)[0].piece] += 1
        }
        // 200 expected for each of the 32 (σ ≈ 14).
        let picked = counts[0..<32]
        #expect(picked.min()! >= 120 && picked.max()! <= 290, "first picks per piece from \(picked.min()!) to \(picked.max()!)")
    }

    @Test func finishesStartedPiecesBeforeStartingNewOnes() {
        var picker = PiecePicker(geometry: Self.geometry)
        var random = SplitMix64(state: 2)
        // (Not the short last piece: its two blocks would go to the first.)
        let full = Self.bits(Array(0..<7))
        picker.peerJoined(has: full)
        picker.peerJoined(has: full)
        let a = picker.pickBlocks(for: 1, peerHas: full, limit: 2, using: &random)
        let b = picker.pickBlocks(for: 2, peerHas: full, limit: 2, using: &random)
        #expect(Set(a.map(\.piece)) == Set(b.map(\.piece)))
        #expect(Set(a.map(\.offset)).isDisjoint(with: b.map(\.offset)))
    }

    @Test func completesVerifiesAndRefetchesFailedPieces() {
        var picker = PiecePicker(geometry: TorrentGeometry(pieceCount: 2, pieceLength: 32768, totalLength: 65536))
        var random = SplitMix64(state: 3)
        let all = Self.bits([0, 1], count: 2)
        picker.peerJoined(has: all)
        picker.peerJoined(has: all)
        let blocks = picker.pickBlocks(for: 7, peerHas: all, limit: 2, using: &random)
        let piece = blocks[0].piece
        #expect(picker.received(blocks[0], from: 7) == .accepted(cancel: [], pieceComplete: false))
        #expect(picker.received(blocks[0], from: 7) == .unrequested)  // twice
        #expect(picker.received(blocks[1], from: 8) == .unrequested)  // not asked of peer 8
        #expect(picker.received(blocks[1], from: 7) == .accepted(cancel: [], pieceComplete: true))
        #expect(picker.pieceFailed(piece) == [7])
        // Fetched again (by another peer), then verified.
        let again = picker.pickBlocks(for: 8, peerHas: Self.bits([piece], count: 2), limit: 4, using: &random)
        #expect(again.count == 2 && Set(again.map(\.piece)) == [piece])
        for block in again { _ = picker.received(block, from: 8) }
        picker.pieceVerified(piece)
        #expect(picker.have[piece] && picker.have.setCount == 1)
        #expect(picker.pickBlocks(for: 8, peerHas: Self.bits([piece], count: 2), limit: 4, using: &random).isEmpty)
    }

    @Test func aFailedPieceIsRefetchedFromOnePeerOnly() {
        var picker = PiecePicker(geometry: TorrentGeometry(pieceCount: 1, pieceLength: 65536, totalLength: 65536))
        var random = SplitMix64(state: 7)
        let all = Self.bits([0], count: 1)
        for _ in 0..<3 { picker.peerJoined(has: all) }
        // Two peers share the piece; it fails; both are suspects.
        let a = picker.pickBlocks(for: 1, peerHas: all, limit: 2, using: &random)
        let b = picker.pickBlocks(for: 2, peerHas: all, limit: 2, using: &random)
        for block in a { _ = picker.received(block, from: 1) }
        for block in b { _ = picker.received(block, from: 2) }
        #expect(picker.pieceFailed(0) == [1, 2])
        // Peer 3 (not a suspect) takes it alone; the suspects get nothing.
        #expect(picker.pickBlocks(for: 3, peerHas: all, limit: 2, using: &random).count == 2)
        #expect(picker.pickBlocks(for: 1, peerHas: all, limit: 4, using: &random).isEmpty)
        #expect(picker.pickBlocks(for: 2, peerHas: all, limit: 4, using: &random).isEmpty)
    }

    @Test func endgameDuplicatesTheLastBlocksAndCancelsTheLosers() {
        var picker = PiecePicker(geometry: TorrentGeometry(pieceCount: 1, pieceLength: 32768, totalLength: 32768))
        var random = SplitMix64(state: 4)
        let all = Self.bits([0], count: 1)
        for _ in 0..<3 { picker.peerJoined(has: all) }
        let first = picker.pickBlocks(for: 1, peerHas: all, limit: 10, using: &random)
        #expect(first.count == 2)
        #expect(picker.isEndgame)
        let second = picker.pickBlocks(for: 2, peerHas: all, limit: 10, using: &random)
        #expect(second == first)
        let third = picker.pickBlocks(for: 3, peerHas: all, limit: 10, using: &random)
        #expect(third == first)
        #expect(picker.pickBlocks(for: 2, peerHas: all, limit: 10, using: &random).isEmpty)  // no repeats to one peer
        #expect(picker.received(first[0], from: 2) == .accepted(cancel: [1, 3], pieceComplete: false))
        #expect(picker.received(first[0], from: 1) == .unrequested)  // the loser's copy arrives late
    }

    @Test func aDepartingPeerReleasesItsRequests() {
        var picker = PiecePicker(geometry: Self.geometry)
        var random = SplitMix64(state: 5)
        // (Not the short last piece: three blocks would span two pieces.)
        let full = Self.bits(Array(0..<7))
        picker.peerJoined(has: full)
        let taken = picker.pickBlocks(for: 1, peerHas: full, limit: 3, using: &random)
        #expect(picker.received(taken[0], from: 1) == .accepted(cancel: [], pieceComplete: false))
        picker.peerLeft(1, had: full)
        picker.peerJoined(has: full)
        // The started piece is finished first: its two released blocks and
        // the one never requested.
        let retaken = picker.pickBlocks(for: 2, peerHas: full, limit: 3, using: &random)
        #expect(Set(retaken.map(\.piece)) == [taken[0].piece])
        #expect(Set(retaken).isSuperset(of: taken.dropFirst()))
        #expect(!retaken.contains(taken[0]))
        #expect(picker.availability == [1, 1, 1, 1, 1, 1, 1, 0])
    }

    /// A piece that failed is fetched again from one peer alone; if that
    /// peer chokes us half way, another may finish it, but not the peer
    /// blamed for the failure (before, the piece
    /// waited for that peer's unchoke: nobody else was given it, not even
    /// in endgame, and with nothing in flight nothing timed out).
    @Test func aRefetchHeldByAPeerThatChokesUsGoesToAnother() {
        var picker = PiecePicker(geometry: TorrentGeometry(pieceCount: 1, pieceLength: 65536, totalLength: 65536))
        var random = SplitMix64(state: 3)
        let all = Self.bits([0], count: 1)
        for _ in 1...3 { picker.peerJoined(has: all) }
        for request in picker.pickBlocks(for: 1, peerHas: all, limit: 4, using: &random) { _ = picker.received(request, from: 1) }
        #expect(picker.pieceFailed(0) == [1])
        let refetch = picker.pickBlocks(for: 2, peerHas: all, limit: 4, using: &random)
        #expect(refetch.count == 4)
        _ = picker.received(refetch[0], from: 2)
        #expect(picker.pickBlocks(for: 3, peerHas: all, limit: 4, using: &random).isEmpty, "peer 2 fetches it alone")
        #expect(Set(picker.peerChoked(2)) == Set(refetch.dropFirst()))
        #expect(picker.pickBlocks(for: 1, peerHas: all, limit: 4, using: &random).isEmpty, "not the peer blamed for it")
        let taken = picker.pickBlocks(for: 3, peerHas: all, limit: 4, using: &random)
        #expect(Set(taken) == Set(refetch.dropFirst()), "the rest goes to peer 3")
        #expect(picker.invariantViolation() == nil)
    }

    @Test func peerWithNothingWeNeedGetsNothing() {
        var picker = PiecePicker(geometry: Self.geometry, have: Self.bits([0, 1]))
        var random = SplitMix64(state: 6)
        picker.peerJoined(has: Self.bits([0, 1]))
        #expect(picker.pickBlocks(for: 1, peerHas: Self.bits([0, 1]), limit: 5, using: &random).isEmpty)
    }
}

extension PiecePickerTests {
    /// A simulated download's picker (`pieceCount` pieces of `pieceLength`
    /// bytes, the last `lastLength`) and generator, both from `seed`.
    static func simulation(pieceCount: Int, pieceLength: Int, lastLength: Int, seed: Int) -> (PiecePicker, SplitMix64) {
        let geometry = TorrentGeometry(pieceCount: pieceCount, pieceLength: pieceLength,
                                       totalLength: Int64(pieceCount - 1) * Int64(pieceLength) + Int64(lastLength))
        return (PiecePicker(geometry: geometry, seed: UInt64(seed)), SplitMix64(state: UInt64(seed)))
    }

    /// A whole download through the picker, peers joining and leaving,
    /// a peer's bitfield shrinking, requests released, a block lost by the
    /// disk after its piece was complete, one piece failing its hash: every
    /// piece is verified exactly once, the bookkeeping holds after every
    /// step, and the picker ends complete.
    @Test(arguments: [7, 8, 9])
    func aWholeDownloadEndsWithEveryPieceOnce(seed: Int) {
        var (picker, random) = Self.simulation(pieceCount: 300, pieceLength: 32768, lastLength: 5000, seed: seed)
        let all = Self.bits(Array(0..<300), count: 300)
        var halfHas = Self.bits(Array(0..<150), count: 300)
        picker.peerJoined(has: all)      // peer 1, a seed
        picker.peerJoined(has: halfHas)  // peer 2
        var verified = [Int](repeating: 0, count: 300)
        var failedOnce = false
        var lostOnce = false
        for round in 0..<10_000 where !picker.isComplete {
            if round == 40 {
                // Peer 2 leaves and comes back with less.
                picker.peerLeft(2, had: halfHas)
                halfHas = Self.bits(Array(0..<100), count: 300)
                picker.peerJoined(has: halfHas)
            }
            if round == 60 {
                // A late bitfield takes some back.
                let smaller = Self.bits(Array(0..<80), count: 300)
                picker.peerChanged(had: halfHas, has: smaller)
                halfHas = smaller
            }
            let peer = round % 2 == 0 ? 1 : 2
            let has = peer == 1 ? all : halfHas
            let picked = picker.pickBlocks(for: peer, peerHas: has, limit: 8, using: &random)
            if round % 50 == 7 {
                // A choke: everything from this round goes back.
                #expect(Set(picker.releaseRequests(of: peer)).isSuperset(of: picked))
                #expect(picker.invariantViolation() == nil, "round \(round)")
                continue
            }
            for request in picked {
                guard case .accepted(_, let complete) = picker.received(request, from: peer), complete else { continue }
                if !lostOnce, round > 20 {
                    // The disk refused the block: it is missing again.
                    lostOnce = true
                    picker.blockLost(request)
                } else if !failedOnce, request.piece == 120 {
                    failedOnce = true
                    picker.pieceFailed(120)
                } else {
                    picker.pieceVerified(request.piece)
                    verified[request.piece] += 1
                }
            }
            #expect(picker.invariantViolation() == nil, "round \(round)")
        }
        #expect(picker.isComplete)
        #expect(verified.allSatisfy { $0 == 1 })
        #expect(failedOnce && lostOnce)
    }
}

extension PiecePickerTests {
    /// Three peers with deep request queues, answering a few requests each
    /// round in any order: the download goes through endgame (blocks asked
    /// of several peers, copies cancelled, a cancelled copy arriving all
    /// the same, a peer choking us with duplicates out), the bookkeeping
    /// holds after every step, and every piece is verified exactly once.
    @Test(arguments: [11, 12, 13])
    func aDownloadThroughEndgameKeepsItsBookkeeping(seed: Int) {
        var (picker, random) = Self.simulation(pieceCount: 40, pieceLength: 65536, lastLength: 7000, seed: seed)
        let all = Self.bits(Array(0..<40), count: 40)
        for _ in 1...3 { picker.peerJoined(has: all) }
        var queues: [Int: [BlockRequest]] = [1: [], 2: [], 3: []]
        var verified = [Int](repeating: 0, count: 40)
        var duplicatesAsked = 0, cancelledArrivals = 0, chokes = 0
        for round in 0..<5_000 where !picker.isComplete {
            for peer in 1...3 {
                let asked = picker.pickBlocks(for: peer, peerHas: all, limit: 16 - queues[peer]!.count, using: &random)
                duplicatesAsked += asked.filter { request in queues.contains { $0.key != peer && $0.value.contains(request) } }.count
                queues[peer]! += asked
            }
            if round % 9 == 8, picker.isEndgame {
                // Peer 3 chokes us: its requests, copies included, go back.
                let released = picker.releaseRequests(of: 3)
                #expect(Set(released) == Set(queues[3]!))
                queues[3] = []
                chokes += 1
            }
            for peer in 1...3 {
                for _ in 0..<min(3, queues[peer]!.count) {
                    let request = queues[peer]!.remove(at: Int(random.next() % UInt64(queues[peer]!.count)))
                    switch picker.received(request, from: peer) {
                    case .unrequested:
                        cancelledArrivals += 1
                    case .accepted(let cancel, let complete):
                        for other in cancel {
                            // The cancel reaches the other peer; now and then
                            // too late (it sends the block anyway).
                            guard let index = queues[other]!.firstIndex(of: request) else { continue }
                            queues[other]!.remove(at: index)
                            if random.next() % 4 == 0 {
                                #expect(picker.received(request, from: other) == .unrequested)
                                cancelledArrivals += 1
                            }
                        }
                        if complete {
                            picker.pieceVerified(request.piece)
                            verified[request.piece] += 1
                        }
                    }
                }
            }
            #expect(picker.invariantViolation() == nil, "round \(round)")
        }
        #expect(picker.isComplete)
        #expect(verified.allSatisfy { $0 == 1 })
        #expect(duplicatesAsked > 0 && cancelledArrivals > 0 && chokes > 0,
                "endgame never came or went untested: \(duplicatesAsked), \(cancelledArrivals), \(chokes)")
    }
}

extension PiecePickerTests {
    /// After a random first piece, a peer goes on with the piece after its
    /// last while that one is as rare as any (long runs on disk), and not
    /// when it is commoner than others left.
    @Test func aPeerGoesOnWithTheNextPieceWhenItIsAsRare() {
        let all = Self.bits(Array(0..<8))
        for seed in 0..<16 {
            var picker = PiecePicker(geometry: Self.geometry)
            var random = SplitMix64(state: UInt64(seed))
            picker.peerJoined(has: all)
            let first = picker.pickBlocks(for: 1, peerHas: all, limit: 4, using: &random)[0].piece
            guard first < 6 else { continue }
            let second = picker.pickBlocks(for: 1, peerHas: all, limit: 4, using: &random)[0].piece
            #expect(second == first + 1, "seed \(seed): \(first) then \(second)")
            picker.peerGot(piece: first + 2)  // now commoner than the rest
            let third = picker.pickBlocks(for: 1, peerHas: all, limit: 4, using: &random)[0].piece
            #expect(third != first + 2, "seed \(seed): took the commoner piece")
        }
    }
}
