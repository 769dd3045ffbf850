import Foundation
import Metainfo
import TestSupport
import Testing
@testable import TrackerKit

/// Our announce client against Debian's opentracker (`scripts/test`
/// installs it). Debian builds it in whitelist mode: it gets the hash.
@Suite("Our client against opentracker")
struct OpentrackerInteropTests {
    @Test func announcesAndGetsTheOtherPeerBack() async throws {
        let directory = TemporaryDirectory()
        let hash = InfoHash(bytes: (0..<20).map { UInt8($0 * 11) })!
        try directory.write(Array((hash.hex + "\n").utf8), to: "whitelist")
        // opentracker drops to user `nobody` before it reads the list.
        chmod(directory.path, 0o755)
        let port = BackgroundProcess.freePort()
        let tracker = try BackgroundProcess(
            // `-d /`: it chroots to that directory before reading the list.
            "/usr/bin/opentracker",
            ["-i", "127.0.0.1", "-p", "\(port)", "-P", "\(port)", "-d", "/", "-w", "\(directory.path)/whitelist"],
            in: directory.path)
        // opentracker ignores SIGTERM and SIGINT.
        defer { tracker.stop(signal: SIGKILL) }
        #expect(BackgroundProcess.waitForPort(port), "opentracker did not start: \(tracker.stderr)")

        let url = try TrackerURL("http://127.0.0.1:\(port)/announce")
        let client = TrackerClient()
        var seeder = AnnounceRequest(infoHash: hash, peerID: .random(), port: 51413)
        seeder.event = .started
        seeder.left = 0
        // The list is loaded by a background thread just after start-up
        // (slow when the machine is busy with the rest of the suite).
        let deadline = Date().addingTimeInterval(40)
        var accepted = false
        while !accepted, Date() < deadline {
            accepted = (try? await client.announce(seeder, to: url)) != nil
            if !accepted { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(accepted, "opentracker never accepted the whitelisted hash: \(tracker.stderr)")
        var leecher = AnnounceRequest(infoHash: hash, peerID: .random(), port: 6881)
        leecher.event = .started
        leecher.left = 1000
        let reply = try await client.announce(leecher, to: url)
        #expect(reply.peers.contains(PeerEndpoint("127.0.0.1:51413")!))
        #expect(reply.complete == 1)
        #expect(reply.interval > 0)
        let scrape = try await client.scrape(hash, at: url)
        #expect(scrape.complete == 1 && scrape.incomplete == 1)

        // Not whitelisted: opentracker refuses, and we surface its reason.
        var stranger = leecher
        stranger.infoHash = InfoHash(bytes: [UInt8](repeating: 1, count: 20))!
        await #expect(throws: TrackerClientError.self) { try await client.announce(stranger, to: url) }
    }
}
