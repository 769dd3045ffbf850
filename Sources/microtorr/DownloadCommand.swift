import ArgumentParser
import Dispatch
import Engine
import FoundationEssentials
import MicroTorrLogging
import Logging
import Metainfo
import NIOCore
import NIOPosix
import PeerWire
import TrackerKit

/// `microtorr download FILE`: leech a torrent (or seed existing data with
/// `-s PATH`), then keep seeding until interrupted.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a torrent (or seed existing data with -s), then seed until interrupted.")

    @Argument(help: "The .mtorrent or .torrent file.", completion: .file(extensions: ["mtorrent", "torrent"]))
    var file: String

    @Option(name: [.customShort("s"), .customLong("seed")], help: "Seed this existing file or directory (verified first).",
            completion: .file())
    var seedPath: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: "Directory to download into (default: current).",
            completion: .directory)
    var output: String = "."

    @Option(name: [.customShort("i"), .customLong("interface")], help: "Bind to this interface's IPv4 address and announce it.")
    var interface: String?

    @Option(name: [.customShort("p"), .customLong("port")], help: "Port to listen on for peers (default: any free port).")
    var port: Int = 0

    @Option(name: [.customShort("u"), .customLong("upload-limit")], help: "Upload limit in kB/s (1 kB = 1000 bytes; 0 = unlimited).")
    var uploadLimit = 0

    @Option(name: [.customShort("d"), .customLong("download-limit")], help: "Download limit in kB/s (1 kB = 1000 bytes; 0 = unlimited).")
    var downloadLimit = 0

    @Option(name: .customLong("wait-seeders"), help: "Request nothing until the swarm has this many seeders.")
    var waitSeeders = 1

    @Option(name: .customLong("wait-leechers"), help: "Request nothing until the swarm has this many other leechers.")
    var waitLeechers = 0

    @Option(name: .customLong("peer"), help: "Connect to this peer (HOST:PORT); may repeat.")
    var peers: [String] = []

    @Option(name: .customLong("tracker"), help: "Use this tracker instead of the ones in the file.")
    var tracker: String?

    @Flag(name: .customLong("exit-on-complete"), help: "Exit once the download is complete instead of seeding.")
    var exitOnComplete = false

    @Option(name: .customLong("max-peers"), help: "Most peer connections.")
    var maxPeers = 50

    /// For tests of stalled peers; the default suits real swarms.
    @Option(name: .customLong("request-timeout"), help: .hidden)
    var requestTimeout = 20.0

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
        guard uploadLimit >= 0, downloadLimit >= 0 else { throw ValidationError("rate limits must be 0 (unlimited) or more kB/s") }
        guard waitSeeders >= 0, waitLeechers >= 0 else { throw ValidationError("--wait-seeders and --wait-leechers must be 0 or more") }
        for peer in peers where PeerEndpoint(peer) == nil {
            throw ValidationError("--peer \(peer): expected IP:PORT (e.g. 127.0.0.1:6881 or [::1]:6881)")
        }
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "microtorr.download")
        // A descriptor per file of the torrent (two while it is written
        // directly) plus the peers: the default 1024 is too few for large
        // multi-file torrents.
        _ = DescriptorLimit.raiseToMaximum()
        let metainfo: Metainfo
        do {
            metainfo = try Metainfo(contentsOfFile: file)
        } catch {
            throw CommandFailure("cannot load \(file): \(error)")
        }
        var bindAddress = "0.0.0.0"
        var announcedIP: IPAddress?
        if let interface {
            guard let address = try InterfaceAddress.ipv4(of: interface) else {
                throw CommandFailure("interface \(interface) has no IPv4 address")
            }
            bindAddress = address
            announcedIP = IPAddress(address)
        }

        // 1. What is already on disk.
        let storage = TorrentStorage(info: metainfo.info, location: seedPath.map { .existing(path: $0) } ?? .download(directory: output))
        if seedPath == nil, !FileManager.default.fileExists(atPath: output) {
            throw CommandFailure("output directory \(output) does not exist")
        }
        let adopted = seedPath == nil && storage.adoptExistingFinalData()
        var have = Bitfield(count: metainfo.info.pieceCount)
        // Verified pieces of an interrupted download, trusted while the
        // `.part` data has the size and time recorded with them.
        let resumePath = seedPath == nil ? "\(output)/.microtorr-\(metainfo.infoHash.hex).resume" : nil
        if !adopted, let resumePath, let state = ResumeState.load(fromPath: resumePath, for: storage, infoHash: metainfo.infoHash) {
            have = state.have
            logger.info("resumed", metadata: [
                "event": "download.resumed", "pieces": .stringConvertible(have.setCount), "of": .stringConvertible(have.count),
            ])
        } else if seedPath != nil || adopted || FileManager.default.fileExists(atPath: storage.currentRoot) {
            have = await Self.verify(storage)
            if (seedPath != nil || adopted) && !have.isComplete {
                let bad = have.count - have.setCount
                throw CommandFailure("\(storage.currentRoot) does not match the torrent (\(bad) of \(have.count) pieces differ)")
            }
            logger.info("verified existing data", metadata: [
                "event": "data.verified", "pieces": .stringConvertible(have.setCount), "of": .stringConvertible(have.count),
            ])
        }

        // 2. Listen, start the session on it, then find peers.
        let service: PeerService
        do {
            service = try await PeerService.start(host: bindAddress, port: port, bindOutgoing: interface != nil)
        } catch {
            throw CommandFailure("cannot listen on \(bindAddress):\(port): \(error)")
        }
        var sessionConfiguration = SessionConfiguration()
        sessionConfiguration.maxPeers = maxPeers
        sessionConfiguration.requestTimeout = requestTimeout
        sessionConfiguration.waitSeeders = waitSeeders
        sessionConfiguration.waitLeechers = waitLeechers
        sessionConfiguration.resumePath = resumePath
        let session = TorrentSession(metainfo: metainfo, storage: storage, peerID: PeerID.random(), configuration: sessionConfiguration,
                                     loop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        session.setLimits(uploadBytesPerSecond: Double(uploadLimit) * 1000, downloadBytesPerSecond: Double(downloadLimit) * 1000)
        service.add(session, have: have)
        session.addPeers(peers.compactMap(PeerEndpoint.init))

        let tracked = TrackedSession(session: session, trackers: tracker.map { [[$0]] } ?? metainfo.trackerTiers,
                                     port: service.port, ip: announcedIP)
        tracked.start()
        let started = Date()
        let display = ProgressDisplay(bar: ProgressBar(total: metainfo.info.totalLength, label: metainfo.info.name.escapingControlCharacters)) {
            let snapshot = session.snapshot
            return min(metainfo.info.totalLength, Int64(snapshot.verifiedPieces) * Int64(metainfo.info.pieceLength))
        } suffix: {
            let snapshot = session.snapshot
            return "  peers \(snapshot.peers) (\(snapshot.seeders) seeders)"
        }

        // 3. Completion: announce it; exit, or keep seeding until a signal.
        let signals = ShutdownSignal.stream()
        let (completions, completion) = AsyncStream.makeStream(of: Void.self)
        session.whenComplete {
            completion.yield()
            completion.finish()
        }
        let exitOnComplete = self.exitOnComplete
        let ended = await withTaskGroup(of: String.self) { group in
            group.addTask {
                for await name in signals { return name }
                return "cancelled"
            }
            if exitOnComplete {
                group.addTask {
                    for await _ in completions { return "complete" }
                    return "cancelled"
                }
            }
            let first = await group.next() ?? "end"
            group.cancelAll()
            return first
        }
        display?.finish()
        await tracked.stop()
        logger.info("stopped", metadata: [
            "event": "session.stopped", "reason": .string(ended),
            "bytes": .stringConvertible(session.snapshot.downloaded), "uploaded": .stringConvertible(session.snapshot.uploaded),
        ])
        await service.close()
        let statistics = (try? await session.statistics().get()) ?? []
        print(StatisticsReport(statistics: statistics, elapsed: Date().timeIntervalSince(started), snapshot: session.snapshot).text)
        if let error = session.snapshot.error, !session.snapshot.isComplete {
            throw CommandFailure(error)
        }
    }

    /// Checks the pieces on disk on all cores, with a progress bar.
    static func verify(_ storage: TorrentStorage) async -> Bitfield {
        let progress = HashProgress()
        let display = ProgressDisplay(bar: ProgressBar(total: storage.info.totalLength, label: "verifying")) { progress.bytesHashed }
        let result = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: storage.verifyAll(threads: ProcessInfo.processInfo.activeProcessorCount, progress: progress))
            }
        }
        display?.finish()
        return result
    }
}

