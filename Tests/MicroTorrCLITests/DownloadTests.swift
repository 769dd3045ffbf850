import Foundation
import TestSupport
import Testing

/// `microtorr download` against real peers on loopback: python3-libtorrent
/// in both directions, several of our own leechers, and a corrupting peer.
@Suite("Download and seed")
struct DownloadTests {
    @Test func ourLeecherFromALibtorrentSeeder() throws {
        let (directory, torrent) = try Fixtures.seedData(size: 5_000_000)
        let port = BackgroundProcess.freePort()
        let seeder = try Fixtures.interopPeer("libtorrent_tool.py", ["seed", torrent, "seed", "\(port)"], in: directory.path)
        defer { seeder.stop(signal: SIGKILL) }
        #expect(seeder.waitForOutput("ready"), "\(seeder.stderr)")
        let result = try Fixtures.leech(torrent, fromPorts: [port], in: directory.path)
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/out/data.bin.part"))
        #expect(result.stdout.contains("LT 2080"))  // libtorrent 2.0.8, from its peer id
        #expect(result.stderr.contains("\"event\":\"download.completed\""))
    }

    @Test func ourSeederToALibtorrentLeecher() throws {
        let (directory, torrent) = try Fixtures.seedData(size: 5_000_000)
        let (seeder, port) = try Fixtures.startSeeder(torrent, in: directory, arguments: ["--log-format", "json"])
        let result = try ProcessRunner.libtorrentTool(["leech", torrent, "out", "127.0.0.1:\(port)", "60"], in: directory.path)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["finished"] as? Bool == true && report["flushed"] as? Bool == true)
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
        let stopped = seeder.stop()
        #expect(stopped.status == 0)
        #expect(seeder.stdout.contains("peer statistics"))
        #expect(seeder.stdout.contains("5.0 MB"))
    }

    /// One seeder and three of our leechers on a multi-file torrent, found
    /// through `microtorr tracker`: all complete, identical.
    @Test func oneSeederThreeLeechersMultiFile() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("seed/album/a.bin", size: 2_000_000)
        try directory.randomFile("seed/album/sub/b.bin", size: 1_500_001)
        try directory.randomFile("seed/album/c.txt", size: 10)
        let (tracker, announceURL) = try Fixtures.startTracker()
        defer { tracker.stop() }
        let torrent = try Fixtures.makeTorrent(directory, target: "seed/album", tracker: announceURL)
        let seeder = try BackgroundProcess(ProcessRunner.microtorr, ["download", torrent, "-s", "seed/album", "--log-format", "json"],
                                           in: directory.path)
        defer { seeder.stop() }
        var leechers: [BackgroundProcess] = []
        for index in 0..<3 {
            try FileManager.default.createDirectory(atPath: "\(directory.path)/l\(index)", withIntermediateDirectories: true)
            leechers.append(try BackgroundProcess(ProcessRunner.microtorr,
                ["download", torrent, "-o", "l\(index)", "--exit-on-complete", "--log-format", "json"], in: directory.path))
        }
        _ = eventually(timeout: 90) { !leechers.contains { $0.process.isRunning } }
        for (index, leecher) in leechers.enumerated() {
            let result = leecher.stop()
            #expect(result.status == 0, "leecher \(index): \(leecher.stderr.suffix(2000))")
            for file in ["a.bin", "sub/b.bin", "c.txt"] {
                #expect(try Fixtures.same("\(directory.path)/seed/album/\(file)", "\(directory.path)/l\(index)/album/\(file)"))
            }
        }
    }

    /// A peer that corrupts every block: its pieces fail, are fetched again
    /// from the good seeder, the file ends correct and the bad peer is banned.
    @Test func corruptBlocksAreRefetchedAndTheSenderBanned() throws {
        let (result, badPort, goodPort) = try Fixtures.downloadBesideBadPeer(mode: "corrupt", size: 3_000_000, arguments: ["-v", "2"])
        #expect(result.stderr.contains("\"event\":\"piece.failed\""))
        let bans = result.stderr.split(separator: "\n").filter { $0.contains("\"event\":\"peer.banned\"") }
        #expect(!bans.isEmpty)
        // Only the bad peer: the good seeder shares its address (127.0.0.1).
        #expect(bans.allSatisfy { $0.contains("127.0.0.1:\(badPort)") })
        let goodRefused = result.stderr.split(separator: "\n").filter {
            $0.contains("\"error\":\"banned\"") && $0.contains("127.0.0.1:\(goodPort)\"")
        }
        #expect(goodRefused.isEmpty)
    }

    /// `-i lo`: both sides bind to the interface's IPv4 (127.0.0.1) and the
    /// seeder announces it; the leecher finds it through our tracker.
    @Test func interfaceBindingAndAnnouncing() throws {
        let trackerPort = BackgroundProcess.freePort()
        let tracker = try BackgroundProcess(ProcessRunner.microtorr,
            ["tracker", "--listen", "127.0.0.1:\(trackerPort)", "--log-format", "json", "-v", "2"])
        defer { tracker.stop() }
        #expect(BackgroundProcess.waitForPort(trackerPort))
        let (directory, torrent) = try Fixtures.seedData(size: 1_000_000, tracker: "http://127.0.0.1:\(trackerPort)/announce")
        let seedPort = BackgroundProcess.freePort()
        let seeder = try BackgroundProcess(ProcessRunner.microtorr,
            ["download", torrent, "-s", "seed/data.bin", "-i", "lo", "-p", "\(seedPort)", "-v", "0"], in: directory.path)
        defer { seeder.stop() }
        #expect(BackgroundProcess.waitForPort(seedPort))
        let result = try ProcessRunner.microtorr(["download", torrent, "-o", "out", "-i", "lo", "--exit-on-complete", "-v", "0"],
                                                 in: directory.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
        // The seeder announced the interface's address and its port...
        #expect(tracker.stderr.contains("\"peer\":\"127.0.0.1:\(seedPort)\""))
        // ...and listens on that address only: 127.0.0.2 (also loopback,
        // but not lo's address) is refused.
        #expect(Self.connect(to: "127.0.0.2", port: seedPort) == false)
        #expect(Self.connect(to: "127.0.0.1", port: seedPort) == true)
        let bad = try ProcessRunner.microtorr(["download", torrent, "-o", "out", "-i", "no-such-interface0"], in: directory.path)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("no-such-interface0"))
    }

    /// Whether a TCP connection to `host:port` is accepted.
    static func connect(to host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private func downloadedBytes(_ stderr: String) throws -> Int {
        try Fixtures.downloadedBytes(stderr)
    }

    /// A restarted download keeps the verified part of its `.part` file and
    /// fetches only the rest; a finished one is verified and seeded, not
    /// fetched again; a foreign file under the final name is left alone.
    @Test func restartsKeepWhatIsOnDisk() throws {
        let directory = TemporaryDirectory()
        let original = try Data(contentsOf: URL(fileURLWithPath: try directory.randomFile("seed/data.bin", size: 2_000_000)))
        let torrent = try Fixtures.makeTorrent(directory, target: "seed/data.bin")
        try directory.write(Array(original.prefix(1_000_000)), to: "out/data.bin.part")
        let (seeder, port) = try Fixtures.startSeeder(torrent, in: directory)
        defer { seeder.stop() }
        let resumed = try Fixtures.leech(torrent, fromPorts: [port], in: directory.path)
        // 30 whole 32 KiB pieces were on disk; only the other 1 017 152 bytes came over.
        #expect(Fixtures.events("data.verified", in: resumed.stderr).first?["pieces"] as? Int == 30)
        #expect(try downloadedBytes(resumed.stderr) == 2_000_000 - 30 * 32768)

        let again = try Fixtures.leech(torrent, fromPorts: [port], in: directory.path)
        #expect(try downloadedBytes(again.stderr) == 0)

        try FileManager.default.removeItem(atPath: "\(directory.path)/out/data.bin")
        try directory.write(Array("someone else's file".utf8), to: "out/data.bin")
        let foreign = try ProcessRunner.microtorr(["download", torrent, "-o", "out", "--exit-on-complete"], in: directory.path)
        #expect(foreign.status == 1)
        #expect(foreign.stderr.contains("does not match the torrent"))
        #expect(try String(contentsOfFile: "\(directory.path)/out/data.bin", encoding: .utf8) == "someone else's file")
    }

    @Test func seedingDataThatDoesNotMatchFailsClearly() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("data.bin", size: 100_000)
        let torrent = try Fixtures.makeTorrent(directory, target: "data.bin")
        try directory.randomFile("other.bin", size: 100_000)
        let result = try ProcessRunner.microtorr(["download", torrent, "-s", "other.bin"], in: directory.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("does not match the torrent"))
    }

    /// A connection that never sends its handshake is closed after the
    /// 10 s handshake timeout (it would otherwise hold a slot forever), and
    /// garbage instead of a handshake is closed at once.
    @Test func silentAndGarbageConnectionsAreClosed() throws {
        let (directory, torrent) = try Fixtures.seedData(size: 100_000)
        let (seeder, port) = try Fixtures.startSeeder(torrent, in: directory)
        defer { seeder.stop() }
        let silent = try #require(BackgroundProcess.connectLoopback(port: port))
        defer { close(silent) }
        let closedAfter = try #require(BackgroundProcess.secondsUntilClosed(silent, limit: 20), "a silent connection stayed open")
        #expect(closedAfter >= 8 && closedAfter <= 15, "closed after \(closedAfter) s")

        let garbage = try #require(BackgroundProcess.connectLoopback(port: port))
        defer { close(garbage) }
        let junk = [UInt8](repeating: 0x41, count: 68)
        _ = junk.withUnsafeBytes { write(garbage, $0.baseAddress, $0.count) }
        let garbageClosed = try #require(BackgroundProcess.secondsUntilClosed(garbage, limit: 5), "garbage was not refused")
        #expect(garbageClosed < 2)
        // The seeder still serves a real peer afterwards.
        let leecher = try ProcessRunner.microtorr(
            ["download", torrent, "-o", "out", "--peer", "127.0.0.1:\(port)", "--exit-on-complete", "-v", "0"], in: directory.path)
        #expect(leecher.status == 0, "\(leecher.stderr)")
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
    }
}
