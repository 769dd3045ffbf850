import Foundation

/// Polls `condition` every `every` seconds for up to `timeout` seconds:
/// true as soon as it holds, false once the time is up. Every wait in the
/// tests is bounded this way.
public func eventually(timeout: TimeInterval = 10, every: TimeInterval = 0.1, _ condition: () throws -> Bool) rethrows -> Bool {
    try firstValue(timeout: timeout, every: every) { try condition() ? true : nil } ?? false
}

/// Polls `produce` like `eventually`: its first non-nil value, or nil once
/// the time is up.
public func firstValue<T>(timeout: TimeInterval, every: TimeInterval = 0.1, _ produce: () throws -> T?) rethrows -> T? {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if let value = try produce() { return value }
        usleep(useconds_t(every * 1_000_000))
    } while Date() < deadline
    return try produce()
}

/// `eventually` for async tests: sleeps without holding a thread, so tasks
/// the condition waits for (an event reader, say) can run meanwhile.
public func eventually(timeout: TimeInterval = 10, every: TimeInterval = 0.1, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        try? await Task.sleep(for: .seconds(every))
    } while Date() < deadline
    return try condition()
}
