import Foundation
import TestSupport
import Testing

/// Rate limits, wait thresholds, resume after a crash and misbehaving peers,
/// with real processes on loopback.
@Suite("Swarm policy")
struct SwarmPolicyTests {
    static let limit = 3_000_000.0  // -u/-d 3000 kB/s

    /// Our seeder at `-u 3000`, measured by a libtorrent leecher on
    /// loopback (no exemption for local peers): within ±5% over ≥ 7 s.
    @Test func uploadLimitHoldsOnLoopback() throws {
        let size = 33_000_000
        let (directory, torrent) = try Fixtures.seedData(size: size, pieceLength: "256K")
        let (seeder, port) = try Fixtures.startSeeder(torrent, in: directory, uploadKBps: 3000)
        defer { seeder.stop() }
        let result = try ProcessRunner.libtorrentTool(["leech", torrent, "out", "127.0.0.1:\(port)", "60"], in: directory.path)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["finished"] as? Bool == true)
        let samples = (report["samples"] as? [[Double]] ?? []).map { ($0[0], $0[1]) }
        let measured = try #require(Fixtures.steadyRate(samples, total: Double(size)), "samples: \(samples)")
        #expect(abs(measured.rate - Self.limit) / Self.limit < 0.05, "measured \(measured.rate) B/s over \(measured.window) s")
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
    }

    /// Our leecher at `-d 3000` from a libtorrent seeder that reports what
    /// it sent: within ±5% over ≥ 7 s.
    @Test func downloadLimitHoldsOnLoopback() throws {
        let size = 33_000_000
        let (directory, torrent) = try Fixtures.seedData(size: size, pieceLength: "256K")
        let port = BackgroundProcess.freePort()
        let seeder = try Fixtures.interopPeer("libtorrent_tool.py", ["seed", torrent, "seed", "\(port)", "progress"], in: directory.path)
        defer { seeder.stop(signal: SIGKILL) }
        #expect(seeder.waitForOutput("ready"), "\(seeder.stderr)")
        let result = try ProcessRunner.microtorr(
            ["download", torrent, "-o", "out", "--peer", "127.0.0.1:\(port)", "-d", "3000", "--exit-on-complete", "-v", "0"],
            in: directory.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
        let samples = seeder.stdout.split(separator: "\n").compactMap { line -> (Double, Double)? in
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0] == "up", let time = Double(fields[1]), let bytes = Double(fields[2]) else { return nil }
            return (time, bytes)
        }
        let measured = try #require(Fixtures.steadyRate(samples, total: Double(size)), "samples: \(samples)")
        #expect(abs(measured.rate - Self.limit) / Self.limit < 0.05, "measured \(measured.rate) B/s over \(measured.window) s")
    }

    /// `--wait-seeders 2` with one seeder in the swarm: nothing is
    /// requested (no data written, the seeder sends nothing) until a second
    /// seeder joins; then the download completes.
    @Test func waitsForEnoughSeedersBeforeRequesting() throws {
        let (tracker, announceURL) = try Fixtures.startTracker(interval: 1)
        defer { tracker.stop() }
        let (directory, torrent) = try Fixtures.seedData(size: 2_000_000, tracker: announceURL)
        let first = try BackgroundProcess(ProcessRunner.microtorr,
            ["download", torrent, "-s", "seed/data.bin", "--log-format", "json", "-v", "2"], in: directory.path)
        defer { first.stop() }
        #expect(first.waitForOutput("\"event\":\"torrent.seeding\"", inStderr: true))
        let leecher = try BackgroundProcess(ProcessRunner.microtorr,
            ["download", torrent, "-o", "out", "--wait-seeders", "2", "--exit-on-complete", "--log-format", "json", "-v", "2"],
            in: directory.path)
        defer { leecher.stop() }
        // It meets the first seeder and says what it waits for.
        #expect(leecher.waitForOutput("\"seeders\":\"1/2\"", inStderr: true, timeout: 20), "\(leecher.stderr)")
        #expect(leecher.waitForOutput("\"event\":\"peer.connected\"", inStderr: true, timeout: 20))
        Thread.sleep(forTimeInterval: 3)
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/out/data.bin.part"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/out/data.bin"))
        #expect(Fixtures.events("swarm.ready", in: leecher.stderr).isEmpty)
        // A second seeder joins (another copy of the data).
        try FileManager.default.createDirectory(atPath: "\(directory.path)/seed2", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(directory.path)/seed/data.bin", toPath: "\(directory.path)/seed2/data.bin")
        let second = try BackgroundProcess(ProcessRunner.microtorr, ["download", torrent, "-s", "seed2/data.bin", "-v", "0"], in: directory.path)
        defer { second.stop() }
        #expect(leecher.waitForExit(timeout: 60), "\(leecher.stderr.suffix(2000))")
        #expect(leecher.process.terminationStatus == 0)
        #expect(!Fixtures.events("swarm.ready", in: leecher.stderr).isEmpty)
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
    }

    /// `kill -9` of a leecher half way through (the seeder is rate-limited
    /// so "half way" is reliable): the restarted leecher keeps what was
    /// verified on disk and fetches at most about the other half.
    @Test func resumeAfterKillNine() throws {
        let size = 24_000_000
        let (directory, torrent) = try Fixtures.seedData(size: size, pieceLength: "64K")
        let (seeder, port) = try Fixtures.startSeeder(torrent, in: directory, uploadKBps: 3000)
        defer { seeder.stop() }
        let arguments = ["download", torrent, "-o", "out", "--peer", "127.0.0.1:\(port)", "--exit-on-complete", "--log-format", "json"]
        let first = try BackgroundProcess(ProcessRunner.microtorr, arguments, in: directory.path)
        #expect(first.waitForOutput("\"event\":\"swarm.ready\"", inStderr: true, timeout: 20))
        // 5 s at 3 MB/s (plus the start-up burst): well past half the file.
        Thread.sleep(forTimeInterval: 5)
        first.stop(signal: SIGKILL)
        #expect(FileManager.default.fileExists(atPath: "\(directory.path)/out/data.bin.part"))

        let second = try Fixtures.leech(torrent, fromPorts: [port], in: directory.path)
        let fetched = try Fixtures.downloadedBytes(second.stderr)
        // Half the file plus what may have been in flight (the pipeline and
        // the pieces being written when it died).
        #expect(fetched <= size / 2 + 2_000_000, "fetched \(fetched) bytes after the restart")
        #expect(fetched > 0)
    }

    /// A clean stop records the verified pieces; the next start trusts them
    /// without hashing anything again.
    @Test func cleanStopResumesWithoutRehashing() throws {
        let (directory, torrent) = try Fixtures.seedData(size: 12_000_000, pieceLength: "64K")
        let (seeder, port) = try Fixtures.startSeeder(torrent, in: directory, uploadKBps: 3000)
        defer { seeder.stop() }
        let arguments = ["download", torrent, "-o", "out", "--peer", "127.0.0.1:\(port)", "--exit-on-complete", "--log-format", "json"]
        let first = try BackgroundProcess(ProcessRunner.microtorr, arguments, in: directory.path)
        #expect(first.waitForOutput("\"event\":\"swarm.ready\"", inStderr: true, timeout: 20))
        Thread.sleep(forTimeInterval: 2)
        #expect(first.stop(signal: SIGINT).status == 0)
        let second = try Fixtures.leech(torrent, fromPorts: [port], in: directory.path)
        let resumed = try #require(Fixtures.events("download.resumed", in: second.stderr).first)
        #expect(resumed["pieces"] as? Int ?? 0 > 0)
        #expect(Fixtures.events("data.verified", in: second.stderr).isEmpty)
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
        // Complete: the resume state is gone.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(directory.path)/out").filter { $0.hasSuffix(".resume") }
        #expect(leftovers.isEmpty)
    }

    /// A peer that stalls after unchoking, one that floods `have`
    /// messages, one that sends blocks nobody asked for: each is dropped,
    /// and the download completes from the good seeder.
    @Test(arguments: [("stall", "peer.stalled"), ("flood", "peer.flooding"), ("unasked", "peer.unrequested")])
    func misbehavingPeersAreDropped(mode: String, event: String) throws {
        // The good seeder is slow, so the bad peer is asked for a share and
        // the download outlasts the 3 s stall timeout.
        let (result, badPort, _) = try Fixtures.downloadBesideBadPeer(
            mode: mode, size: 6_000_000, goodUploadKBps: 1000, arguments: ["--request-timeout", "3"])
        let drops = Fixtures.events(event, in: result.stderr)
        #expect(!drops.isEmpty, "\(result.stderr.suffix(3000))")
        #expect(drops.allSatisfy { ($0["peer"] as? String) == "127.0.0.1:\(badPort)" })
    }

    /// A peer that hangs up right after the handshake (as a seed does to
    /// our seed), or before it, is dialled again after 5 s, then 10, 20...:
    /// not every couple of seconds (after a hang-up) or every 30 s (before a
    /// handshake) for as long as we run.
    @Test(arguments: ["hangup", "slam"])
    func aPeerThatHangsUpIsDialledLessAndLessOften(mode: String) throws {
        let (directory, torrent) = try Fixtures.seedData(size: 100_000)
        let port = BackgroundProcess.freePort()
        let peer = try Fixtures.interopPeer("bad_peer.py", [torrent, "seed/data.bin", "\(port)", mode], in: directory.path)
        defer { peer.stop(signal: SIGKILL) }
        #expect(peer.waitForOutput("ready"))
        let seeder = try BackgroundProcess(ProcessRunner.microtorr,
            ["download", torrent, "-s", "seed/data.bin", "-p", "\(BackgroundProcess.freePort())", "--peer", "127.0.0.1:\(port)",
             "-v", "0"], in: directory.path)
        defer { seeder.stop() }
        func dials() -> [Double] {
            peer.stdout.split(separator: "\n").filter { $0.hasPrefix("accepted") }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        // Dials at about 0, 5 and 15 s (a housekeeping tick may add ~1 s
        // to each gap, load more); before, at 0, 2, 4, 6... after a hang-up, and at
        // 0, 30, 60... when closed before the handshake.
        #expect(eventually(timeout: 30, every: 0.2) { dials().count >= 3 }, "dialled at \(dials())")
        let times = dials()
        guard times.count >= 3 else { return }
        #expect((4.5...8).contains(times[1] - times[0]), "dialled at \(times)")
        #expect((9.5...14).contains(times[2] - times[1]), "dialled at \(times)")
    }
}
