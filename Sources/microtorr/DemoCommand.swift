import ArgumentParser
import Engine
import FoundationEssentials
import MicroTorrLogging
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Metainfo
import NIOCore
import NIOPosix
import PeerWire
import Synchronization
import TrackerKit

/// `microtorr demo`: the original walkthrough in one command, on loopback —
/// a tracker, a seeder capped at 3000 kB/s and two leechers on a random
/// file — then the statistics that show the leechers feeding each other.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Replay the original walkthrough on loopback: tracker, rate-limited seeder, two cooperating leechers.")

    @Option(help: "Size of the random file in MB (1 MB = 1 000 000 bytes).")
    var size = 100

    @Option(name: [.customShort("u"), .customLong("seeder-rate")], help: "The seeder's upload limit in kB/s.")
    var seederRate = 3000

    @Flag(help: "Keep the temporary directory (its path is printed).")
    var keep = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1...100_000).contains(size) else { throw ValidationError("--size must be 1-100000 MB") }
        guard seederRate > 0 else { throw ValidationError("--seeder-rate must be more than 0 kB/s") }
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "microtorr.demo")
        let root = try Self.makeTemporaryDirectory()
        print("working in \(root)")
        defer {
            if keep { print("files kept in \(root)") } else { try? FileManager.default.removeItem(atPath: root) }
        }
        let signals = ShutdownSignal.stream()

        // 1. A tracker on loopback, a random file, its torrent.
        let tracker: TrackerServer
        do {
            var configuration = TrackerConfiguration()
            configuration.interval = 2
            tracker = try await TrackerServer.start(host: "127.0.0.1", port: 0, configuration: configuration, logger: logger)
        } catch {
            throw CommandFailure("cannot start the tracker: \(error)")
        }
        print("tracker on 127.0.0.1:\(tracker.port)")
        let dataPath = "\(root)/seeder/demo.bin"
        let metainfo: Metainfo
        do {
            try FileManager.default.createDirectory(atPath: "\(root)/seeder", withIntermediateDirectories: true)
            try Self.writeRandomFile(at: dataPath, bytes: size * 1_000_000)
            var options = MetainfoCreator.Options()
            options.trackers = ["http://127.0.0.1:\(tracker.port)/announce"]
            metainfo = try MetainfoCreator(options: options).create(from: try ContentSource(scanning: dataPath))
            try FileIO.writeAtomically(metainfo.encoded(), toPath: "\(root)/demo.mtorrent")
        } catch {
            await tracker.shutdown()
            throw CommandFailure("cannot prepare the demo file: \(error)")
        }
        print("\(size) MB random file, \(metainfo.info.pieceCount) pieces of \(ByteCount.format(Int64(metainfo.info.pieceLength)))")

        // 2. The seeder (capped), then two leechers, each with its own port.
        var members: [DemoPeer] = []
        do {
            let seeder = try await DemoPeer.start(
                name: "seeder", metainfo: metainfo, storage: TorrentStorage(info: metainfo.info, location: .existing(path: dataPath)),
                complete: true, logger: logger)
            seeder.tracked.session.setLimits(uploadBytesPerSecond: Double(seederRate) * 1000, downloadBytesPerSecond: 0)
            members.append(seeder)
            print("seeder on 127.0.0.1:\(seeder.port), upload capped at \(seederRate) kB/s")
            // Leechers that announce before the seeder would hear of it
            // only at their next announce.
            guard await seeder.tracked.waitUntilAnnounced(timeout: .seconds(10)) else {
                throw CommandFailure("the seeder could not announce to the tracker")
            }
            for index in 1...2 {
                let directory = "\(root)/leecher\(index)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let leecher = try await DemoPeer.start(
                    name: "leecher \(index)", metainfo: metainfo,
                    storage: TorrentStorage(info: metainfo.info, location: .download(directory: directory)), complete: false, logger: logger)
                members.append(leecher)
                print("leecher \(index) on 127.0.0.1:\(leecher.port)")
            }
        } catch {
            for member in members { await member.stop() }
            await tracker.shutdown()
            throw CommandFailure("cannot start the demo peers: \(error)")
        }
        let seeder = members[0]
        let leechers = Array(members.dropFirst())

        // 3. Progress until both leechers are done (or a signal).
        let started = Date()
        var finished: [String: Double] = [:]
        let interrupted = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in signals { return true }
                return false
            }
            group.addTask {
                while !Task.isCancelled {
                    let line = leechers.map { leecher in
                        let snapshot = leecher.tracked.session.snapshot
                        let percent = 100 * Double(snapshot.verifiedPieces) / Double(max(1, snapshot.pieceCount))
                        let shown = NumberText.padded(NumberText.fixed(percent, decimals: 1), width: 5, right: true)
                        return "\(leecher.name) \(shown)% \(ByteCount.format(Int64(snapshot.downloadRate)))/s"
                    }.joined(separator: "   ")
                    let seederRate = seeder.tracked.session.snapshot.uploadRate
                    let elapsed = NumberText.padded(NumberText.fixed(Date().timeIntervalSince(started), decimals: 1), width: 6, right: true)
                    print("\(elapsed) s  \(line)   seeder up \(ByteCount.format(Int64(seederRate)))/s")
                    if leechers.allSatisfy({ $0.tracked.session.snapshot.isComplete }) { return false }
                    try? await Task.sleep(for: .seconds(1))
                }
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        for leecher in leechers {
            if let time = leecher.completedAt { finished[leecher.name] = time.timeIntervalSince(started) }
        }

        // 4. Statistics: who got what from whom.
        var report: [String] = []
        let names = Dictionary(uniqueKeysWithValues: members.map { ($0.tracked.session.peerID.bytes, $0.name) })
        for leecher in leechers {
            let statistics = (try? await leecher.tracked.session.statistics().get()) ?? []
            var received: [String: Int64] = [:]
            for peer in statistics { received[names[peer.peerID] ?? peer.endpoint, default: 0] += peer.downloaded }
            let total = received.values.reduce(0, +)
            let fromPeers = received.filter { $0.key != "seeder" }.values.reduce(0, +)
            let share = NumberText.fixed(total > 0 ? 100 * Double(fromPeers) / Double(total) : 0, decimals: 0)
            report.append("\(leecher.name): \(ByteCount.format(received["seeder"] ?? 0)) from the seeder, "
                          + "\(ByteCount.format(fromPeers)) from the other leecher (\(share)% of what it received)")
        }
        let seederSent = seeder.tracked.session.snapshot.uploaded
        for member in members { await member.stop() }
        await tracker.shutdown()

        print("")
        report.forEach { print($0) }
        let fileBytes = Double(metainfo.info.totalLength)
        print("seeder sent: \(ByteCount.format(seederSent)) = \(NumberText.fixed(Double(seederSent) / fileBytes, decimals: 2))× the file")
        if interrupted {
            throw CommandFailure("interrupted")
        }
        let slowest = finished.values.max() ?? Date().timeIntervalSince(started)
        let ideal = fileBytes / (Double(seederRate) * 1000)
        print("both leechers complete after \(NumberText.fixed(slowest, decimals: 1)) s; the seeder alone needs "
              + "\(NumberText.fixed(ideal, decimals: 1)) s for one copy: ratio \(NumberText.fixed(slowest / ideal, decimals: 2)) (1.00 is perfect)")
        for leecher in leechers {
            let copy = leecher.tracked.session.storage.finalPath
            guard FileManager.default.contentsEqual(atPath: copy, andPath: dataPath) else {
                throw CommandFailure("\(leecher.name)'s copy differs from the original")
            }
        }
        print("both copies are identical to the original")
    }

    static func makeTemporaryDirectory() throws -> String {
        let temporary = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(temporary)/microtorr-demo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CommandFailure("cannot create a temporary directory") }
        return String(cString: made)
    }

    static func writeRandomFile(at path: String, bytes: Int) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CommandFailure("cannot create \(path)") }
        defer { close(fd) }
        var generator = SystemRandomNumberGenerator()
        var left = bytes
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while left > 0 {
            chunk.withUnsafeMutableBytes { buffer in
                for index in stride(from: 0, to: buffer.count, by: 8) {
                    buffer.storeBytes(of: generator.next(), toByteOffset: index, as: UInt64.self)
                }
            }
            let count = min(left, chunk.count)
            try chunk.withUnsafeBytes { (buffer) throws in
                do { try FileIO.writeFully(fd: fd, from: UnsafeRawBufferPointer(rebasing: buffer[0..<count]), path: path) } catch {
                    throw CommandFailure("\(error)")
                }
            }
            left -= count
        }
    }
}

