/// Splits `host`, `host:port`, `[v6]` or `[v6]:port` (an unbracketed IPv6
/// address has no port). One parser for `--listen`, `--peer` and tracker URLs.
public enum HostPort {
    /// `host:port`, with brackets around an IPv6 host (`[::1]:6969`).
    public static func format(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Nil when the text is empty, a bracket is unclosed, or the port is not
    /// 0–65535.
    public static func parse(_ text: some StringProtocol) -> (host: String, port: Int?)? {
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { return nil }
        guard let portText else { return (String(host), nil) }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}

import NIOCore

extension SocketAddress {
    /// `127.0.0.1:6969` or `[::1]:6969` (NIO's description adds the family
    /// and repeats the host), for logs.
    public var hostPort: String {
        guard let ip = ipAddress, let port else { return description }
        return HostPort.format(host: ip, port: port)
    }
}
