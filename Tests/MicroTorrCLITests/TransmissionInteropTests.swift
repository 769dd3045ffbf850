import Foundation
import TestSupport
import Testing

/// `microtorr download` against Transmission (Debian's `transmission-cli`)
/// on loopback, in both directions. `scripts/test` installs it.
/// Transmission decides its interest in a peer at its 10-second rechoke, so
/// a transfer starts up to 10 s after the peers meet: the timeouts allow it.
@Suite("Transmission interop")
struct TransmissionInteropTests {
    /// transmission-cli with a fresh configuration that keeps it on
    /// loopback (no DHT, local discovery, peer exchange, port mapping) and
    /// on TCP (no uTP), listening on `port`, saving into `saveDirectory`.
    /// Encryption stays at Transmission's default (preferred), as a user
    /// would have it.
    static func transmission(_ torrent: String, saveDirectory: String, port: Int, in directory: TemporaryDirectory)
        throws -> BackgroundProcess {
        let configuration = "\(directory.path)/transmission-\(port)"
        try FileManager.default.createDirectory(atPath: configuration, withIntermediateDirectories: true)
        let settings = """
            {"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
             "port-forwarding-enabled": false, "rpc-enabled": false}
            """
        try settings.write(toFile: "\(configuration)/settings.json", atomically: true, encoding: .utf8)
        // Unbuffered: its status line ("Seeding") is what tells it is ready.
        return try BackgroundProcess("/usr/bin/stdbuf", [
            "-o0", "/usr/bin/transmission-cli", "-g", configuration, "-w", saveDirectory, "-p", "\(port)", "-M", torrent,
        ], in: directory.path)
    }

    @Test func ourLeecherFromATransmissionSeeder() throws {
        let (directory, torrent) = try Fixtures.seedData(size: 3_000_001)
        let port = BackgroundProcess.freePort()
        // Finds the data where the torrent says, checks it, then seeds (its
        // peer port is bound before that).
        let seeder = try Self.transmission(torrent, saveDirectory: "seed", port: port, in: directory)
        defer { seeder.stop(signal: SIGKILL) }
        #expect(seeder.waitForOutput("Seeding", timeout: 60), "\(seeder.stderr.suffix(3000))")
        // (No probe of its port first: Transmission takes one connection per
        // address at a time, and it holds a probe that connected and left
        // as a pending handshake: measured, our leecher then got in ~40 s
        // later.)
        let result = try Fixtures.leech(torrent, fromPorts: [port], in: directory.path)
        #expect(result.stdout.contains("TR "), "its peer id names it: \(result.stdout)")
    }

    @Test func aTransmissionLeecherFromOurSeeder() throws {
        let (tracker, announceURL) = try Fixtures.startTracker()
        defer { tracker.stop() }
        let (directory, torrent) = try Fixtures.seedData(size: 3_000_001, tracker: announceURL)
        let (seeder, _) = try Fixtures.startSeeder(torrent, in: directory)
        defer { seeder.stop() }
        let leecher = try Self.transmission(torrent, saveDirectory: "out", port: BackgroundProcess.freePort(), in: directory)
        defer { leecher.stop(signal: SIGKILL) }
        #expect(leecher.waitForOutput("Seeding", timeout: 120), "\(leecher.stdout.suffix(500)) \(leecher.stderr.suffix(3000))")
        // Stopped gracefully, Transmission writes out what it holds.
        #expect(leecher.stop(signal: SIGINT, grace: 20).seconds < 20, "\(leecher.stderr.suffix(2000))")
        #expect(try Fixtures.same("\(directory.path)/seed/data.bin", "\(directory.path)/out/data.bin"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/out/data.bin.part"), "Transmission finished the file")
    }
}
