import Bencode
import Foundation
import Metainfo
import Synchronization
import TestSupport
import Testing
@testable import TrackerKit

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let time = Mutex<Double>(1000)
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

@Suite("Tracker request handling")
struct TrackerServiceTests {
    static let hash = InfoHash(bytes: Array(200..<220).map { UInt8($0) })!
    static let localhost = IPAddress("127.0.0.1")!

    static func announceTarget(peer: Int, port: Int = 6881, left: Int = 10, extra: String = "", hash: InfoHash = hash) -> String {
        "/announce?info_hash=\(QueryParameters.percentEncode(hash.bytes))&peer_id=-MT0100-\(String(format: "%012d", peer))"
            + "&port=\(port)&left=\(left)\(extra)"
    }

    private func decode(_ reply: HTTPReply) throws -> Bencode {
        try BencodeDecoder().decode(reply.body)
    }

    @Test func compactRepliesCarrySixBytesPerPeer() throws {
        let service = TrackerService(configuration: TrackerConfiguration())
        _ = service.handle(target: Self.announceTarget(peer: 1, port: 1111), source: IPAddress("10.0.0.1"))
        _ = service.handle(target: Self.announceTarget(peer: 2, port: 2222), source: IPAddress("10.0.0.2"))
        let reply = service.handle(target: Self.announceTarget(peer: 3, port: 3333), source: IPAddress("10.0.0.3"))
        #expect(reply.status == 200)
        let body = try decode(reply)
        #expect(body["interval"] == 10 && body["min interval"] == 5)
        #expect(body["incomplete"] == 3 && body["complete"] == 0)
        let peers = try #require(body["peers"]?.bytesValue)
        #expect(peers.count == 12)
        #expect(Set(PeerEndpoint.parseCompact(peers, addressLength: 4)) == [PeerEndpoint("10.0.0.1:1111")!, PeerEndpoint("10.0.0.2:2222")!])
        #expect(body["peers6"] == nil)
    }

    @Test func nonCompactRepliesListDictionariesWithPeerIDUnlessRefused() throws {
        let service = TrackerService(configuration: TrackerConfiguration())
        _ = service.handle(target: Self.announceTarget(peer: 1, port: 1111), source: IPAddress("10.0.0.1"))
        let listed = try decode(service.handle(target: Self.announceTarget(peer: 2, extra: "&compact=0"), source: IPAddress("10.0.0.2")))
        let entry = try #require(listed["peers"]?.listValue?.first)
        #expect(entry["ip"] == "10.0.0.1" && entry["port"] == 1111)
        #expect(entry["peer id"]?.bytesValue == Array("-MT0100-000000000001".utf8))
        let bare = try decode(service.handle(target: Self.announceTarget(peer: 2, extra: "&compact=0&no_peer_id=1"), source: IPAddress("10.0.0.2")))
        #expect(bare["peers"]?.listValue?.first?["peer id"] == nil)
    }

    @Test func ipv6PeersGoInPeers6() throws {
        let service = TrackerService(configuration: TrackerConfiguration())
        _ = service.handle(target: Self.announceTarget(peer: 1, port: 1111), source: IPAddress("fd00::1"))
        _ = service.handle(target: Self.announceTarget(peer: 2, port: 2222), source: IPAddress("10.0.0.2"))
        let body = try decode(service.handle(target: Self.announceTarget(peer: 3), source: IPAddress("10.0.0.3")))
        #expect(PeerEndpoint.parseCompact(try #require(body["peers6"]?.bytesValue), addressLength: 16) == [PeerEndpoint("[fd00::1]:1111")!])
        #expect(PeerEndpoint.parseCompact(try #require(body["peers"]?.bytesValue), addressLength: 4) == [PeerEndpoint("10.0.0.2:2222")!])
    }

