/// How long to wait before retrying trackers that all failed: doubling from
/// `initial` up to `maximum`. A LAN tracker that restarts should be found
/// again within a minute, without hammering it while it is down.
public struct BackoffSchedule: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .seconds(5), maximum: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait after `failures` consecutive failed rounds (1 = first).
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = initial
        for _ in 1..<min(failures, 32) {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// `delay(afterFailures:)` in seconds, for owners that keep time as a
    /// `Double` (the session's clock, the daemon's rescans).
    public func seconds(afterFailures failures: Int) -> Double {
        let (seconds, attoseconds) = delay(afterFailures: failures).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
