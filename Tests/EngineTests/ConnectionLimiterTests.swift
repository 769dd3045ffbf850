import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import Engine

@Suite("Connection limiter")
struct ConnectionLimiterTests {
    private func connect(_ limiter: ConnectionLimiter) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: limiter.makeHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6881)).wait()
        return channel
    }

    /// A flood of silent connections pushes out the oldest silent one, so
    /// a newcomer that handshakes at once always gets a slot.
    @Test func theOldestUnprovenConnectionMakesRoom() throws {
        let limiter = ConnectionLimiter(maxOpen: 10, maxUnproven: 3, logger: Logger(label: "test"))
        let first = try connect(limiter)
        let second = try connect(limiter)
        let third = try connect(limiter)
        #expect(limiter.openCount == 3)
        let fourth = try connect(limiter)
        #expect(!first.isActive)
        #expect(second.isActive && third.isActive && fourth.isActive)
        #expect(limiter.openCount == 3)
        // Proven, the second is no longer the one to go.
        second.pipeline.triggerUserOutboundEvent(ConnectionLimiter.Proven(), promise: nil)
        let fifth = try connect(limiter)
        #expect(limiter.openCount == 4)
        let sixth = try connect(limiter)
        #expect(second.isActive && !third.isActive)
        #expect(fourth.isActive && fifth.isActive && sixth.isActive)
        #expect(limiter.openCount == 4)
    }

    /// Past the total cap, with nothing unproven to close, newcomers are
    /// closed at once; a slot freed by a close is taken again.
    @Test func provenConnectionsAreKeptAndTheTotalIsCapped() throws {
        let limiter = ConnectionLimiter(maxOpen: 2, maxUnproven: 2, logger: Logger(label: "test"))
        let kept = try (0..<2).map { _ in try connect(limiter) }
        for channel in kept { channel.pipeline.triggerUserOutboundEvent(ConnectionLimiter.Proven(), promise: nil) }
        let refused = try connect(limiter)
        #expect(!refused.isActive)
        #expect(kept[0].isActive && kept[1].isActive)
        #expect(limiter.openCount == 2)
        _ = try kept[0].close().wait()
        #expect(limiter.openCount == 1)
        let admitted = try connect(limiter)
        #expect(admitted.isActive)
        #expect(limiter.openCount == 2)
    }

    /// Holds back the close of its channel until told (a connection
    /// evicted from another event loop closes a moment later).
    private final class CloseHolder: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        private var held: (ChannelHandlerContext, CloseMode, EventLoopPromise<Void>?)?

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            held = (context, mode, promise)
        }

        func letGo() {
            guard let (context, mode, promise) = held else { return }
            held = nil
            context.close(mode: mode, promise: promise)
        }
    }

    /// While evicted connections have not closed yet (their descriptors
    /// still open), at most `maxClosing` of them: newcomers are closed
    /// instead, and eviction resumes once the closes are through.
    @Test func evictionsWaitForEarlierClosesPastTheClosingCap() throws {
        let limiter = ConnectionLimiter(maxOpen: 10, maxUnproven: 2, maxClosing: 1, logger: Logger(label: "test"))
        let holder = CloseHolder()
        let slow = EmbeddedChannel(handlers: [holder, limiter.makeHandler()])
        try slow.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6881)).wait()
        let second = try connect(limiter)
        let third = try connect(limiter)
        #expect(slow.isActive, "its close is held back")
        #expect(second.isActive && third.isActive)
        let fourth = try connect(limiter)
        #expect(!fourth.isActive, "one close under way already: the newcomer goes")
        #expect(second.isActive && third.isActive)
        holder.letGo()
        #expect(!slow.isActive)
        let fifth = try connect(limiter)
        #expect(fifth.isActive && !second.isActive && third.isActive)
        #expect(limiter.openCount == 2)
    }

    /// Many connections come and go without any eviction: the age order
    /// kept for evictions does not grow with them.
    @Test func bookkeepingStaysBoundedWithoutEvictions() throws {
        let limiter = ConnectionLimiter(maxOpen: 100, maxUnproven: 50, logger: Logger(label: "test"))
        for index in 0..<10_000 {
            let channel = try connect(limiter)
            if index % 2 == 0 { channel.pipeline.triggerUserOutboundEvent(ConnectionLimiter.Proven(), promise: nil) }
            _ = try channel.close().wait()
        }
        #expect(limiter.openCount == 0)
        #expect(limiter.trackedIDs <= 2 * 1 + 1024)  // rebuilt past 2 × live + 1024
    }
}
