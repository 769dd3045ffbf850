import ArgumentParser
import TrackerKit

/// `HOST:PORT` (or `[IPv6]:PORT`) as given to `--listen`.
struct ListenAddress: ExpressibleByArgument, CustomStringConvertible {
    let host: String
    let port: Int

    init?(argument: String) {
        guard let (host, port) = HostPort.parse(argument), let port else { return nil }
        self.host = host
        self.port = port
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
