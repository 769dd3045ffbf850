/// A complete HTTP reply: what the tracker's and the daemon's status
/// endpoints produce for one request.
public struct HTTPReply: Sendable {
    public let status: Int
    public let contentType: String
    public let body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func text(_ text: String, status: Int = 200) -> HTTPReply {
        HTTPReply(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}
