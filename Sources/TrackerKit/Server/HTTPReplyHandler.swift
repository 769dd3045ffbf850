import NIOCore
import NIOHTTP1

/// Answers GET requests on one HTTP/1.1 connection (keep-alive aware) from
/// a synchronous responder: the tracker's announce/scrape/metrics and the
/// daemon's status endpoints. Request bodies are ignored; everything is in
/// the request target.
public final class HTTPReplyHandler: ChannelInboundHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias OutboundOut = HTTPServerResponsePart
    /// Request target and source address to reply; runs on the event loop,
    /// so it must not block.
    public typealias Responder = @Sendable (_ target: String, _ source: IPAddress?) -> HTTPReply

    private let responder: Responder
    private var head: HTTPRequestHead?
    private var responding = false

    public init(responder: @escaping Responder) {
        self.responder = responder
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
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

    /// Malformed HTTP gets a 400 (unless a reply is under way); any error
    /// ends the connection. Done here rather than by NIO's separate error
    /// handler: one handler fewer per connection, and trackers see mostly
    /// one-request connections.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, !responding {
            let head = HTTPResponseHead(
                version: .http1_1, status: .badRequest, headers: ["Connection": "close", "Content-Length": "0"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
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
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: String(reply.body.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(
            version: head.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
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
