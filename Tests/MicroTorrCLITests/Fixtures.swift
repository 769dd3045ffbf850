import Foundation
import TestSupport
import Testing

/// What the download tests share: a torrent of test data, content checks,
/// and reading our JSON log lines.
enum Fixtures {
    /// `microtorr create TARGET -o OUTPUT` (`t.mtorrent`) with 32 KiB pieces,
    /// run in `directory`; returns OUTPUT.
    static func makeTorrent(_ directory: TemporaryDirectory, target: String, tracker: String? = nil,
                            pieceLength: String = "32K", output: String = "t.mtorrent") throws -> String {
        var arguments = ["create", target, "-o", output, "--piece-length", pieceLength, "-v", "0"]
        if let tracker { arguments += ["-t", tracker] }
        let created = try ProcessRunner.microtorr(arguments, in: directory.path)
        try #require(created.status == 0, "\(created.stderr)")
        return output
    }

    /// `seed/data.bin` of `size` random bytes, an empty `out/`, and the
    /// torrent of the data: what most download tests start from.
    static func seedData(size: Int, pieceLength: String = "32K", tracker: String? = nil) throws
        -> (directory: TemporaryDirectory, torrent: String) {
        let directory = TemporaryDirectory()
        try directory.randomFile("seed/data.bin", size: size)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/out", withIntermediateDirectories: true)
        return (directory, try makeTorrent(directory, target: "seed/data.bin", tracker: tracker, pieceLength: pieceLength))
    }

    /// `microtorr download TORRENT -s seed/data.bin` listening on a free
    /// port (waited for), with `-u` when given. Stop it with `stop()`.
    static func startSeeder(_ torrent: String, in directory: TemporaryDirectory, uploadKBps: Int? = nil,
                            arguments: [String] = ["-v", "0"]) throws -> (process: BackgroundProcess, port: Int) {
        let port = BackgroundProcess.freePort()
        var command = ["download", torrent, "-s", "seed/data.bin", "-p", "\(port)"]
        if let uploadKBps { command += ["-u", "\(uploadKBps)"] }
        let seeder = try BackgroundProcess(ProcessRunner.microtorr, command + arguments, in: directory.path)
        #expect(BackgroundProcess.waitForPort(port), "\(seeder.stderr)")
        return (seeder, port)
    }

    /// `microtorr tracker` on a free loopback port (waited for), telling
    /// peers to announce every `interval` seconds; returns it and its
    /// announce URL. Stop it with `stop()`.
    static func startTracker(interval: Int = 2) throws -> (process: BackgroundProcess, announceURL: String) {
        let port = BackgroundProcess.freePort()
        let tracker = try BackgroundProcess(
            ProcessRunner.microtorr, ["tracker", "--listen", "127.0.0.1:\(port)", "--interval", "\(interval)", "-v", "0"])
        #expect(BackgroundProcess.waitForPort(port), "\(tracker.stderr)")
        return (tracker, "http://127.0.0.1:\(port)/announce")
    }

    /// A Python peer from `Tests/Interop` (libtorrent_tool.py, bad_peer.py)
    /// in the background.
    static func interopPeer(_ script: String, _ arguments: [String], in directory: String) throws -> BackgroundProcess {
        try BackgroundProcess("/usr/bin/python3", ["\(ProcessRunner.repositoryRoot)/Tests/Interop/\(script)"] + arguments, in: directory)
    }

    /// Our download of `seed/data.bin` from a misbehaving `bad_peer.py MODE`
    /// and a good seeder (capped at `goodUploadKBps`) side by side; checks
    /// the data arrived intact.
    static func downloadBesideBadPeer(mode: String, size: Int, goodUploadKBps: Int? = nil, arguments: [String])
        throws -> (result: ProcessResult, badPort: Int, goodPort: Int) {
        let (directory, torrent) = try seedData(size: size)
        let badPort = BackgroundProcess.freePort()
        let bad = try interopPeer("bad_peer.py", [torrent, "seed/data.bin", "\(badPort)", mode], in: directory.path)
        defer { bad.stop(signal: SIGKILL) }
        #expect(bad.waitForOutput("ready"))
        let (good, goodPort) = try startSeeder(torrent, in: directory, uploadKBps: goodUploadKBps)
        defer { good.stop() }
        let result = try leech(torrent, fromPorts: [badPort, goodPort], in: directory.path, arguments: arguments)
        return (result, badPort, goodPort)
    }

    /// Our leecher fetching `torrent` from the peers on 127.0.0.1:`ports`
    /// into `out/` (JSON logs, exits when complete): expected to succeed,
    /// with `out/data.bin` byte-identical to `seed/data.bin`.
    static func leech(
        _ torrent: String, fromPorts ports: [Int], in directory: String, arguments: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ProcessResult {
        let peers = ports.flatMap { ["--peer", "127.0.0.1:\($0)"] }
        let result = try ProcessRunner.microtorr(
            ["download", torrent, "-o", "out"] + peers + ["--exit-on-complete", "--log-format", "json"] + arguments, in: directory)
        #expect(result.status == 0, "\(result.stderr.suffix(3000))", sourceLocation: sourceLocation)
        #expect(try same("\(directory)/seed/data.bin", "\(directory)/out/data.bin"), sourceLocation: sourceLocation)
        return result
    }

    static func same(_ a: String, _ b: String) throws -> Bool {
        try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b))
    }

    /// The `session.stopped` event's downloaded byte count.
    static func downloadedBytes(_ log: String) throws -> Int {
        try #require(events("session.stopped", in: log).last?["bytes"] as? Int)
    }

    /// The JSON log lines with `"event":"NAME"`.
    static func events(_ name: String, in log: String) -> [[String: Any]] {
        log.split(separator: "\n").filter { $0.contains("\"event\":\"\(name)\"") }.compactMap { try? jsonObject(String($0)) }
    }

    /// Average rate in bytes/s over a steady window of (seconds, bytes)
    /// samples: from 1 s after the first byte (past any start-up burst) to
    /// the last sample before the end. Nil if that window is under `minimum` s.
    static func steadyRate(_ samples: [(Double, Double)], total: Double, minimum: Double = 7) -> (rate: Double, window: Double)? {
        guard let first = samples.first(where: { $0.1 > 0 }),
              let end = samples.last(where: { $0.1 < total * 0.98 }) else { return nil }
        let start = first.0 + 1
        return rate(samples, from: start, to: end.0, minimum: minimum).map { ($0.rate, $0.window) }
    }

    /// Average rate in bytes/s between the first sample at or after
    /// `start` and the last at or before `end`; nil if they are less than
    /// `minimum` s apart.
    static func rate(_ samples: [(Double, Double)], from start: Double, to end: Double, minimum: Double = 2)
        -> (rate: Double, window: Double)? {
        guard let first = samples.first(where: { $0.0 >= start }), let last = samples.last(where: { $0.0 <= end }),
              last.0 - first.0 >= minimum else { return nil }
        return ((last.1 - first.1) / (last.0 - first.0), last.0 - first.0)
    }
}
