import NIOCore
import NIOEmbedded
import Testing
@testable import TrackerKit

/// The reply framing written without NIO's response encoder, and the idle
/// sweep that replaced a timer per connection, on a channel whose clock the
/// test drives.
@Suite("HTTP replies, idle and capped connections")
struct HTTPReplyHandlerTests {
    private static func connectedChannel(idleSeconds: Int = 30) throws -> (EmbeddedChannel, HTTPConnections) {
        let loop = EmbeddedEventLoop()
        let connections = HTTPConnections(loop: loop, timeoutSeconds: idleSeconds)
        return (try connectedChannel(to: connections, on: loop), connections)
    }

    /// A connection served by `connections`, on its loop.
    private static func connectedChannel(to connections: HTTPConnections, on loop: EmbeddedEventLoop) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHTTPReplyHandlers(connections: connections) { target, _ in
            target == "/missing" ? .text("no\n", status: 404) : .text("hello")
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6881)).wait()
        return channel
    }

    private static func exchange(_ channel: EmbeddedChannel, _ request: String) throws -> String {
        try channel.writeInbound(ByteBuffer(string: request))
        var reply = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            reply += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return reply
    }

    @Test func http11KeepsTheConnectionAndFramesTheBody() throws {
        let (channel, _) = try Self.connectedChannel()
        let reply = try Self.exchange(channel, "GET /announce HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(reply == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello")
        #expect(channel.isActive)
        let second = try Self.exchange(channel, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(second.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(second.hasSuffix("Content-Length: 3\r\n\r\nno\n"))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func http10ClosesUnlessKeepAliveIsAskedAndConfirmed() throws {
        let (kept, _) = try Self.connectedChannel()
        let confirmed = try Self.exchange(kept, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(confirmed.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(confirmed.contains("\r\nConnection: keep-alive\r\n"))
        #expect(kept.isActive)
        _ = try? kept.finish()

        let (closing, _) = try Self.connectedChannel()
        let once = try Self.exchange(closing, "GET / HTTP/1.0\r\n\r\n")
        #expect(once.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(once.contains("\r\nConnection: close\r\n"))
        #expect(once.hasSuffix("\r\n\r\nhello"))
        #expect(!closing.isActive)
    }

    @Test func headGetsTheLengthButNoBody() throws {
        let (channel, _) = try Self.connectedChannel()
        let reply = try Self.exchange(channel, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(reply == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n")
        _ = try? channel.finish()
    }

    @Test func malformedRequestGets400AndTheConnectionCloses() throws {
        let (channel, _) = try Self.connectedChannel()
        let reply = try? Self.exchange(channel, "\u{01}\u{02} NOT HTTP\r\n\r\n")
        var written = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { written += buffer.readString(length: buffer.readableBytes) ?? "" }
        #expect(((reply ?? "") + written).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(!channel.isActive)
    }

    @Test func idleConnectionsCloseAfterTheTimeoutAndBusyOnesStay() throws {
        let (quiet, quietSweep) = try Self.connectedChannel(idleSeconds: 1)
        #expect(quietSweep.count == 1)
        quiet.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        #expect(quiet.isActive, "closed before its timeout")
        quiet.embeddedEventLoop.advanceTime(by: .milliseconds(400))
        #expect(!quiet.isActive, "still open 1.3 s after its last request with a 1 s timeout")
        #expect(quietSweep.count == 0)

        let (busy, _) = try Self.connectedChannel(idleSeconds: 1)
        for _ in 0..<5 {
            busy.embeddedEventLoop.advanceTime(by: .milliseconds(600))
            #expect(try Self.exchange(busy, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").hasPrefix("HTTP/1.1 200 OK"))
        }
        #expect(busy.isActive, "a connection asking every 0.6 s was closed as idle")
        _ = try? busy.finish()
    }

    /// Never before the timeout: a client silent for 0.95 timeouts (swept
    /// at 1.0) keeps its connection.
    @Test func notClosedBeforeAWholeTimeoutOfSilence() throws {
        let (channel, _) = try Self.connectedChannel(idleSeconds: 1)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        _ = try Self.exchange(channel, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")  // active in sweep interval 1
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(950))  // 1.25 s: sweep 5, 0.95 s of silence
        #expect(channel.isActive, "closed after 0.95 s of silence with a 1 s timeout")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        #expect(!channel.isActive)
    }

    /// A stopped server does not leave keep-alive connections open.
    @Test func cancellingTheSweepClosesWhatIsOpen() throws {
        let (channel, sweep) = try Self.connectedChannel()
        sweep.cancel()
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(sweep.count == 0)
    }

    /// Past the cap, a newcomer closes the least recently active
    /// connection: a flood of idle ones cannot hold more descriptors, and a
    /// client that keeps asking keeps its connection.
    @Test func theCapClosesTheLeastRecentlyActiveConnection() throws {
        let loop = EmbeddedEventLoop()
        let connections = HTTPConnections(loop: loop, timeoutSeconds: 1, maxOpen: 2)
        let talking = try Self.connectedChannel(to: connections, on: loop)
        let silent = try Self.connectedChannel(to: connections, on: loop)
        loop.advanceTime(by: .milliseconds(300))  // one sweep: activity is now newer than both arrivals
        #expect(try Self.exchange(talking, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").hasPrefix("HTTP/1.1 200 OK"))
        let newcomer = try Self.connectedChannel(to: connections, on: loop)
        loop.run()
        #expect(!silent.isActive, "the silent connection was kept past the cap")
        #expect(talking.isActive && newcomer.isActive)
        #expect(connections.count == 2)
        loop.advanceTime(by: .milliseconds(250))  // another sweep; the talker asks again
        #expect(try Self.exchange(talking, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").hasPrefix("HTTP/1.1 200 OK"))
        let another = try Self.connectedChannel(to: connections, on: loop)
        loop.run()
        // Of the two left, the newcomer has been silent since the sweep before.
        #expect(!newcomer.isActive && talking.isActive && another.isActive)
        #expect(connections.count == 2)
    }

    /// After a `Connection: close` reply, a request pipelined behind it gets
    /// nothing (it used to get a 400, as the decoder calls it malformed)
    /// while the reply is still being sent (as when the socket's buffer is full).
    @Test func nothingIsAnsweredAfterAClosingReply() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let held = HeldWrites()
        try channel.pipeline.syncOperations.addHandler(held)
        try channel.pipeline.syncOperations.addHTTPReplyHandlers(connections: HTTPConnections(loop: loop, timeoutSeconds: 30)) { target, _ in
            target == "/missing" ? .text("no\n", status: 404) : .text("hello")
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6881)).wait()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /missing HTTP/1.1\r\n\r\n"))
        #expect(held.writes.count == 1, "a request behind a closing reply was answered: \(held.writes.map { String(buffer: $0) })")
        #expect(held.writes.first.map { String(buffer: $0) }?.hasPrefix("HTTP/1.1 200 OK") == true)
    }
}

/// Keeps every write unfinished, as a socket whose buffer is full would.
private final class HeldWrites: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var writes: [ByteBuffer] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writes.append(unwrapOutboundIn(data))
    }

    func flush(context: ChannelHandlerContext) {}
}
