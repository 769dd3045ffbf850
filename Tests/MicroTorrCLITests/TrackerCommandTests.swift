import Foundation
import TestSupport
import Testing

/// `microtorr tracker` as a real process, used by real clients.
@Suite("Tracker command")
struct TrackerCommandTests {
    private func startTracker(_ extra: [String] = []) throws -> (BackgroundProcess, Int) {
        let port = BackgroundProcess.freePort()
        let tracker = try BackgroundProcess(
            ProcessRunner.microtorr, ["tracker", "--listen", "127.0.0.1:\(port)", "--log-format", "json", "-v", "2"] + extra)
        #expect(BackgroundProcess.waitForPort(port), "tracker did not start: \(tracker.stderr)")
        return (tracker, port)
    }

    @Test func libtorrentSeederAndLeecherMeetThroughOurTracker() throws {
        let (tracker, port) = try startTracker()
        let directory = TemporaryDirectory()
        try directory.randomFile("seed/payload.bin", size: 3_000_000)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/leech", withIntermediateDirectories: true)
        let created = try ProcessRunner.microtorr(
            ["create", "seed/payload.bin", "-t", "http://127.0.0.1:\(port)/announce", "-o", "p.mtorrent", "--piece-length", "64K"],
            in: directory.path)
        #expect(created.status == 0, "\(created.stderr)")
        let result = try ProcessRunner.libtorrentTool(["swarm", "p.mtorrent", "seed", "leech", "60"], in: directory.path)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try jsonObject(result.stdout)
        #expect(report["finished"] as? Bool == true, "\(result.stdout)")
        #expect(report["flushed"] as? Bool == true)
        let original = try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/seed/payload.bin"))
        let copy = try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/leech/payload.bin"))
        #expect(copy == original)
        let stopped = tracker.stop()
        #expect(stopped.status == 0)
        // Both libtorrent peers announced to us (logged at -v 2).
        let announces = tracker.stderr.split(separator: "\n").filter { $0.contains("\"event\":\"tracker.announce\"") }
        #expect(announces.count >= 2)
        #expect(tracker.stderr.contains("\"event\":\"tracker.stopped\""))
    }

    @Test func stopsCleanlyOnSIGTERMAndSIGINT() throws {
        for signal in [SIGTERM, SIGINT] {
            let (tracker, _) = try startTracker()
            let stopped = tracker.stop(signal: signal)
            #expect(stopped.status == 0)
            #expect(stopped.seconds < 5)
        }
    }

    @Test func refusesABusyPortWithOneLine() throws {
        let (tracker, port) = try startTracker()
        defer { tracker.stop() }
        let second = try ProcessRunner.microtorr(["tracker", "--listen", "127.0.0.1:\(port)"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(port)"))
        #expect(second.stderr.split(separator: "\n").filter { !$0.hasPrefix("{") }.count == 1)
    }

    @Test func whitelistModeRefusesUnknownTorrents() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("data.bin", size: 10_000)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/allowed", withIntermediateDirectories: true)
        #expect(try ProcessRunner.microtorr(["create", "data.bin", "-o", "allowed/data.mtorrent"], in: directory.path).status == 0)
        let (tracker, port) = try startTracker(["--whitelist", "\(directory.path)/allowed"])
        defer { tracker.stop() }
        let info = try jsonObject(try ProcessRunner.microtorr(["info", "allowed/data.mtorrent", "--json"], in: directory.path).stdout)
        let hex = try #require(info["info_hash"] as? String)
        let encoded = stride(from: 0, to: 40, by: 2).map { "%" + hex.dropFirst($0).prefix(2) }.joined()
        let allowed = try ProcessRunner.run("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/announce?info_hash=\(encoded)&peer_id=-MT0100-000000000001&port=1"])
        #expect(allowed.stdout.contains("8:interval"))
        let refused = try ProcessRunner.run("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/announce?info_hash=\(String(repeating: "%01", count: 20))&peer_id=-MT0100-000000000001&port=1"])
        #expect(refused.stdout.contains("failure reason"))
    }
}
