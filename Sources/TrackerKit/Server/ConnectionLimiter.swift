import Logging
import Metainfo
import NIOCore
import Synchronization

/// Bounds the connections one server holds, so a flood of connections
/// cannot exhaust descriptors or memory and still cannot lock out real
/// clients. Connections start *unproven* (no handshake yet, or for a
/// tracker: any connection, each is short-lived); when too many are
/// unproven the oldest is closed to make room, because a real client
/// proves itself within milliseconds while flood connections sit idle.
/// Past `maxOpen` in all, new connections are closed at once. Shared by
/// every child channel of a listener (across event loops), hence the lock.
public final class ConnectionLimiter: Sendable {
    public let maxOpen: Int
    public let maxUnproven: Int
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var nextID = 0
        /// Unproven connections by age (IDs grow); closing one of these
        /// makes room.
        var unproven: [Int: any Channel] = [:]
        var proven: Set<Int> = []
        var shed = 0
        var lastReport = -Double.infinity

        var open: Int { unproven.count + proven.count }
    }

    /// Sent down the pipeline (`triggerUserOutboundEvent`) by the handler
    /// that sees a connection is real (a valid handshake).
    public struct Proven: Sendable {
        public init() {}
    }

    public init(maxOpen: Int, maxUnproven: Int, logger: Logger) {
        self.maxOpen = max(1, maxOpen)
        self.maxUnproven = max(1, min(maxUnproven, maxOpen))
        self.logger = logger
    }

    /// Connections open now (for tests and metrics).
    public var openCount: Int { state.withLock { $0.open } }

    /// The handler to put first in each accepted channel's pipeline.
    public func makeHandler() -> any ChannelHandler {
        Handler(limiter: self)
    }

    /// Nil when the connection must be closed now; otherwise its ID, and
    /// an older unproven connection to close to make room.
    fileprivate func admit(_ channel: any Channel, now: Double) -> (id: Int, evicted: (any Channel)?)? {
        let (admitted, report) = state.withLock { state -> ((id: Int, evicted: (any Channel)?)?, Int?) in
            var evicted: (any Channel)?
            if state.open >= maxOpen || state.unproven.count >= maxUnproven {
                guard let oldest = state.unproven.keys.min() else {
                    state.shed += 1
                    return (nil, Self.takeReport(&state, now: now))
                }
                evicted = state.unproven.removeValue(forKey: oldest)
                state.shed += 1
            }
            let id = state.nextID
            state.nextID += 1
            state.unproven[id] = channel
            return ((id, evicted), Self.takeReport(&state, now: now))
        }
        if let report {
            logger.warning("connection cap reached; closing the oldest unproven or new connections", metadata: [
                "event": "connections.capped", "closed": .stringConvertible(report),
                "max_open": .stringConvertible(maxOpen), "max_unproven": .stringConvertible(maxUnproven),
            ])
        }
        return admitted
    }

    /// At most one warning per 10 s, with the count since the last one.
    private static func takeReport(_ state: inout State, now: Double) -> Int? {
        guard state.shed > 0, now - state.lastReport >= 10 else { return nil }
        defer { state.shed = 0 }
        state.lastReport = now
        return state.shed
    }

    fileprivate func prove(_ id: Int) {
        state.withLock { state in
            if state.unproven.removeValue(forKey: id) != nil { state.proven.insert(id) }
        }
    }

    fileprivate func release(_ id: Int) {
        state.withLock { state in
            state.unproven[id] = nil
            state.proven.remove(id)
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

    init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let admitted = limiter.admit(context.channel, now: MonotonicClock.seconds()) else {
            context.close(promise: nil)
            return
        }
        id = admitted.id
        admitted.evicted?.close(promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let id { limiter.release(id) }
        id = nil
        context.fireChannelInactive()
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is ConnectionLimiter.Proven else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if let id { limiter.prove(id) }
        promise?.succeed(())
    }
}
