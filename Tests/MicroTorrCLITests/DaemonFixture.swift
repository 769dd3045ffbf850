import Foundation
import TestSupport
import Testing

/// One `microtorr daemon` under test: its own directories and YAML file in
/// a temporary directory, ports picked free, listening on loopback only,
/// JSON logs on stdout. Stopped by PID (SIGTERM) at the end of the test.
final class DaemonFixture {
    let directory = TemporaryDirectory()
    var peerPort = BackgroundProcess.freePort()
    var statusPort = BackgroundProcess.freePort()
    var trackerPort: Int
    let embeddedTracker: Bool
    var uploadKBps = 0
    var waitSeeders = 1
    var process: BackgroundProcess?
    /// The whole log of the last run stopped with `stop()`.
    private(set) var stoppedLog = ""

    /// - Parameter trackerPort: the embedded tracker's port (A), or the
    ///   port of the tracker to use (B).
    init(embeddedTracker: Bool, trackerPort: Int? = nil) {
        self.embeddedTracker = embeddedTracker
        self.trackerPort = trackerPort ?? BackgroundProcess.freePort()
    }

    var root: String { directory.path }
    var configPath: String { "\(root)/microtorr.yaml" }
    var share: String { "\(root)/share" }
    var inbox: String { "\(root)/inbox" }
    var downloads: String { "\(root)/downloads" }
    var torrents: String { "\(root)/torrents" }
    var log: String { process?.stdout ?? "" }

    var yaml: String {
        """
        share_dir: \(root)/share
        inbox_dir: \(root)/inbox
        download_dir: \(root)/downloads
        torrent_dir: \(root)/torrents
        state_dir: \(root)/state
        tracker:
          url: http://127.0.0.1:\(trackerPort)/announce
          embedded:
            enabled: \(embeddedTracker)
            listen: 127.0.0.1:\(trackerPort)
            announce_interval_s: 2
            peer_timeout_s: 10
        network:
          interfaces: [lo]
          port: \(peerPort)
        limits:
          upload_kbps: \(uploadKBps)
          download_kbps: 0
        swarm:
          wait_seeders: \(waitSeeders)
        logging:
          level: debug
          format: json
        status:
          listen: 127.0.0.1:\(statusPort)

        """
    }

