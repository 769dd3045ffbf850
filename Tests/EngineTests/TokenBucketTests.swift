import Synchronization
import Testing
@testable import Engine

@Suite("Token bucket and bandwidth limits")
struct TokenBucketTests {
    @Test func startsEmptyAndAccruesAtTheRate() {
        var bucket = TokenBucket(rate: 100_000, now: 0)
        let early = bucket.take(16384, now: 0)
        let delay = bucket.delay(for: 16384, now: 0)
        let onTime = bucket.take(16384, now: 0.17)
        let again = bucket.take(16384, now: 0.17)
        #expect(!early && abs(delay - 0.16384) < 1e-9 && onTime && !again)
    }

    @Test func overALongRunTheRateIsExact() {
        // Take 16 KiB blocks as fast as allowed for 10 simulated seconds.
        var bucket = TokenBucket(rate: 3_000_000, now: 0)
        var now = 0.0
        var sent = 0
        while now < 10 {
            if bucket.take(16384, now: now) {
                sent += 16384
            } else {
                now += max(1e-6, bucket.delay(for: 16384, now: now))
            }
        }
        let rate = Double(sent) / 10
        #expect(abs(rate - 3_000_000) / 3_000_000 < 0.01, "rate \(rate)")
    }

    @Test func idleTimeEarnsAtMostTheBurst() {
        var bucket = TokenBucket(rate: 1_000_000, now: 0)
        // An hour idle buys half a second, not an hour.
        var taken = 0
        while bucket.take(16384, now: 3600) { taken += 16384 }
        #expect(taken <= 500_000 && taken >= 480_000, "\(taken)")
    }

    /// A request larger than the burst (128 KiB under a 20 kB/s limit,
    /// whose burst is 64 KiB) still goes once the bucket is full, leaving a
    /// debt that later takes wait for: nothing stalls, the rate holds.
    @Test func takesLargerThanTheBurstGoIntoDebt() {
        var bucket = TokenBucket(rate: 20_000, now: 0)
        let notYet = bucket.take(131_072, now: 1)      // 20 000 earned
        let full = bucket.take(131_072, now: 65536.0 / 20_000)  // burst full
        let inDebt = bucket.take(16384, now: 65536.0 / 20_000 + 1)
        let wait = bucket.delay(for: 16384, now: 65536.0 / 20_000 + 1)
        #expect(!notYet && full && !inDebt)
        // 65 536 of debt plus 16 384, minus 20 000 earned in that second.
        #expect(abs(wait - Double(131_072 - 65536 + 16384 - 20_000) / 20_000) < 1e-9, "\(wait)")
    }

    @Test func unlimitedNeverWaits() {
        var bucket = TokenBucket(rate: 0, now: 0)
        var granted = 0
        for _ in 0..<1000 where bucket.take(1 << 20, now: 0) { granted += 1 }
        let delay = bucket.delay(for: 1 << 30, now: 0)
        #expect(granted == 1000 && delay == 0)
    }

    @Test func rateChangesApplyAtOnceAndKeepEarnings() {
        var bucket = TokenBucket(rate: 100_000, now: 0)
        bucket.setRate(1_000_000, now: 0.1)   // 10 000 bytes earned at the old rate
        let earned = bucket.take(10_000, now: 0.1)
        let more = bucket.take(16384, now: 0.1)
        let atNewRate = bucket.take(16384, now: 0.1 + 0.0165)  // 1 MB/s now
        #expect(earned && !more && atNewRate)
        bucket.setRate(0, now: 1)
        let huge = bucket.take(100 << 20, now: 1)
        #expect(bucket.isUnlimited && huge)
    }

    @Test func refundsAreCappedAtTheBurst() {
        var bucket = TokenBucket(rate: 200_000, now: 0)
        bucket.refund(10_000_000, now: 0)
        let burst = bucket.take(100_000, now: 0)
        let beyond = bucket.take(16384, now: 0)
        #expect(burst && !beyond)
    }

    /// A torrent limit and the global one: a take comes from both or from
    /// neither, and the tighter one decides.
    @Test func sharedLimitsTakeFromAllOrNone() {
        let time = Mutex(0.0)
        let clock: @Sendable () -> Double = { time.withLock { $0 } }
        let torrent = BandwidthLimit(bytesPerSecond: 1_000_000, clock: clock)
        let global = BandwidthLimit(bytesPerSecond: 100_000, clock: clock)
        time.withLock { $0 = 0.2 }  // torrent: 200 000 bytes, global: 20 000
        #expect(BandwidthLimit.take(16384, from: [torrent, global]) == nil)
        let wait = BandwidthLimit.take(16384, from: [torrent, global])
        #expect(wait != nil && abs(wait! - (16384 - (20000 - 16384)) / 100_000.0) < 1e-6)
        // The failed take left the torrent's bucket untouched.
        #expect(BandwidthLimit.take(180_000, from: [torrent]) == nil)
        global.setRate(bytesPerSecond: 0)
        #expect(BandwidthLimit.take(16384, from: [global]) == nil)
    }
}
