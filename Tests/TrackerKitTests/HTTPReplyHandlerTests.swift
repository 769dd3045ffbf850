import NIOCore
import NIOEmbedded
import Testing
@testable import TrackerKit

/// The reply framing written without NIO's response encoder, and the idle
/// sweep that replaced a timer per connection, on a channel whose clock the
/// test drives.
@Suite("HTTP replies and idle connections")
struct HTTPReplyHandlerTests {
    private static func connectedChannel(idleSeconds: Int = 30) throws -> (EmbeddedChannel, IdleConnections) {
        let channel = EmbeddedChannel()
        let idle = IdleConnections(loop: channel.embeddedEventLoop, timeoutSeconds: idleSeconds)
        try channel.pipeline.syncOperations.addHTTPReplyHandlers(idle: idle) { target, _ in
            target == "/missing" ? .text("no\n", status: 404) : .text("hello")
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6881)).wait()
        return (channel, idle)
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
}