    func writeConfig(_ text: String? = nil) throws {
        try (text ?? yaml).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Two daemons started: A with the embedded tracker (sending at most
    /// `uploadKBps` to peers, 0 = no limit), B using A's tracker.
    static func startedPair(uploadKBps: Int = 0, rescanSeconds: Double = 30) throws -> (a: DaemonFixture, b: DaemonFixture) {
        let a = DaemonFixture(embeddedTracker: true)
        a.uploadKBps = uploadKBps
        let b = DaemonFixture(embeddedTracker: false, trackerPort: a.trackerPort)
        try a.start(settleSeconds: 0.3, rescanSeconds: rescanSeconds)
        try b.start(settleSeconds: 0.3, rescanSeconds: rescanSeconds)
        return (a, b)
    }

    /// Starts the daemon and waits for `daemon.started`.
    func start(settleSeconds: Double = 1.0, rescanSeconds: Double = 30) throws {
        if !FileManager.default.fileExists(atPath: configPath) { try writeConfig() }
        let process = try BackgroundProcess(
            ProcessRunner.microtorr,
            ["daemon", "--config", configPath, "--settle-seconds", "\(settleSeconds)", "--rescan-seconds", "\(rescanSeconds)"],
            in: root)
        self.process = process
        try #require(process.waitForOutput("\"event\":\"daemon.started\"", timeout: 60), "daemon did not start: \(process.stdout) \(process.stderr)")
    }

    /// SIGTERM; exit status and seconds taken.
    @discardableResult
    func stop() -> (status: Int32, seconds: TimeInterval) {
        guard let process else { return (0, 0) }
        defer { self.process = nil }
        let result = process.stop(signal: SIGTERM, grace: 15)
        stoppedLog = process.stdout
        return result
    }

    /// `kill -9`: no shutdown, no last save (a crash or a power cut).
    func kill() {
        guard let process else { return }
        defer { self.process = nil }
        process.stop(signal: SIGKILL, grace: 5)
        stoppedLog = process.stdout
    }

    deinit {
        process?.stop(signal: SIGKILL, grace: 1)
    }

    func events(_ name: String) -> [[String: Any]] {
        Fixtures.events(name, in: log)
    }

    /// Waits up to `timeout` s for an event matching `where`.
    @discardableResult
    func waitForEvent(_ name: String, timeout: TimeInterval = 60, where matches: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
        firstValue(timeout: timeout, every: 0.05) { events(name).first(where: matches) }
    }

    /// `GET /status`, parsed.
    func status() throws -> [String: Any] {
        let result = try ProcessRunner.run("/usr/bin/curl", ["-s", "--max-time", "10", "http://127.0.0.1:\(statusPort)/status"])
        try #require(result.status == 0, "status server: \(result.stderr)")
        return try jsonObject(result.stdout)
    }

    func torrentStatus(named name: String) throws -> [String: Any]? {
        (try status()["torrents"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    /// Waits until `/status` shows `name` in `state`.
    func waitForState(_ name: String, _ state: String, timeout: TimeInterval = 60) throws -> Bool {
        try eventually(timeout: timeout) { try torrentStatus(named: name)?["state"] as? String == state }
    }

    /// Drops `bytes` into the share as `name` and waits until its
    /// `.mtorrent` is made and it is seeding; returns the `.mtorrent` path.
    func share(_ bytes: [UInt8], as name: String) throws -> String {
        try Self.drop(bytes, at: "\(share)/\(name)")
        let torrent = "\(torrents)/\(name).mtorrent"
        #expect(Self.waitForFile(torrent), "no .mtorrent for \(name): \(log)")
        #expect(try waitForState(name, "seeding"))
        return torrent
    }

    /// Moves a sparse file of `size` bytes into the share as `name` and
    /// waits until `/status` shows it being hashed (about a second per
    /// 1.5 GiB of zeros, long enough to act meanwhile).
    func shareSparseFileWhileHashed(_ name: String, size: Int) throws {
        let staging = "\(root)/\(name)"
        #expect(FileManager.default.createFile(atPath: staging, contents: nil))
        #expect(truncate(staging, off_t(size)) == 0)
        try FileManager.default.moveItem(atPath: staging, toPath: "\(share)/\(name)")
        #expect(try eventually(timeout: 30, every: 0.05) { try torrentStatus(named: name)?["state"] as? String == "hashing" })
    }

    /// Puts `bytes` at `path` the way a careful user or a program does:
    /// written under a temporary name, then moved in (over any old file).
    static func drop(_ bytes: [UInt8], at path: String) throws {
        let temporary = (path as NSString).deletingLastPathComponent + "/.incoming-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        try #require(rename(temporary, path) == 0, "cannot move \(temporary) to \(path)")
    }

    /// Why the inbox refused `fileName`: its `.failed/NAME.error` note,
    /// waited for; nil if it never came.
    /// (Waits for the moved file, not the note: the note is created, then
    /// written, and only then is the file moved beside it.)
    func refusalReason(_ fileName: String, timeout: TimeInterval = 30) -> String? {
        let moved = "\(inbox)/.failed/\(fileName)"
        guard Self.waitForFile(moved, timeout: timeout) else { return nil }
        return try? String(contentsOfFile: moved + ".error", encoding: .utf8)
    }

    static func waitForFile(_ path: String, timeout: TimeInterval = 60) -> Bool {
        eventually(timeout: timeout, every: 0.05) { FileManager.default.fileExists(atPath: path) }
    }
}
