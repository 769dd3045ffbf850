import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import TrackerKit

/// `microtorr tracker`: the HTTP tracker (announce, scrape, metrics).
struct TrackerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracker",
        abstract: "Run an HTTP BitTorrent tracker (announce, scrape, Prometheus metrics).")

    @Option(name: .customLong("listen"), help: "Address and port to listen on.")
    var listen = ListenAddress(argument: "0.0.0.0:6969")!

    @Option(name: .customLong("interval"), help: "Seconds between a peer's announces.")
    var interval = 10

    @Option(name: .customLong("peer-timeout"), help: "Seconds before a silent peer is dropped.")
    var peerTimeout = 30

    @Option(name: .customLong("whitelist"), help: "Track only the torrents whose .mtorrent/.torrent is in this directory.",
            completion: .directory)
    var whitelist: String?

    @Option(name: .customLong("max-peers-per-swarm"), help: "Most peers listed per torrent.")
    var maxPeersPerSwarm = 10_000

    @Option(name: .customLong("max-swarms"), help: "Most torrents tracked at once.")
    var maxSwarms = 100_000

    @Option(name: .customLong("max-connections"),
            help: "Most connections held at once; past it the least recently active is closed (bounds descriptors under a flood).")
    var maxConnections = 4096

    @Option(name: .customLong("threads"), help: "Event loop threads (default: all cores).")
    var threads = System.coreCount

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard interval >= 1 else { throw ValidationError("--interval must be at least 1") }
        guard peerTimeout > interval else { throw ValidationError("--peer-timeout must be longer than --interval") }
        guard maxPeersPerSwarm >= 1, maxSwarms >= 1, maxConnections >= 1 else { throw ValidationError("limits must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "microtorr.tracker")
        var configuration = TrackerConfiguration()
        configuration.interval = interval
        configuration.peerTimeout = peerTimeout
        configuration.whitelistDirectory = whitelist
        configuration.limits.maxPeersPerSwarm = maxPeersPerSwarm
        configuration.limits.maxSwarms = maxSwarms
        // (Lowered by the server to fit the open-file limit, with a warning.)
        configuration.maxConnections = maxConnections
        let server: TrackerServer
        do {
            let group = threads == System.coreCount ? MultiThreadedEventLoopGroup.singleton : MultiThreadedEventLoopGroup(numberOfThreads: threads)
            server = try await TrackerServer.start(
                host: listen.host, port: listen.port, configuration: configuration, group: group, logger: logger)
        } catch {
            throw CommandFailure("cannot listen on \(listen): \(error)")
        }
        let signal = await ShutdownSignal.wait()
        logger.info("shutting down", metadata: ["event": "tracker.stopping", "signal": .string(signal)])
        await server.shutdown()
    }
}
