/// Bytes per second over a sliding window of recent seconds, from a clock
/// the caller passes (so tests control time).
public struct RateMeter: Sendable {
    private static let slots = 8
    private var buckets = [Int64](repeating: 0, count: slots)
    private var current = 0
    private var currentSecond: Int64 = 0
    public private(set) var total: Int64 = 0
    /// When the first bytes came: a young meter divides by its age, not
    /// by the whole window, or a new fast peer would look slow for seconds
    /// (and be given a shallow request pipeline for most of a transfer).
    private var started: Double?

    public init() {}

    public mutating func add(_ bytes: Int, now: Double) {
        advance(to: now)
        if started == nil { started = now }
        buckets[current] += Int64(bytes)
        total += Int64(bytes)
    }

    /// Average over the last `slots - 1` whole seconds plus the current one
    /// (over its age, at least a quarter second, while the meter is younger).
    public mutating func rate(now: Double) -> Double {
        advance(to: now)
        guard let started else { return 0 }
        let window = Double(Self.slots - 1) + (now - Double(currentSecond))
        let elapsed = min(window, max(0.25, now - started))
        return Double(buckets.reduce(0, +)) / elapsed
    }

    private mutating func advance(to now: Double) {
        let second = Int64(now)
        guard second > currentSecond else { return }
        let steps = min(Int(second - currentSecond), Self.slots)
        for _ in 0..<steps {
            current = (current + 1) % Self.slots
            buckets[current] = 0
        }
        currentSecond = second
    }
}
