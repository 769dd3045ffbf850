import Foundation
import TestSupport
import Testing

/// What the network can reach and do (issue #8): the daemon listens only
/// where configured, and connection floods against the peer port and the
/// tracker (on loopback, bounded) cost bounded descriptors and memory,
/// leak nothing, and do not lock real peers out.
@Suite("Exposure and floods", .serialized)
struct ExposureTests {
    /// Every listening TCP socket of `pid`, as "ADDRESS:PORT" (from `ss`).
    static func listeningAddresses(of pid: Int32) throws -> Set<String> {
        let listed = try ProcessRunner.run("/usr/bin/ss", ["-H", "-l", "-t", "-n", "-p"])
        return Set(listed.stdout.split(separator: "\n").filter { $0.contains("pid=\(pid),") }.compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init)
        })
    }

    /// Descriptors and resident KiB of `pid` now (the test fails if /proc
    /// cannot be read, rather than comparing nothing with nothing).
    static func usage(of pid: Int32) throws -> (descriptors: Int, kib: Int) {
        (try #require(BackgroundProcess.descriptorCount(of: pid)), try #require(BackgroundProcess.residentKiB(of: pid)))
    }

    /// Connections a flood opened in all (its last line's report).
    static func opened(by flood: BackgroundProcess) -> Int {
        let report = flood.stdout.split(separator: "\n").last.flatMap { try? jsonObject(String($0)) }
        return report?["opened"] as? Int ?? 0
    }

    static func flood(port: Int, count: Int, seconds: Int, mode: String) throws -> BackgroundProcess {
        let flood = try BackgroundProcess(
            "/usr/bin/python3", ["\(ProcessRunner.repositoryRoot)/Tests/Interop/flood.py", "\(port)", "\(count)", "\(seconds)", mode])
        #expect(flood.waitForOutput("holding", timeout: 30), "\(flood.stdout) \(flood.stderr)")
        return flood
    }

    /// The peer port, the embedded tracker and the status server each on
    /// the one address configured, and nothing else open.
    @Test func daemonListensOnlyWhereConfigured() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start()
        let pid = try #require(a.process?.pid)
        let expected: Set = ["127.0.0.1:\(a.peerPort)", "127.0.0.1:\(a.trackerPort)", "127.0.0.1:\(a.statusPort)"]
        #expect(try Self.listeningAddresses(of: pid) == expected)
        #expect(a.stop().status == 0)

        // Without a `status:` section the status server is on loopback.
        if BackgroundProcess.connectLoopback(port: 6880).map({ close($0) }) != nil {
            try Test.cancel("port 6880 is taken on this machine; cannot check the default status address")
        }
        let b = DaemonFixture(embeddedTracker: false, trackerPort: a.trackerPort)
        try b.writeConfig(b.yaml.components(separatedBy: "status:")[0])
        try b.start()
        let bPID = try #require(b.process?.pid)
        #expect(try Self.listeningAddresses(of: bPID) == ["127.0.0.1:\(b.peerPort)", "127.0.0.1:6880"])
        #expect(b.stop().status == 0)
    }

    /// 1500 idle and 300 garbage-sending connections held against the
    /// peer port while a real peer downloads: the daemon holds at most the
    /// handshake cap of them, its memory stays flat, the download
    /// completes, and every descriptor is given back afterwards.
    @Test func peerPortFloodIsBoundedAndRealPeersGetThrough() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start()
        let content = pseudoRandomBytes(count: 8_000_000, seed: 101)
        let torrent = try a.share(content, as: "wanted.bin")
        let pid = try #require(a.process?.pid)
        Thread.sleep(forTimeInterval: 1)
        let (baseDescriptors, baseKiB) = try Self.usage(of: pid)

        let idle = try Self.flood(port: a.peerPort, count: 1500, seconds: 12, mode: "idle")
        defer { idle.stop() }
        let garbage = try Self.flood(port: a.peerPort, count: 300, seconds: 12, mode: "garbage")
        defer { garbage.stop() }
        var peakDescriptors = 0
        var peakKiB = 0
        let scratch = TemporaryDirectory()
        let download = try BackgroundProcess(
            ProcessRunner.microtorr,
            ["download", torrent, "-o", scratch.path, "--peer", "127.0.0.1:\(a.peerPort)", "--exit-on-complete", "-v", "0"],
            in: scratch.path)
        // Sampled for as long as the flood lasts, the download inside it.
        _ = try eventually(timeout: 60) {
            let now = try Self.usage(of: pid)
            peakDescriptors = max(peakDescriptors, now.descriptors)
            peakKiB = max(peakKiB, now.kib)
            return !(download.process.isRunning || idle.process.isRunning || garbage.process.isRunning)
        }
        #expect(download.waitForExit(timeout: 1), "the download did not finish under the flood")
        #expect(download.process.terminationStatus == 0, "\(download.stderr.suffix(2000))")
        #expect(FileManager.default.contents(atPath: "\(scratch.path)/wanted.bin") == Data(content))
        idle.stop()
        garbage.stop()
        print("peer port flood: descriptors \(baseDescriptors) → peak \(peakDescriptors); RSS \(baseKiB) → peak \(peakKiB) KiB; "
            + "\(Self.opened(by: idle) + Self.opened(by: garbage)) flood connections opened")
        // 128 awaiting a handshake, at most 32 evicted and closing on their
        // own event loop (ConnectionLimiter.maxClosing), the real peer's,
        // and connections accepted but not yet active on the loop they were
        // handed to (their number grows with the machine's load). Seen:
        // peaks of 176-249 from a base of 22 alone, 284 in a full parallel
        // test run; 270 before the closing cap, when this bound was
        // 128 + 100. Without the caps the 1 800 held connections show.
        #expect(peakDescriptors <= baseDescriptors + 128 + 32 + 150, "descriptors \(baseDescriptors) → \(peakDescriptors)")
        // Measured +2.0-2.3 MiB over 6 800-9 700 flood connections: 4 MiB
        // plus 1 KiB per connection opened catches a leak of 1.5 KiB per
        // connection however many the machine managed to open.
        let flooded = Self.opened(by: idle) + Self.opened(by: garbage)
        #expect(peakKiB <= baseKiB + 4 * 1024 + flooded, "RSS \(baseKiB) → \(peakKiB) KiB over \(flooded) connections")
        #expect(a.waitForEvent("connections.capped", timeout: 5) != nil)
        #expect(eventually(timeout: 20) { (BackgroundProcess.descriptorCount(of: pid) ?? .max) <= baseDescriptors + 2 },
                "descriptors after the flood: \(BackgroundProcess.descriptorCount(of: pid) ?? -1) (before: \(baseDescriptors))")
        #expect(a.stop().status == 0)
    }

    /// 1000 idle connections against a tracker capped at 200: it holds at
    /// most 200, answers announces throughout, and frees them all after.
    @Test func trackerFloodIsBoundedAndAnnouncesStillAnswered() throws {
        let port = BackgroundProcess.freePort()
        let tracker = try BackgroundProcess(
            ProcessRunner.microtorr, ["tracker", "--listen", "127.0.0.1:\(port)", "--max-connections", "200", "--log-format", "json"])
        defer { tracker.stop() }
        #expect(BackgroundProcess.waitForPort(port))
        Thread.sleep(forTimeInterval: 0.5)
        let pid = tracker.pid
        let baseDescriptors = try Self.usage(of: pid).descriptors
        let flood = try Self.flood(port: port, count: 1000, seconds: 10, mode: "idle")
        defer { flood.stop() }
        var peak = 0
        var answered = 0
        var attempts = 0
        for index in 0..<20 {
            peak = max(peak, try Self.usage(of: pid).descriptors)
            let hash = String(format: "%020d", index)
            // A real client tries again when the cap closed its connection
            // under it (the oldest goes first); up to 3 tries, counted.
            for _ in 0..<3 {
                attempts += 1
                let reply = try ProcessRunner.run("/usr/bin/curl", [
                    "-s", "--max-time", "5",
                    "http://127.0.0.1:\(port)/announce?info_hash=\(hash)&peer_id=-MT0100-flood-test00&port=6881&uploaded=0&downloaded=0&left=0&compact=1",
                ])
                if reply.stdout.contains("8:intervali") {
                    answered += 1
                    break
                }
            }
            usleep(200_000)
        }
        flood.stop()
        print("tracker flood: descriptors \(baseDescriptors) → peak \(peak); \(answered)/20 announces answered in \(attempts) attempts; "
            + "\(Self.opened(by: flood)) flood connections opened")
        #expect(answered == 20)
        #expect(attempts <= 25, "\(attempts) attempts for 20 announces")
        // 200, plus connections being closed at that instant.
        #expect(peak <= baseDescriptors + 200 + 100, "descriptors \(baseDescriptors) → \(peak)")
        #expect((tracker.stdout + tracker.stderr).contains("\"event\":\"connections.capped\""))
        #expect(eventually(timeout: 20) { (BackgroundProcess.descriptorCount(of: pid) ?? .max) <= baseDescriptors + 1 },
                "descriptors after the flood: \(BackgroundProcess.descriptorCount(of: pid) ?? -1) (before: \(baseDescriptors))")
    }
}