    @Test func claimedIPIsHonouredOnlyBetweenPrivateAddresses() throws {
        #expect(TrackerService.peerAddress(claimed: IPAddress("192.168.1.5"), source: IPAddress("127.0.0.1")) == IPAddress("192.168.1.5"))
        #expect(TrackerService.peerAddress(claimed: IPAddress("8.8.8.8"), source: IPAddress("10.0.0.1")) == IPAddress("10.0.0.1"))
        #expect(TrackerService.peerAddress(claimed: IPAddress("10.0.0.9"), source: IPAddress("203.0.113.7")) == IPAddress("203.0.113.7"))
        #expect(TrackerService.peerAddress(claimed: nil, source: IPAddress("10.0.0.1")) == IPAddress("10.0.0.1"))
        // A LAN host cannot send the swarm to everyone's own localhost.
        #expect(TrackerService.peerAddress(claimed: IPAddress("127.0.0.1"), source: IPAddress("192.168.1.7")) == IPAddress("192.168.1.7"))
        #expect(TrackerService.peerAddress(claimed: IPAddress("127.0.0.2"), source: IPAddress("127.0.0.1")) == IPAddress("127.0.0.2"))

        let service = TrackerService(configuration: TrackerConfiguration())
        _ = service.handle(target: Self.announceTarget(peer: 1, port: 1111, extra: "&ip=8.8.8.8"), source: IPAddress("10.0.0.1"))
        _ = service.handle(target: Self.announceTarget(peer: 2, port: 2222, extra: "&ip=10.9.9.9"), source: IPAddress("127.0.0.1"))
        let body = try decode(service.handle(target: Self.announceTarget(peer: 3), source: IPAddress("10.0.0.3")))
        #expect(Set(PeerEndpoint.parseCompact(try #require(body["peers"]?.bytesValue), addressLength: 4))
                == [PeerEndpoint("10.0.0.1:1111")!, PeerEndpoint("10.9.9.9:2222")!])
    }

    @Test func originalJSONForm() throws {
        let service = TrackerService(configuration: TrackerConfiguration())
        _ = service.handle(target: Self.announceTarget(peer: 1, port: 1111), source: Self.localhost)
        let reply = service.handle(target: Self.announceTarget(peer: 2, extra: "&format=json"), source: Self.localhost)
        #expect(reply.contentType == "application/json")
        let json = try jsonObject(String(decoding: reply.body, as: UTF8.self))
        #expect(json["interval"] as? Int == 10)
        let peers = try #require(json["peers"] as? [[String: Any]])
        #expect(peers.first?["ip"] as? String == "127.0.0.1")
        #expect(peers.first?["port"] as? Int == 1111)
        #expect((peers.first?["id"] as? String)?.count == 40)
    }

    @Test func badRequestsGetFailureReasonWithStatus200AndOthers404() throws {
        let service = TrackerService(configuration: TrackerConfiguration())
        for target in ["/announce", "/announce?info_hash=x", "/announce?" + String(repeating: "a", count: 5000),
                       "/scrape?info_hash=short", "/scrape?info_hash=%zz"] {
            let reply = service.handle(target: target, source: Self.localhost)
            #expect(reply.status == 200)
            #expect(try decode(reply)["failure reason"]?.stringValue != nil, "\(target.prefix(40))")
        }
        #expect(service.handle(target: "/", source: Self.localhost).status == 404)
        #expect(service.handle(target: "/announce/../etc", source: Self.localhost).status == 404)
        #expect(try decode(service.handle(target: "/announce?" + String(repeating: "a", count: 5000), source: Self.localhost))["failure reason"] == "request too long")
        // Without a source address (and no acceptable claim) there is no peer to record.
        #expect(try decode(service.handle(target: Self.announceTarget(peer: 1), source: nil))["failure reason"] == "cannot determine peer address")
    }

    @Test func scrapeOneManyAndAll() throws {
        let service = TrackerService(configuration: TrackerConfiguration())
        let other = InfoHash(bytes: [UInt8](repeating: 1, count: 20))!
        _ = service.handle(target: Self.announceTarget(peer: 1, left: 0), source: Self.localhost)
        _ = service.handle(target: Self.announceTarget(peer: 2), source: Self.localhost)
        _ = service.handle(target: Self.announceTarget(peer: 3, hash: other), source: Self.localhost)
        let one = try decode(service.handle(target: "/scrape?info_hash=\(QueryParameters.percentEncode(Self.hash.bytes))", source: nil))
        let entry = try #require(one["files"]?.dictionaryValue?[Self.hash.bytes])
        #expect(entry["complete"] == 1 && entry["incomplete"] == 1 && entry["downloaded"] == 0)
        #expect(one["files"]?.dictionaryValue?.count == 1)
        let many = try decode(service.handle(
            target: "/scrape?info_hash=\(QueryParameters.percentEncode(Self.hash.bytes))&info_hash=\(QueryParameters.percentEncode(other.bytes))", source: nil))
        #expect(many["files"]?.dictionaryValue?.count == 2)
        let all = try decode(service.handle(target: "/scrape", source: nil))
        #expect(all["files"]?.dictionaryValue?[other.bytes]?["incomplete"] == 1)
    }

    @Test func expiryFollowsThePeerTimeout() throws {
        let clock = ManualClock()
        var configuration = TrackerConfiguration()
        configuration.peerTimeout = 30
        let service = TrackerService(configuration: configuration, clock: { clock.now })
        _ = service.handle(target: Self.announceTarget(peer: 1), source: Self.localhost)
        clock.advance(29)
        #expect(service.expirePeers() == 0)
        clock.advance(2)
        #expect(service.expirePeers() == 1)
        #expect(service.counts.peers == 0)
    }

    @Test func whitelistTracksOnlyListedTorrents() throws {
        let directory = TemporaryDirectory()
        let data = try directory.randomFile("data.bin", size: 50_000)
        var options = MetainfoCreator.Options()
        options.creationDate = nil
        let metainfo = try MetainfoCreator(options: options).create(from: ContentSource(scanning: data))
        try FileManager.default.createDirectory(atPath: "\(directory.path)/allowed", withIntermediateDirectories: true)
        try FileIO.writeAtomically(metainfo.encoded(), toPath: "\(directory.path)/allowed/data.mtorrent")
        try directory.write(Array("garbage".utf8), to: "allowed/broken.torrent")
        var configuration = TrackerConfiguration()
        configuration.whitelistDirectory = "\(directory.path)/allowed"
        let service = TrackerService(configuration: configuration)
        let allowed = try decode(service.handle(target: Self.announceTarget(peer: 1, hash: metainfo.infoHash), source: Self.localhost))
        #expect(allowed["failure reason"] == nil)
        let refused = try decode(service.handle(target: Self.announceTarget(peer: 1), source: Self.localhost))
        #expect(refused["failure reason"] == "torrent not tracked here")
        // A file added later is picked up on reload.
        let later = try MetainfoCreator(options: options).create(from: ContentSource(scanning: directory.randomFile("more.bin", size: 1000)))
        try FileIO.writeAtomically(later.encoded(), toPath: "\(directory.path)/allowed/more.mtorrent")
        service.reloadWhitelist()
        #expect(try decode(service.handle(target: Self.announceTarget(peer: 1, hash: later.infoHash), source: Self.localhost))["failure reason"] == nil)
    }

    @Test func metricsExposeCountsAndAnnouncesByResult() throws {
        let service = TrackerService(configuration: TrackerConfiguration())
        _ = service.handle(target: Self.announceTarget(peer: 1, left: 0), source: Self.localhost)
        _ = service.handle(target: Self.announceTarget(peer: 2), source: Self.localhost)
        _ = service.handle(target: "/announce?bad", source: Self.localhost)
        let reply = service.handle(target: "/metrics", source: nil)
        let text = String(decoding: reply.body, as: UTF8.self)
        #expect(reply.contentType.hasPrefix("text/plain"))
        #expect(text.contains("microtorr_tracker_announces_total{result=\"ok\"} 2"))
        #expect(text.contains("microtorr_tracker_announces_total{result=\"failure\"} 1"))
        #expect(text.contains("microtorr_tracker_peers 2"))
        #expect(text.contains("microtorr_tracker_seeders 1"))
        #expect(text.contains("microtorr_tracker_swarms 1"))
    }
}
