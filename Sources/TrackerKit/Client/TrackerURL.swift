/// An `http://` tracker URL split into what a request needs.
public struct TrackerURL: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// Path plus any query the URL already carries (e.g. a passkey).
    public let target: String
    public let description: String

    /// Only plain HTTP is supported (no TLS, no UDP trackers yet).
    public init(_ text: String) throws(TrackerClientError) {
        guard text.hasPrefix("http://") else {
            throw .unsupportedURL(text, "only http:// trackers are supported")
        }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        var target = String(rest[slash...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        guard let (host, port) = HostPort.parse(authority) else { throw .unsupportedURL(text, "bad host or port") }
        guard port != 0 else { throw .unsupportedURL(text, "bad port") }
        guard !host.contains("@") else { throw .unsupportedURL(text, "bad host") }
        self.host = host
        self.port = port ?? 80
        self.target = target
        self.description = text
    }

    /// `target` with `query` appended (after `?` or `&`).
    public func target(adding query: String) -> String {
        target + (target.contains("?") ? "&" : "?") + query
    }

    /// BEP 48: the scrape URL replaces a final `announce` path element with
    /// `scrape`; trackers whose URL does not end so have no scrape.
    public var scrapeURL: TrackerURL? {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let last = path[0].split(separator: "/").last, last.hasPrefix("announce") else { return nil }
        let prefix = path[0].dropLast(last.count)
        let scrapePath = prefix + "scrape" + last.dropFirst("announce".count)
        let text = "http://\(HostPort.format(host: host, port: port))\(scrapePath)" + (path.count > 1 ? "?\(path[1])" : "")
        return try? TrackerURL(text)
    }
}

/// Why talking to a tracker failed.
public enum TrackerClientError: Error, Hashable, Sendable, CustomStringConvertible {
    case unsupportedURL(String, String)
    case connectionFailed(String)
    case timedOut
    case httpStatus(Int)
    case responseTooLarge
    case malformedResponse(String)
    /// The tracker answered with `failure reason`.
    case refused(String)

    public var description: String {
        switch self {
        case .unsupportedURL(let url, let why): return "unsupported tracker URL \(url): \(why)"
        case .connectionFailed(let why): return "cannot reach tracker: \(why)"
        case .timedOut: return "tracker did not answer in time"
        case .httpStatus(let status): return "tracker answered HTTP \(status)"
        case .responseTooLarge: return "tracker response too large"
        case .malformedResponse(let why): return "malformed tracker response: \(why)"
        case .refused(let reason): return "tracker refused: \(reason)"
        }
    }
}
