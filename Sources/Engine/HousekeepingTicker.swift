import NIOCore
import Synchronization

/// One 250 ms timer per event loop for every session on it. A daemon
/// seeding 10 000 torrents had 10 000 repeated tasks, and keeping NIO's
/// timer heap in order cost more than the housekeeping itself.
final class HousekeepingTicker: @unchecked Sendable {
    static let period = TimeAmount.milliseconds(250)
    private static let tickers = Mutex<[ObjectIdentifier: HousekeepingTicker]>([:])

    private let loop: any EventLoop
    /// Touched on `loop` only.
    private var sessions: [ObjectIdentifier: TorrentSession] = [:]
    private var task: RepeatedTask?

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    /// The ticker of `loop` (made on first use; loops live for the process).
    static func on(_ loop: any EventLoop) -> HousekeepingTicker {
        tickers.withLock { tickers in
            let key = ObjectIdentifier(loop as AnyObject)
            if let ticker = tickers[key] { return ticker }
            let ticker = HousekeepingTicker(loop: loop)
            tickers[key] = ticker
            return ticker
        }
    }

    /// Call on the loop.
    func add(_ session: TorrentSession) {
        loop.preconditionInEventLoop()
        sessions[ObjectIdentifier(session)] = session
        if task == nil {
            task = loop.scheduleRepeatedTask(initialDelay: Self.period, delay: Self.period) { [self] _ in
                for session in sessions.values { session.housekeeping() }
            }
        }
    }

    /// Call on the loop. The timer stops with the last session.
    func remove(_ session: TorrentSession) {
        loop.preconditionInEventLoop()
        sessions[ObjectIdentifier(session)] = nil
        if sessions.isEmpty {
            task?.cancel()
            task = nil
        }
    }
}
