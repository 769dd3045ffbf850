import Foundation
import TestSupport
import Testing

/// `microtorr download` against aria2c (Debian's `aria2`) on loopback, in
/// both directions. aria2c cannot be given a peer by hand, so our seeder is
/// found through `microtorr tracker`. `scripts/test` installs aria2.
@Suite("aria2 interop")
struct Aria2InteropTests {
    /// aria2c with what keeps it on loopback: no DHT, local discovery or
    /// peer exchange.
    static func aria2c(_ arguments: [String], in directory: String) throws -> BackgroundProcess {
        try BackgroundProcess("/usr/bin/aria2c", [
            "--enable-dht=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
            "--summary-interval=0", "--console-log-level=warn",
        ] + arguments, in: directory)
    }

    @Test func ourLeecherFromAnAria2Seeder() throws {
        let (directory, torrent) = try Fixtures.seedData(size: 3_000_001)
        let port = BackgroundProcess.freePort()
        // Checks the data it is given (-V), then seeds until stopped.
        let seeder = try Self.aria2c(["-V", "--seed-ratio=0.0", "--listen-port=\(port)", "--dir=seed", "-T", torrent],
                                     in: directory.path)
        defer { seeder.stop(signal: SIGKILL) }
        #expect(BackgroundProcess.waitForPort(port), "\(seeder.stderr)")
        let result = try Fixtures.leech(torrent, fromPorts: [port], in: directory.path)
        #expect(result.stdout.contains("aria2"), "its peer id names it: \(result.stdout)")
    }

    @Test func anAria2LeecherFromOurSeeder() throws {
        let (tracker, announceURL) = try Fixtures.startTracker()
        defer { tracker.stop() }
        let (directory, torrent) = try Fixtures.seedData(size: 3_000_001, tracker: announceURL)
        let (seeder, _) = try Fixtures.startSeeder(torrent, in: directory)
        defer { seeder.stop() }
        let leecher = try Self.aria2c(["--seed-time=0", "--listen-port=\(BackgroundProcess.freePort())", "--dir=out", "-T", torrent],
                                      in: directory.path)
        defer { leecher.stop(signal: SIGKILL) }
        #expect(leecher.waitForExit(timeout: 120), "\(leecher.stdout.suffix(2000)) \(leecher.stderr.suffix(2000))")
        #expect(leecher.stop().status == 0, "\(leecher.stdout.suffix(2000))")
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/out/data.bin.aria2"), "aria2c finished the file")
    }
}