/// One peer of the demo: its session, listener and tracker announcer.
final class DemoPeer: Sendable {
    let name: String
    let tracked: TrackedSession
    let service: PeerService
    private let completion = Mutex<Date?>(nil)

    var port: Int { service.port }
    var completedAt: Date? { completion.withLock { $0 } }

    private init(name: String, tracked: TrackedSession, service: PeerService) {
        self.name = name
        self.tracked = tracked
        self.service = service
    }

    static func start(name: String, metainfo: Metainfo, storage: TorrentStorage, complete: Bool, logger: Logger) async throws -> DemoPeer {
        var logger = logger
        logger[metadataKey: "peer_name"] = .string(name)
        let service = try await PeerService.start(host: "127.0.0.1", port: 0)
        let session = TorrentSession(metainfo: metainfo, storage: storage, peerID: PeerID.random(), loop: MultiThreadedEventLoopGroup.singleton.next(),
                                     logger: logger)
        service.add(session, have: Bitfield(count: metainfo.info.pieceCount, allSet: complete))
        let tracked = TrackedSession(session: session, trackers: metainfo.trackerTiers, port: service.port, logger: logger)
        let peer = DemoPeer(name: name, tracked: tracked, service: service)
        session.whenComplete { peer.completion.withLock { $0 = $0 ?? Date() } }
        tracked.start()
        return peer
    }

    func stop() async {
        await tracked.stop()
        await service.close()
    }
}