/// The original's statistics at exit: per peer bytes and average rates.
struct StatisticsReport {
    let statistics: [PeerStatistics]
    let elapsed: Double
    let snapshot: SessionSnapshot

    var text: String {
        func row(_ columns: [String]) -> String {
            let widths = [24, 10, 12, 12, 12, 12]
            return "  " + zip(columns, widths).enumerated().map { index, pair in
                NumberText.padded(pair.0, width: pair.1, right: index >= 2)
            }.joined(separator: " ")
        }
        var lines = ["", "peer statistics:", row(["peer", "client", "downloaded", "uploaded", "down/s", "up/s"])]
        for peer in statistics.sorted(by: { $0.downloaded + $0.uploaded > $1.downloaded + $1.uploaded }) {
            lines.append(row([peer.endpoint, peer.client, ByteCount.format(peer.downloaded), ByteCount.format(peer.uploaded),
                              ByteCount.format(Int64(peer.averageDownloadRate)), ByteCount.format(Int64(peer.averageUploadRate))]))
        }
        lines.append(row(["total", "", ByteCount.format(snapshot.downloaded), ByteCount.format(snapshot.uploaded)]))
        lines.append("  \(snapshot.verifiedPieces) of \(snapshot.pieceCount) pieces verified, \(snapshot.failedPieces) failed their check, "
                     + "\(ByteCount.format(snapshot.wasted)) wasted, \(NumberText.fixed(elapsed, decimals: 1)) s")
        return lines.joined(separator: "\n")
    }
}
