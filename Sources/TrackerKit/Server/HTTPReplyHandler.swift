import NIOCore
import NIOHTTP1

/// Answers GET requests on one HTTP/1.1 connection (keep-alive aware) from
/// a synchronous responder: the tracker's announce/scrape/metrics and the
/// daemon's status endpoints. Request bodies are ignored; everything is in
/// the request target. Requests are parsed by NIO's decoder; the reply, a
/// status line and three headers at most, is written as one buffer (no
/// response encoder and header validator per connection: trackers see
/// mostly one-request connections, so per-connection cost is the cost).
public final class HTTPReplyHandler: ChannelInboundHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias OutboundOut = ByteBuffer
    /// Request target and source address to reply; runs on the event loop,
    /// so it must not block.
    public typealias Responder = @Sendable (_ target: String, _ source: IPAddress?) -> HTTPReply

    private let responder: Responder
    private let connections: HTTPConnections
    private var head: HTTPRequestHead?
    private var responding = false
    /// A reply said `Connection: close`: nothing more is answered, not even
    /// the 400 for what came behind it (NIO's decoder, after a closing
    /// request, reports any further bytes as malformed).
    private var closing = false
    private var channel: (any Channel)?
    /// The idle sweep's count when this connection last made progress.
    private(set) var lastActiveTick = 0

    public init(connections: HTTPConnections, responder: @escaping Responder) {
        self.connections = connections
        self.responder = responder
    }

    public func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        lastActiveTick = connections.tick
        connections.add(self)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        connections.remove(self)
        channel = nil
        context.fireChannelInactive()
    }

    /// Called by `HTTPConnections` (idle, evicted, or the server stopping).
    func close() {
        channel?.close(promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActiveTick = connections.tick
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    /// Malformed HTTP gets a 400 (unless a reply is under way or said it
    /// was the last); any error ends the connection.
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, !responding, !closing {
            var buffer = context.channel.allocator.buffer(capacity: 120)
            Self.writeHead(of: .text("", status: 400), version: .http1_1, keepAlive: false, into: &buffer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        responding = true
        defer { responding = false }
        let reply: HTTPReply
        if head.method == .GET || head.method == .HEAD {
            reply = responder(head.uri, context.channel.remoteAddress.flatMap(IPAddress.init(socketAddress:)))
        } else {
            reply = .text("method not allowed\n", status: 405)
        }
        let keepAlive = head.isKeepAlive
        let includeBody = head.method != .HEAD
        var buffer = context.channel.allocator.buffer(capacity: 160 + (includeBody ? reply.body.count : 0))
        Self.writeHead(of: reply, version: head.version, keepAlive: keepAlive, into: &buffer)
        if includeBody { buffer.writeBytes(reply.body) }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            closing = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Status line and headers. HTTP/1.0 keep-alive must be confirmed with a
    /// header; HTTP/1.1 closing must be announced with one.
    static func writeHead(of reply: HTTPReply, version: HTTPVersion, keepAlive: Bool, into buffer: inout ByteBuffer) {
        let minor = version.major == 1 && version.minor == 0 ? 0 : 1
        // Static pieces where possible: interpolated lines are heap strings,
        // and this runs once per request.
        buffer.writeStaticString(minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        let status = HTTPResponseStatus(statusCode: reply.status)
        buffer.writeString(String(status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        buffer.writeStaticString("Content-Type: ")
        buffer.writeString(reply.contentType)
        buffer.writeStaticString("\r\nContent-Length: ")
        buffer.writeString(String(reply.body.count))
        buffer.writeStaticString("\r\n")
        if !keepAlive {
            buffer.writeStaticString("Connection: close\r\n")
        } else if minor == 0 {
            buffer.writeStaticString("Connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// An HTTP/1.1 request decoder and a `HTTPReplyHandler` after it.
    public func addHTTPReplyHandlers(connections: HTTPConnections, responder: @escaping HTTPReplyHandler.Responder) throws {
        try addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try addHandler(HTTPReplyHandler(connections: connections, responder: responder))
    }
}

extension IPAddress {
    /// The address of a NIO socket address (nil for Unix sockets).
    public init?(socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let address):
            self = .v4(UInt32(bigEndian: address.address.sin_addr.s_addr))
        case .v6(let address):
            var raw = address.address.sin6_addr
            self.init(bytes: withUnsafeBytes(of: &raw) { Array($0) })
        case .unixDomainSocket:
            return nil
        }
    }
}
