/// Bytes per second over a sliding window of recent seconds, from a clock
/// the caller passes (so tests control time).
public struct RateMeter: Sendable {
    private static let slots = 8
    private var buckets = [Int64](repeating: 0, count: slots)
    private var current = 0
    private var currentSecond: Int64 = 0
    public private(set) var total: Int64 = 0

    public init() {}

    public mutating func add(_ bytes: Int, now: Double) {
        advance(to: now)
        buckets[current] += Int64(bytes)
        total += Int64(bytes)
    }

    /// Average over the last `slots - 1` whole seconds plus the current one.
    public mutating func rate(now: Double) -> Double {
        advance(to: now)
        let elapsed = Double(Self.slots - 1) + (now - Double(currentSecond))
        return Double(buckets.reduce(0, +)) / max(1, elapsed)
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
