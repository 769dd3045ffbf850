/// A token bucket: `rate` bytes per second accrue up to `capacity`; taking
/// bytes spends them. A pure value with the clock passed in, so tests
/// control time and one owner decides where it lives.
public struct TokenBucket: Sendable, Equatable {
    /// Bytes per second; 0 means unlimited.
    public private(set) var rate: Double
    public private(set) var capacity: Double
    private var tokens: Double
    private var updated: Double

    /// The burst allowance: half a second of traffic, and at least a few
    /// blocks so a single request always fits.
    public static func capacity(forRate rate: Double) -> Double {
        max(rate / 2, 64 * 1024)
    }

    public init(rate: Double, now: Double) {
        self.rate = max(0, rate)
        self.capacity = Self.capacity(forRate: rate)
        // Start empty: a limit is a limit from the first byte.
        self.tokens = 0
        self.updated = now
    }

    public var isUnlimited: Bool { rate == 0 }

    /// Changes the rate, keeping what was earned at the old one (and
    /// forgiving a debt: the new rate starts from zero, not below).
    public mutating func setRate(_ newRate: Double, now: Double) {
        refill(now: now)
        rate = max(0, newRate)
        capacity = Self.capacity(forRate: rate)
        tokens = min(max(tokens, 0), capacity)
    }

    /// Takes `bytes` if they are available now. A take larger than the
    /// burst (a 128 KiB request under a slow limit) goes through once the
    /// bucket is full and leaves it in debt, so nothing waits forever and
    /// the long-run rate stays exact.
    public mutating func take(_ bytes: Int, now: Double) -> Bool {
        guard !isUnlimited else { return true }
        refill(now: now)
        guard tokens >= min(Double(bytes), capacity) else { return false }
        tokens -= Double(bytes)
        return true
    }

    /// Gives back bytes taken for something that did not happen.
    public mutating func refund(_ bytes: Int, now: Double) {
        guard !isUnlimited else { return }
        refill(now: now)
        tokens = min(capacity, tokens + Double(bytes))
    }



    /// Seconds until `bytes` can be taken (0 if now).
    public mutating func delay(for bytes: Int, now: Double) -> Double {
        guard !isUnlimited else { return 0 }
        refill(now: now)
        let missing = min(Double(bytes), capacity) - tokens
        return missing <= 0 ? 0 : missing / rate
    }

    private mutating func refill(now: Double) {
        if now > updated, !isUnlimited {
            tokens = min(capacity, tokens + (now - updated) * rate)
        }
        updated = max(updated, now)
    }
}
