import Metainfo
import Testing
@testable import TrackerKit

@Suite("Swarm registry")
struct SwarmRegistryTests {
    static let hash = InfoHash(bytes: [UInt8](repeating: 7, count: 20))!
    static let otherHash = InfoHash(bytes: [UInt8](repeating: 8, count: 20))!

    static func peer(_ number: Int) -> PeerID {
        PeerID(bytes: Array("-MT0100-".utf8) + Array(String(format: "%012d", number).utf8))!
    }

    static func endpoint(_ number: Int) -> PeerEndpoint {
        PeerEndpoint(ip: IPAddress("10.0.\(number / 250).\(number % 250 + 1)")!, port: 6881)
    }

    static func request(_ number: Int, left: Int64 = 100, event: AnnounceEvent = .none, hash: InfoHash = hash) -> AnnounceRequest {
        var request = AnnounceRequest(infoHash: hash, peerID: peer(number), port: 6881)
        request.left = left
        request.event = event
        return request
    }

    @Test func returnsOtherPeersButNeverTheAsker() throws {
        var registry = SwarmRegistry()
        for number in 0..<5 { _ = try registry.announce(Self.request(number), from: Self.endpoint(number), now: 0) }
        let reply = try registry.announce(Self.request(0), from: Self.endpoint(0), now: 1)
        #expect(reply.peers.count == 4)
        #expect(!reply.peers.contains { $0.id == Self.peer(0) })
        #expect(Set(reply.peers.map(\.endpoint)) == Set((1..<5).map(Self.endpoint)))
        #expect(reply.incomplete == 5 && reply.complete == 0)
    }

    @Test func numwantIsHonouredAndCapped() throws {
        var registry = SwarmRegistry()
        for number in 0..<300 { _ = try registry.announce(Self.request(number), from: Self.endpoint(number), now: 0) }
        var asking = Self.request(0)
        asking.numwant = 7
        #expect(try registry.announce(asking, from: Self.endpoint(0), now: 0).peers.count == 7)
        asking.numwant = 10_000
        #expect(try registry.announce(asking, from: Self.endpoint(0), now: 0).peers.count == 200)
        asking.numwant = nil
        #expect(try registry.announce(asking, from: Self.endpoint(0), now: 0).peers.count == 50)
    }

    @Test func stoppedRemovesAndCompletedMovesToSeedersOnce() throws {
        var registry = SwarmRegistry()
        _ = try registry.announce(Self.request(1), from: Self.endpoint(1), now: 0)
        _ = try registry.announce(Self.request(2), from: Self.endpoint(2), now: 0)
        var reply = try registry.announce(Self.request(1, left: 0, event: .completed), from: Self.endpoint(1), now: 1)
        #expect(reply.complete == 1 && reply.incomplete == 1)
        _ = try registry.announce(Self.request(1, left: 0, event: .completed), from: Self.endpoint(1), now: 2)
        #expect(registry.scrape([Self.hash]).first?.1 == .init(complete: 1, downloaded: 1, incomplete: 1))
        #expect(registry.seederCount == 1 && registry.peerCount == 2)
        reply = try registry.announce(Self.request(2, event: .stopped), from: Self.endpoint(2), now: 3)
        #expect(reply.peers.isEmpty && reply.incomplete == 0)
        #expect(registry.peerCount == 1)
        _ = try registry.announce(Self.request(1, event: .stopped), from: Self.endpoint(1), now: 3)
        #expect(registry.peerCount == 0 && registry.seederCount == 0 && registry.swarmCount == 0)
    }

    @Test func seedersAreGivenOnlyLeechers() throws {
        var registry = SwarmRegistry()
        _ = try registry.announce(Self.request(1, left: 0), from: Self.endpoint(1), now: 0)
        _ = try registry.announce(Self.request(2, left: 0), from: Self.endpoint(2), now: 0)
        _ = try registry.announce(Self.request(3, left: 9), from: Self.endpoint(3), now: 0)
        let reply = try registry.announce(Self.request(1, left: 0), from: Self.endpoint(1), now: 0)
        #expect(reply.peers.map(\.id) == [Self.peer(3)])
        #expect(try registry.announce(Self.request(3), from: Self.endpoint(3), now: 0).peers.count == 2)
    }

    @Test func silentPeersExpireOnTheControlledClock() throws {
        var registry = SwarmRegistry()
        _ = try registry.announce(Self.request(1, left: 0), from: Self.endpoint(1), now: 0)
        _ = try registry.announce(Self.request(2), from: Self.endpoint(2), now: 20)
        _ = try registry.announce(Self.request(3, hash: Self.otherHash), from: Self.endpoint(3), now: 5)
        #expect(registry.expire(now: 30, timeout: 30) == 0)
        #expect(registry.expire(now: 30.5, timeout: 30) == 1)
        #expect(registry.peerCount == 2 && registry.seederCount == 0)
        #expect(registry.expire(now: 36, timeout: 30) == 1)
        #expect(registry.swarmCount == 1)
        // An announce refreshes the peer.
        _ = try registry.announce(Self.request(2), from: Self.endpoint(2), now: 49)
        #expect(registry.expire(now: 60, timeout: 30) == 0)
        #expect(registry.expire(now: 80, timeout: 30) == 1)
        #expect(registry.swarmCount == 0 && registry.peerCount == 0)
    }

    @Test func capsBoundMemory() throws {
        var limits = SwarmRegistry.Limits()
        limits.maxPeersPerSwarm = 3
        limits.maxSwarms = 2
        var registry = SwarmRegistry(limits: limits)
        for number in 0..<10 { _ = try registry.announce(Self.request(number), from: Self.endpoint(number), now: 0) }
        #expect(registry.peerCount == 3)
        // The newcomer beyond the cap still gets peers.
        #expect(try registry.announce(Self.request(50), from: Self.endpoint(50), now: 0).peers.count == 3)
        _ = try registry.announce(Self.request(1, hash: Self.otherHash), from: Self.endpoint(1), now: 0)
        let third = InfoHash(bytes: [UInt8](repeating: 9, count: 20))!
        #expect(throws: TrackerFailure("tracker is full: too many torrents")) {
            try registry.announce(Self.request(1, hash: third), from: Self.endpoint(1), now: 0)
        }
        // A stopped announce for an unknown swarm creates nothing.
        _ = try registry.announce(Self.request(1, event: .stopped, hash: third), from: Self.endpoint(1), now: 0)
        #expect(registry.swarmCount == 2)
    }

    @Test func peerChangingAddressIsUpdatedNotDuplicated() throws {
        var registry = SwarmRegistry()
        _ = try registry.announce(Self.request(1), from: Self.endpoint(1), now: 0)
        _ = try registry.announce(Self.request(1), from: Self.endpoint(9), now: 1)
        #expect(registry.peerCount == 1)
        let reply = try registry.announce(Self.request(2), from: Self.endpoint(2), now: 1)
        #expect(reply.peers.map(\.endpoint) == [Self.endpoint(9)])
    }
}
