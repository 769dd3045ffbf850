import Metainfo
import Synchronization

/// A rate limit shared by whoever must respect it: one per torrent and one
/// for the whole process, for each direction. Sessions on different event
/// loops take from the same global limit, so it owns its bucket behind a
/// lock; the rate can be changed while running (config reload, `-u`/`-d`).
public final class BandwidthLimit: Sendable {
    private let bucket: Mutex<TokenBucket>
    private let clock: @Sendable () -> Double

    /// `bytesPerSecond` 0 = unlimited.
    public init(bytesPerSecond: Double = 0, clock: @escaping @Sendable () -> Double = MonotonicClock.seconds) {
        self.clock = clock
        self.bucket = Mutex(TokenBucket(rate: bytesPerSecond, now: clock()))
    }

    public var isUnlimited: Bool { bucket.withLock { $0.isUnlimited } }

    public func setRate(bytesPerSecond: Double) {
        let now = clock()
        bucket.withLock { $0.setRate(bytesPerSecond, now: now) }
    }

    /// Takes `bytes` from every limit in `limits`, or from none; when they
    /// are not all available, returns the seconds to wait before trying
    /// again.
    public static func take(_ bytes: Int, from limits: [BandwidthLimit]) -> Double? {
        var taken: [BandwidthLimit] = []
        for limit in limits {
            let now = limit.clock()
            let wait: Double? = limit.bucket.withLock { bucket in
                bucket.take(bytes, now: now) ? nil : max(0.001, bucket.delay(for: bytes, now: now))
            }
            if let wait {
                for earlier in taken {
                    let now = earlier.clock()
                    earlier.bucket.withLock { $0.refund(bytes, now: now) }
                }
                return wait
            }
            taken.append(limit)
        }
        return nil
    }

    /// Returns bytes taken for something that did not happen.
    public static func giveBack(_ bytes: Int, to limits: [BandwidthLimit]) {
        for limit in limits {
            let now = limit.clock()
            limit.bucket.withLock { $0.refund(bytes, now: now) }
        }
    }
}
