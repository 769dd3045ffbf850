import NIOCore

/// Closes the connections of one event loop that have not completed a
/// request part for `timeout`: one repeating sweep per loop over a table,
/// rather than NIO's `IdleStateHandler`, which schedules and cancels a timer
/// per connection; trackers see mostly one-request connections, and that
/// timer was a visible share of each.
///
/// Confined to `loop`: every method runs there (the type is Sendable only
/// to be captured by channel initializers, which also run there).
public final class IdleConnections: @unchecked Sendable {
    public let loop: any EventLoop
    /// Sweeps per timeout: a connection is closed between `timeout` and
    /// `timeout × (1 + 1/sweepsPerTimeout)` after it was last active.
    static let sweepsPerTimeout = 4
    private var members: [ObjectIdentifier: HTTPReplyHandler] = [:]
    private var task: RepeatedTask?
    /// Sweeps so far: handlers stamp their activity with it (no clock read
    /// per request).
    private(set) var tick = 0
    private var stopped = false

    public init(loop: any EventLoop, timeoutSeconds: Int) {
        self.loop = loop
        let timeout = Int64(max(1, timeoutSeconds)) * 1_000_000_000
        let every = TimeAmount.nanoseconds(timeout / Int64(Self.sweepsPerTimeout))
        task = loop.scheduleRepeatedTask(initialDelay: every, delay: every) { [weak self] _ in self?.sweep() }
    }

    /// Stops sweeping and closes every connection still open (the server
    /// is going: a keep-alive client must not hold a descriptor, and keep
    /// being answered by the old responder, until it hangs up). Any thread:
    /// `task` is set once, in `init`; the rest runs on the loop.
    public func cancel() {
        task?.cancel()
        loop.execute { [self] in
            stopped = true
            let open = members.values
            members = [:]
            for handler in open { handler.closeIdle() }
        }
    }

    /// Connections being watched (for tests).
    public var count: Int {
        loop.preconditionInEventLoop()
        return members.count
    }

    func add(_ handler: HTTPReplyHandler) {
        loop.preconditionInEventLoop()
        guard !stopped else { return handler.closeIdle() }
        members[ObjectIdentifier(handler)] = handler
    }

    func remove(_ handler: HTTPReplyHandler) {
        loop.preconditionInEventLoop()
        members[ObjectIdentifier(handler)] = nil
    }

    private func sweep() {
        tick += 1
        // Active during sweep interval k, closed at sweep k + 5: between
        // 1 and 1.25 timeouts of silence.
        let stale = members.values.filter { tick - $0.lastActiveTick > Self.sweepsPerTimeout }
        for handler in stale {
            members[ObjectIdentifier(handler)] = nil
            handler.closeIdle()
        }
    }
}
