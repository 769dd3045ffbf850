import Testing
@testable import Engine

@Suite("Choker")
struct ChokerTests {
    typealias Candidate = Choker.Candidate

    static func candidates(_ rates: [Int: Double], uninterested: Set<Int> = []) -> [Candidate] {
        rates.map { Candidate(key: $0.key, isInterested: !uninterested.contains($0.key), rate: $0.value) }
    }

    @Test func theFourFastestInterestedPeersGetRegularSlots() {
        var choker = Choker()
        var random = SplitMix64(state: 7)
        let peers = Self.candidates([1: 10, 2: 900, 3: 50, 4: 800, 5: 700, 6: 1000, 7: 5], uninterested: [6])
        let unchoked = choker.rechoke(peers, now: 0, using: &random)
        #expect(choker.regular == [2, 4, 5, 3])
        // Plus one optimistic among the other interested peers (1 or 7).
        #expect(unchoked.count == 5)
        #expect(choker.optimistic.map { [1, 7].contains($0) } == true)
        #expect(!unchoked.contains(6))
    }

    @Test func rechokeIsDueEveryTenSecondsAndFollowsRates() {
        var choker = Choker()
        var random = SplitMix64(state: 3)
        var rates: [Int: Double] = [1: 100, 2: 90, 3: 80, 4: 70, 5: 10]
        choker.rechoke(Self.candidates(rates), now: 0, using: &random)
        #expect(choker.regular == [1, 2, 3, 4])
        #expect(!choker.isRechokeDue(now: 9.9))
        #expect(choker.isRechokeDue(now: 10))
        rates[5] = 1000  // the optimistic peer turned out fast
        choker.rechoke(Self.candidates(rates), now: 10, using: &random)
        #expect(choker.regular.contains(5) && choker.regular.count == 4 && !choker.regular.contains(4))
    }

    @Test func theOptimisticSlotRotatesEveryThirtySeconds() {
        var choker = Choker()
        var random = SplitMix64(state: 11)
        // Four fast peers hold the regular slots; 5..10 share the optimistic one.
        var rates: [Int: Double] = [1: 1000, 2: 1000, 3: 1000, 4: 1000]
        for key in 5...10 { rates[key] = 0 }
        let peers = Self.candidates(rates)
        choker.rechoke(peers, now: 0, using: &random)
        let first = choker.optimistic
        #expect(first != nil && ![1, 2, 3, 4].contains(first!))
        choker.rechoke(peers, now: 10, using: &random)
        choker.rechoke(peers, now: 20, using: &random)
        #expect(choker.optimistic == first)  // kept for 30 s
        choker.rechoke(peers, now: 30, using: &random)
        #expect(choker.optimistic != first && choker.optimistic != nil)
        // Over many rotations every waiting peer gets its turn.
        var seen: Set<Int> = []
        for round in 2...60 {
            choker.rechoke(peers, now: Double(round * 30), using: &random)
            seen.insert(choker.optimistic!)
        }
        #expect(seen == Set(5...10))
    }

    @Test func updatesFillFreeSlotsWithoutChokingAnyoneForRate() {
        var choker = Choker()
        var random = SplitMix64(state: 5)
        choker.rechoke(Self.candidates([1: 10, 2: 20]), now: 0, using: &random)
        #expect(choker.unchoked == [1, 2])
        // Three newcomers become interested: two regular slots are free,
        // the third gets the optimistic slot.
        let more = Self.candidates([1: 10, 2: 20, 3: 0, 4: 0, 5: 0])
        #expect(choker.update(more, now: 1, using: &random) == [1, 2, 3, 4, 5])
        // A slow regular peer is not choked before the next evaluation...
        let faster = Self.candidates([1: 1, 2: 20, 3: 500, 4: 600, 5: 700, 6: 900])
        #expect(choker.update(faster, now: 2, using: &random).isSuperset(of: [1, 2, 3, 4, 5]))
        #expect(!choker.unchoked.contains(6))
        // ...but one that loses interest frees its slot at once.
        let lostInterest = Self.candidates([1: 1, 2: 20, 3: 500, 4: 600, 5: 700, 6: 900], uninterested: [1])
        let after = choker.update(lostInterest, now: 3, using: &random)
        #expect(!after.contains(1) && after.contains(6))
    }

    @Test func nobodyInterestedMeansNobodyUnchoked() {
        var choker = Choker()
        var random = SplitMix64(state: 1)
        #expect(choker.rechoke(Self.candidates([1: 5, 2: 9], uninterested: [1, 2]), now: 0, using: &random).isEmpty)
        #expect(choker.optimistic == nil)
    }
}
