import Logging
import Metainfo
import NIOCore
import Synchronization

/// Bounds the peer connections a listener holds, so a flood of connections
/// cannot exhaust descriptors or memory and still cannot lock out real
/// peers. Connections start *unproven* (no handshake yet); when
/// `maxUnproven` are unproven or `maxOpen` are open, a newcomer closes the oldest unproven
/// one, because a real client proves itself within milliseconds while
/// flood connections sit idle. Only when all `maxOpen` are proven is the
/// newcomer closed instead. A connection closed to make room frees its
/// descriptor a moment later on its own event loop; while `maxClosing` such
/// closes are under way, newcomers are closed instead (at once, on their
/// own loop): a loop that lags behind the other's accepts would otherwise
/// let descriptors pile up past the caps (measured: 120 over them in a
/// flood). Shared by every child channel of a listener, across event
/// loops, hence the lock.
public final class ConnectionLimiter: Sendable {
    public let maxOpen: Int
    public let maxUnproven: Int
    public let maxClosing: Int
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var nextID = 0
        /// Unproven connections; closing one of these makes room.
        var unproven: [Int: any Channel] = [:]
        /// Their IDs by age (IDs grow). IDs no longer unproven are skipped
        /// when met, so finding the oldest costs O(1) amortized.
        var order = CircularBuffer<Int>()
        /// Closed to make room, not yet gone (their descriptors still open).
        var closing: Set<Int> = []
        var provenCount = 0
        var shed = 0
        var lastReport = -Double.infinity

        var open: Int { unproven.count + provenCount }

        mutating func removeOldestUnproven() -> (id: Int, channel: any Channel)? {
            while let id = order.popFirst() {
                if let channel = unproven.removeValue(forKey: id) { return (id, channel) }
            }
            return nil
        }

        mutating func add(_ channel: any Channel) -> Int {
            let id = nextID
            nextID += 1
            unproven[id] = channel
            order.append(id)
            // Connections proven or closed leave stale IDs behind: rebuilt
            // once they outnumber the live ones (amortized O(log n) each).
            if order.count > 2 * unproven.count + 1024 {
                order = CircularBuffer(unproven.keys.sorted())
            }
            return id
        }
    }

    /// Sent down the pipeline (`triggerUserOutboundEvent`) by the handler
    /// that sees a connection is real (a valid handshake).
    public struct Proven: Sendable {
        public init() {}
    }

    public init(
        maxOpen: Int, maxUnproven: Int, maxClosing: Int = 32, logger: Logger
    ) {
        self.maxOpen = max(1, maxOpen)
        self.maxUnproven = max(1, min(maxUnproven, maxOpen))
        self.maxClosing = max(1, maxClosing)
        self.logger = logger
    }

    /// Connections open now (for tests and metrics).
    public var openCount: Int { state.withLock { $0.open } }

    /// IDs kept for finding the oldest (tests: it must not grow with the
    /// connections ever seen).
    var trackedIDs: Int { state.withLock { $0.order.count } }

    /// The handler to put first in each accepted channel's pipeline.
    public func makeHandler() -> any ChannelHandler {
        Handler(limiter: self)
    }

    /// Nil when the connection must be closed now; otherwise its ID, and
    /// an older unproven connection to close to make room.
    fileprivate func admit(_ channel: any Channel) -> (id: Int, evicted: (any Channel)?)? {
        let (admitted, report) = state.withLock { state -> ((id: Int, evicted: (any Channel)?)?, Int?) in
            var evicted: (any Channel)?
            if state.open >= maxOpen || state.unproven.count >= maxUnproven {
                guard state.closing.count < maxClosing, let oldest = state.removeOldestUnproven() else {
                    state.shed += 1
                    return (nil, takeReport(&state))
                }
                state.closing.insert(oldest.id)
                evicted = oldest.channel
                state.shed += 1
            }
            return ((state.add(channel), evicted), takeReport(&state))
        }
        if let report {
            logger.warning("connection cap reached; closing the oldest unproven or new connections", metadata: [
                "event": "connections.capped", "closed": .stringConvertible(report),
                "max_open": .stringConvertible(maxOpen), "max_unproven": .stringConvertible(maxUnproven),
                "max_closing": .stringConvertible(maxClosing),
            ])
        }
        return admitted
    }

    /// At most one warning per 10 s, with the count since the last one.
    private func takeReport(_ state: inout State) -> Int? {
        guard state.shed > 0 else { return nil }
        // (The clock is read only when a connection was closed to make room.)
        let now = MonotonicClock.seconds()
        guard now - state.lastReport >= 10 else { return nil }
        defer { state.shed = 0 }
        state.lastReport = now
        return state.shed
    }

    /// False when the connection was already evicted (its close is on the way).
    fileprivate func prove(_ id: Int) -> Bool {
        state.withLock { state in
            guard state.unproven.removeValue(forKey: id) != nil else { return false }
            state.provenCount += 1
            return true
        }
    }

    fileprivate func release(_ id: Int, proven: Bool) {
        state.withLock { state in
            // (An evicted connection is never proven, but its ID must not
            // stay in `closing` whatever path ends it.)
            if state.closing.remove(id) != nil { return }
            if proven { state.provenCount -= 1 } else { state.unproven[id] = nil }
        }
    }
}

/// Admits each connection through the limiter when it becomes active,
/// marks it proven on `ConnectionLimiter.Proven`, releases it on close.
private final class Handler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    private let limiter: ConnectionLimiter
    private var id: Int?
    private var proven = false

    init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let admitted = limiter.admit(context.channel) else {
            context.close(promise: nil)
            return
        }
        id = admitted.id
        admitted.evicted?.close(promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let id { limiter.release(id, proven: proven) }
        id = nil
        context.fireChannelInactive()
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is ConnectionLimiter.Proven else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if let id, !proven { proven = limiter.prove(id) }
        promise?.succeed(())
    }
}
