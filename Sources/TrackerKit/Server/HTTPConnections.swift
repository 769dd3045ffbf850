import Logging
import NIOCore

/// The open HTTP connections of one event loop: closes those that have not
/// completed a request part for `timeout`, and holds at most `maxOpen`,
/// closing the least recently active to admit a newcomer (a flood of idle
/// connections then costs bounded descriptors, and clients that keep
/// talking keep their connections). One repeating sweep per loop over a
/// table, rather than NIO's `IdleStateHandler` (a timer scheduled and
/// cancelled per connection) and a limiter shared across loops (a lock
/// taken twice per connection): trackers see mostly one-request
/// connections, so per-connection cost is the cost.
///
/// Confined to `loop`: every method runs there (the type is Sendable only
/// to be captured by channel initializers, which also run there).
public final class HTTPConnections: @unchecked Sendable {
    public let loop: any EventLoop
    /// Sweeps per timeout: a connection is closed between `timeout` and
    /// `timeout × (1 + 1/sweepsPerTimeout)` after it was last active.
    static let sweepsPerTimeout = 4
    let maxOpen: Int
    private let logger: Logger?
    private var members: [ObjectIdentifier: HTTPReplyHandler] = [:]
    /// Members that were the least recently active when last looked for,
    /// with that activity stamp (a member active since is skipped): an
    /// eviction costs O(1) amortized, not a scan per newcomer.
    private var evictable: [HTTPReplyHandler] = []
    private var evictableTick = 0
    /// Closed to make room since the last warning, and that warning's sweep.
    private var shed = 0
    private var lastReportTick = -1
    private var task: RepeatedTask?
    /// Sweeps so far: handlers stamp their activity with it (no clock read
    /// per request).
    private(set) var tick = 0
    private var stopped = false

    public init(loop: any EventLoop, timeoutSeconds: Int, maxOpen: Int = .max, logger: Logger? = nil) {
        self.loop = loop
        self.maxOpen = max(1, maxOpen)
        self.logger = logger
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
            evictable = []
            for handler in open { handler.close() }
        }
    }

    /// Connections being watched (for tests).
    public var count: Int {
        loop.preconditionInEventLoop()
        return members.count
    }

    func add(_ handler: HTTPReplyHandler) {
        loop.preconditionInEventLoop()
        guard !stopped else { return handler.close() }
        if members.count >= maxOpen, let oldest = takeLeastRecentlyActive() {
            oldest.close()
            shed += 1
            reportShedding()
        }
        members[ObjectIdentifier(handler)] = handler
    }

    func remove(_ handler: HTTPReplyHandler) {
        loop.preconditionInEventLoop()
        members[ObjectIdentifier(handler)] = nil
    }

    private func takeLeastRecentlyActive() -> HTTPReplyHandler? {
        while true {
            if evictable.isEmpty {
                guard let oldest = members.values.lazy.map(\.lastActiveTick).min() else { return nil }
                evictableTick = oldest
                evictable = members.values.filter { $0.lastActiveTick == oldest }
            }
            let handler = evictable.removeLast()
            if handler.lastActiveTick == evictableTick, members.removeValue(forKey: ObjectIdentifier(handler)) != nil {
                return handler
            }
        }
    }

    /// At most one warning per sweep interval, with the count since the last.
    private func reportShedding() {
        guard let logger, shed > 0, tick != lastReportTick else { return }
        logger.warning("connection cap reached; closing the least recently active connections", metadata: [
            "event": "connections.capped", "closed": .stringConvertible(shed), "max_open_on_loop": .stringConvertible(maxOpen),
        ])
        shed = 0
        lastReportTick = tick
    }

    private func sweep() {
        tick += 1
        reportShedding()
        // Active during sweep interval k, closed at sweep k + 5: between
        // 1 and 1.25 timeouts of silence.
        let stale = members.values.filter { tick - $0.lastActiveTick > Self.sweepsPerTimeout }
        for handler in stale {
            members[ObjectIdentifier(handler)] = nil
            handler.close()
        }
    }
}
