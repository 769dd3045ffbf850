import Metainfo

/// The appliance's settings: every key of the YAML file (SPEC section 5),
/// typed, with the documented defaults for keys the file leaves out.
public struct ApplianceConfiguration: Sendable, Equatable {
    public var shareDirectory = "/srv/microtorr/share"
    public var inboxDirectory = "/srv/microtorr/inbox"
    public var downloadDirectory = "/srv/microtorr/downloads"
    public var torrentDirectory = "/srv/microtorr/torrents"
    public var stateDirectory = "/var/lib/microtorr"
    public var tracker = Tracker()
    public var network = Network()
    public var limits = Limits()
    public var swarm = Swarm()
    public var logging = Logging()
    public var status = Status()

    public struct Tracker: Sendable, Equatable {
        /// Written into new `.mtorrent` files; nil: derived from the first
        /// interface's address and the embedded tracker's port.
        public var url: String?
        public var embedded = Embedded()

        public struct Embedded: Sendable, Equatable {
            public var enabled = true
            public var listen = "0.0.0.0:6969"
            public var announceIntervalSeconds = 10
            public var peerTimeoutSeconds = 30
        }
    }

    public struct Network: Sendable, Equatable {
        /// Listen on these interfaces' addresses; empty: all addresses.
        public var interfaces: [String] = []
        public var port = 6881
    }

    public struct Limits: Sendable, Equatable {
        /// kB/s (1 kB = 1000 bytes), 0 = unlimited.
        public var uploadKBps = 0
        public var downloadKBps = 0
        public var maxPeersPerTorrent = 50
    }

    public struct Swarm: Sendable, Equatable {
        public var waitSeeders = 1
        public var waitLeechers = 0
        public var pieceLength: PieceLength = .auto
        /// Mark torrents made by the daemon private (BEP 27).
        public var isPrivate = false
    }

    public struct Logging: Sendable, Equatable {
        public enum Level: String, Sendable, CaseIterable { case error, warning, info, debug, trace }
        public enum Format: String, Sendable, CaseIterable { case json, text }
        public var level = Level.info
        public var format = Format.json
    }

    public struct Status: Sendable, Equatable {
        public var listen = "127.0.0.1:6880"
    }

    public init() {}

    /// What `microtorr daemon` runs on without any config file: everything
    /// under `ROOT/microtorr-data`, the embedded tracker on 127.0.0.1, so it
    /// works out of the box on any machine.
    public static func localDefault(root: String) -> ApplianceConfiguration {
        var configuration = ApplianceConfiguration()
        let data = "\(root)/microtorr-data"
        configuration.shareDirectory = "\(data)/share"
        configuration.inboxDirectory = "\(data)/inbox"
        configuration.downloadDirectory = "\(data)/downloads"
        configuration.torrentDirectory = "\(data)/torrents"
        configuration.stateDirectory = "\(data)/state"
        configuration.tracker.embedded.listen = "127.0.0.1:6969"
        configuration.tracker.url = "http://127.0.0.1:6969/announce"
        configuration.logging.format = .text
        return configuration
    }
}
