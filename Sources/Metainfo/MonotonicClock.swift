#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The project's clock for timeouts and rates: seconds that never jump
/// with the wall clock. Types that need time take a `() -> Double` that
/// defaults to this, so tests can pass a manual clock.
public enum MonotonicClock {
    public static let seconds: @Sendable () -> Double = {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
