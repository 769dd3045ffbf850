import NIOCore
import NIOHTTP1
import NIOPosix

/// One-shot HTTP/1.1 GETs over SwiftNIO's client codec: connect, send,
/// collect a bounded body, close. Host names are resolved on NIO's thread
/// pool, never on an event loop.
public struct HTTPGetClient: Sendable {
    public var group: any EventLoopGroup
    public var timeout: TimeAmount
    public var maxBodySize: Int

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                timeout: TimeAmount = .seconds(15), maxBodySize: Int = 4 << 20) {
        self.group = group
        self.timeout = timeout
        self.maxBodySize = maxBodySize
    }

    /// GETs `target` from `host:port`; returns the status and body.
    public func get(host: String, port: Int, target: String) async throws(TrackerClientError) -> (status: Int, body: [UInt8]) {
        let address: SocketAddress
        do {
            address = try await NIOThreadPool.singleton.runIfActive {
                try SocketAddress.makeAddressResolvingHost(host, port: port)
            }
        } catch {
            throw .connectionFailed("cannot resolve \(host): \(error)")
        }
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: (status: Int, body: [UInt8]).self)
        let maxBodySize = self.maxBodySize
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, maxBodySize: maxBodySize))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: address).get()
        } catch {
            promise.fail(error)
            throw .connectionFailed("\(host):\(port): \(error)")
        }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            promise.fail(TrackerClientError.timedOut)
            channel.close(promise: nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: port == 80 ? (host.contains(":") ? "[\(host)]" : host) : HostPort.format(host: host, port: port))
        headers.add(name: "User-Agent", value: "MicroTorr")
        headers.add(name: "Accept-Encoding", value: "identity")
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        do {
            // Cancellation (e.g. a bounded `stopped` at shutdown) ends the
            // request at once instead of waiting for the timeout.
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(CancellationError())
                channel.close(promise: nil)
            }
        } catch let error as TrackerClientError {
            throw error
        } catch {
            throw .connectionFailed(String(describing: error))
        }
    }
}

/// Gathers one response and completes the promise (once).
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<(status: Int, body: [UInt8])>
    private let maxBodySize: Int
    private var status = 0
    private var body: [UInt8] = []
    private var finished = false

    init(promise: EventLoopPromise<(status: Int, body: [UInt8])>, maxBodySize: Int) {
        self.promise = promise
        self.maxBodySize = maxBodySize
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= maxBodySize else {
                finish(.failure(TrackerClientError.responseTooLarge), context: context)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            finish(.success((status, body)), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(TrackerClientError.connectionFailed("connection closed before the response ended")), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(TrackerClientError.connectionFailed(String(describing: error))), context: context)
    }

    private func finish(_ result: Result<(status: Int, body: [UInt8]), any Error>, context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        promise.completeWith(result)
        context.close(promise: nil)
    }
}
