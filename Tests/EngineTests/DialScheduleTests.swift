import Testing
import TrackerKit
@testable import Engine

@Suite("Dial schedule")
struct DialScheduleTests {
    static let delays = DialSchedule.Delays(fruitful: 2, fruitless: BackoffSchedule(initial: .seconds(5), maximum: .seconds(600)))
    static let a = PeerEndpoint(ip: .v4(0x7F00_0001), port: 6881)
    static let b = PeerEndpoint(ip: .v4(0x7F00_0001), port: 6882)

    /// Dials what is due, as the session does, with nothing excluded.
    static func take(_ schedule: inout DialSchedule, at now: Double, limit: Int = 10) -> [PeerEndpoint] {
        schedule.takeDue(now: now, limit: limit) { _ in false }
    }

    @Test func aNewAddressIsDialledAtOnceAndNotAgainWhileItsDialIsUnderWay() {
        var schedule = DialSchedule(delays: Self.delays)
        schedule.learn(Self.a, now: 100)
        #expect(Self.take(&schedule, at: 100) == [Self.a])
        #expect(schedule.dialling == [Self.a])
        // Learnt again from the next tracker reply, its handshake still
        // pending however long: no second dial.
        schedule.learn(Self.a, now: 101)
        #expect(Self.take(&schedule, at: 1e6).isEmpty)
        // Accepted: a peer, no longer taking a dial's slot.
        schedule.accepted(Self.a)
        #expect(schedule.dialling.isEmpty)
    }

    /// Turned away for our own peer cap: tried again in 30 s, and that
    /// counts as no failure of the peer's.
    @Test func aPeerRefusedForOurCapIsTriedAgainWithoutBackOff() {
        var schedule = DialSchedule(delays: Self.delays)
        schedule.learn(Self.a, now: 0)
        _ = Self.take(&schedule, at: 0)
        schedule.postponed(Self.a, now: 1)
        #expect(schedule.dialling.isEmpty)
        #expect(Self.take(&schedule, at: 30.9).isEmpty)
        #expect(Self.take(&schedule, at: 31) == [Self.a])
        schedule.ended(Self.a, fruitful: false, now: 32)
        #expect(schedule.nextDial(of: Self.a) == 37)
    }

    @Test func fruitlessConnectionsWaitTwiceAsLongEachTimeUpToTheCap() {
        var schedule = DialSchedule(delays: Self.delays)
        schedule.learn(Self.a, now: 0)
        var now = 0.0
        var gaps: [Double] = []
        for _ in 0..<10 {
            #expect(Self.take(&schedule, at: now) == [Self.a])
            schedule.ended(Self.a, fruitful: false, now: now)
            #expect(schedule.dialling.isEmpty)
            let next = schedule.nextDial(of: Self.a)!
            #expect(Self.take(&schedule, at: next - 0.1).isEmpty)
            gaps.append(next - now)
            now = next
        }
        #expect(gaps == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600])
    }

    @Test func aConnectionThatTradedDataIsDialledAgainSoonAndResetsTheBackOff() {
        var schedule = DialSchedule(delays: Self.delays)
        schedule.learn(Self.a, now: 0)
        _ = Self.take(&schedule, at: 0)
        schedule.accepted(Self.a)
        schedule.ended(Self.a, fruitful: false, now: 1)
        _ = Self.take(&schedule, at: 6)
        schedule.accepted(Self.a)
        schedule.ended(Self.a, fruitful: false, now: 7)
        #expect(schedule.nextDial(of: Self.a) == 17)
        _ = Self.take(&schedule, at: 17)
        schedule.accepted(Self.a)
        schedule.ended(Self.a, fruitful: true, now: 50)
        #expect(schedule.nextDial(of: Self.a) == 52)
        _ = Self.take(&schedule, at: 52)
        schedule.ended(Self.a, fruitful: false, now: 53)
        // Counted from one again.
        #expect(schedule.nextDial(of: Self.a) == 58)
    }

