/// Runs `body` with `value`, then `teardown`, whether `body` threw or not:
/// the async clean-up a `defer` cannot do (stopping servers and sessions).
public func withTeardown<T>(_ value: T, _ body: (T) async throws -> Void, teardown: (T) async -> Void) async throws {
    do {
        try await body(value)
    } catch {
        await teardown(value)
        throw error
    }
    await teardown(value)
}