    @Test func ourOwnAddressIsNeverDialledAgainWhateverEndsLater() {
        var schedule = DialSchedule(delays: Self.delays)
        schedule.learn(Self.a, now: 0)
        _ = Self.take(&schedule, at: 0)
        schedule.accepted(Self.a)
        schedule.never(Self.a)
        schedule.ended(Self.a, fruitful: true, now: 1)
        schedule.ended(Self.a, fruitful: false, now: 2)
        schedule.learn(Self.a, now: 3)
        #expect(Self.take(&schedule, at: 1e9).isEmpty)
    }

    @Test func takesNoMoreThanTheFreeSlotsAndSkipsExcludedAddresses() {
        var schedule = DialSchedule(delays: Self.delays)
        schedule.learn(Self.a, now: 0)
        schedule.learn(Self.b, now: 0)
        #expect(schedule.takeDue(now: 0, limit: 5) { $0 == Self.a } == [Self.b])
        // The excluded one (connected inbound, banned) stays due.
        #expect(schedule.takeDue(now: 0, limit: 0) { _ in false }.isEmpty)
        #expect(Self.take(&schedule, at: 0, limit: 1) == [Self.a])
    }

    @Test func aFullScheduleMakesRoomByForgettingTheAddressThatFailedMost() {
        var schedule = DialSchedule(delays: Self.delays, capacity: 2)
        let c = PeerEndpoint(ip: .v4(0x7F00_0001), port: 6883)
        schedule.learn(Self.a, now: 0)
        schedule.learn(Self.b, now: 0)
        // Nothing failed yet: the newcomer waits for a later reply.
        schedule.learn(c, now: 0)
        #expect(schedule.nextDial(of: c) == nil)
        // a fails twice, b once; then a is being dialled again.
        _ = Self.take(&schedule, at: 0)
        schedule.ended(Self.a, fruitful: false, now: 1)
        schedule.ended(Self.b, fruitful: false, now: 1)
        #expect(schedule.takeDue(now: 6, limit: 5) { $0 == Self.b } == [Self.a])
        schedule.ended(Self.a, fruitful: false, now: 6)
        #expect(schedule.takeDue(now: 16, limit: 5) { $0 == Self.b } == [Self.a])
        // The worst, a, is being dialled: b makes room instead.
        schedule.learn(c, now: 17)
        #expect(schedule.nextDial(of: Self.b) == nil)
        #expect(schedule.nextDial(of: c) == 17)
        #expect(schedule.dialling == [Self.a] && schedule.nextDial(of: Self.a) == 16)
    }

    /// Our own address, once known as such, stays undialled though it had
    /// failed before and the schedule fills up: only when nothing failed is
    /// it forgotten to make room.
    @Test func aNeverAddressIsNotForgottenBeforeFailedOnes() {
        var schedule = DialSchedule(delays: Self.delays, capacity: 3)
        let c = PeerEndpoint(ip: .v4(0x7F00_0001), port: 6883)
        let d = PeerEndpoint(ip: .v4(0x7F00_0001), port: 6884)
        schedule.learn(Self.a, now: 0)
        _ = Self.take(&schedule, at: 0)
        schedule.ended(Self.a, fruitful: false, now: 1)
        schedule.ended(Self.a, fruitful: false, now: 7)
        _ = Self.take(&schedule, at: 20)
        schedule.accepted(Self.a)
        schedule.never(Self.a)  // it was us
        schedule.learn(Self.b, now: 21)
        _ = Self.take(&schedule, at: 21)
        schedule.ended(Self.b, fruitful: false, now: 22)
        schedule.learn(c, now: 23)
        schedule.learn(d, now: 24)  // full: b, the one that failed, goes
        #expect(schedule.nextDial(of: Self.b) == nil)
        #expect(schedule.nextDial(of: Self.a) == .infinity)
        schedule.learn(Self.a, now: 25)
        #expect(!Self.take(&schedule, at: 1e9).contains(Self.a))
    }
}
