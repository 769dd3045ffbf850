import Foundation
import Metainfo
import NIOCore
import NIOPosix
import TestSupport
import Testing
@testable import TrackerKit

@Suite("Tracker over HTTP, with our client")
struct TrackerServerTests {
    static let hash = InfoHash(bytes: [UInt8](repeating: 0xEE, count: 20))!

    private func withServer(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            _ configure: (inout TrackerConfiguration) -> Void = { _ in },
                            _ body: (TrackerServer) async throws -> Void) async throws {
        var configuration = TrackerConfiguration()
        configure(&configuration)
        let server = try await TrackerServer.start(host: "127.0.0.1", port: 0, configuration: configuration, group: group)
        try await withTeardown(server, body) { await $0.shutdown() }
    }

    private func request(peer: PeerID, port: UInt16, left: Int64 = 100) -> AnnounceRequest {
        var request = AnnounceRequest(infoHash: Self.hash, peerID: peer, port: port)
        request.left = left
        request.event = .started
        return request
    }

    @Test func clientsFindEachOtherAndScrapeCounts() async throws {
        try await withServer { server in
            let url = try TrackerURL("http://127.0.0.1:\(server.port)/announce")
            let client = TrackerClient()
            let first = try await client.announce(request(peer: .random(), port: 1111, left: 0), to: url)
            #expect(first.peers.isEmpty && first.interval == 10)
            let second = try await client.announce(request(peer: .random(), port: 2222), to: url)
            #expect(second.peers == [PeerEndpoint("127.0.0.1:1111")!])
            #expect(second.complete == 1 && second.incomplete == 1)
            let scrape = try await client.scrape(Self.hash, at: url)
            #expect(scrape.complete == 1 && scrape.incomplete == 1)
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer { server in
            let target = "/announce?info_hash=\(QueryParameters.percentEncode(Self.hash.bytes))&peer_id=-MT0100-000000000001&port=5"
            let twice = "GET \(target) HTTP/1.1\r\nHost: t\r\n\r\nGET /scrape HTTP/1.1\r\nHost: t\r\n\r\n"
            let kept = try RawHTTP.exchange(port: server.port, send: Array(twice.utf8), timeout: 1)
            #expect(kept.response.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
            #expect(!kept.closedByServer)
            // HTTP/1.0 without keep-alive (as opentracker's clients and wrk -H
            // "Connection: close" do): one reply, then the server closes.
            let once = try RawHTTP.exchange(port: server.port, send: Array("GET /scrape HTTP/1.0\r\n\r\n".utf8))
            #expect(once.response.hasPrefix("HTTP/1.0 200 OK"))
            #expect(once.closedByServer)
        }
    }

    @Test func garbageAndOversizedRequestsDoNotHurtTheServer() async throws {
        try await withServer { server in
            let garbage = try RawHTTP.exchange(port: server.port, send: Array("\u{00}\u{01}NOT HTTP AT ALL\r\n\r\n".utf8))
            #expect(garbage.response.contains("400"))
            let huge = "GET /announce?" + String(repeating: "a", count: 200_000) + " HTTP/1.1\r\nHost: t\r\n\r\n"
            let oversized = try RawHTTP.exchange(port: server.port, send: Array(huge.utf8))
            #expect(oversized.closedByServer)
            let unknown = try RawHTTP.exchange(port: server.port, send: Array("GET /admin HTTP/1.0\r\n\r\n".utf8))
            #expect(unknown.response.hasPrefix("HTTP/1.0 404"))
            let post = try RawHTTP.exchange(port: server.port, send: Array("POST /announce HTTP/1.0\r\nContent-Length: 0\r\n\r\n".utf8))
            #expect(post.response.hasPrefix("HTTP/1.0 405"))
            // Still serving.
            let url = try TrackerURL("http://127.0.0.1:\(server.port)/announce")
            _ = try await TrackerClient().announce(request(peer: .random(), port: 9), to: url)
            #expect(server.service.counts.peers == 1)
        }
    }

    @Test func aSecondServerCannotShareTheSamePort() async throws {
        try await withServer { server in
            await #expect(throws: (any Error).self) {
                let second = try await TrackerServer.start(host: "127.0.0.1", port: server.port, configuration: TrackerConfiguration())
                await second.shutdown()
            }
        }
    }

    @Test func announcerFallsThroughTiersAndSendsStopped() async throws {
        try await withServer({ $0.interval = 1; $0.peerTimeout = 30 }) { server in
            try await Self.withClosedPort { dead in
                let responses = ResponseLog()
                let announcer = Announcer(
                    trackers: [["http://127.0.0.1:\(dead)/announce", "notaurl"], ["http://127.0.0.1:\(server.port)/announce"]],
                    infoHash: Self.hash, peerID: .random(), settings: .init(port: 4444),
                    client: TrackerClient(http: HTTPGetClient(timeout: .seconds(2))),
                    totals: { .init(uploaded: 0, downloaded: 0, left: 10) },
                    onResponse: { await responses.add($0) })
                let running = Task { await announcer.run() }
                // Regular re-announces at the tracker's 1 s interval.
                // Generous: the suite's process-driving tests block the shared
            // cooperative threads for seconds at a time on 2 cores.
            let deadline = Date().addingTimeInterval(60)
                while await responses.count < 3, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
                #expect(await responses.count >= 3)
                #expect(server.service.counts.peers == 1)
                running.cancel()
                await running.value
                await announcer.stop()
                #expect(server.service.counts.peers == 0)
            }
        }
    }

    /// An idle connection is closed after the idle timeout (it would hold a
    /// descriptor forever); one that keeps asking stays served.
    @Test func idleConnectionsAreClosed() async throws {
        try await withServer({ $0.idleTimeoutSeconds = 1 }) { server in
            let fd = try #require(BackgroundProcess.connectLoopback(port: server.port))
            defer { close(fd) }
            let closedAfter = try #require(BackgroundProcess.secondsUntilClosed(fd, limit: 5), "an idle connection stayed open")
            #expect(closedAfter >= 0.8 && closedAfter < 3, "closed after \(closedAfter) s")
        }
    }

    /// The connection cap holds for the whole server, though each event
    /// loop's socket keeps its own share: 30 connections to a tracker with
    /// two loops, capped at 6, leave at most 6 open, the newest among them
    /// (a newcomer closes the least recently active on its loop).
    @Test func theConnectionCapHoldsAcrossEventLoops() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { group.shutdownGracefully { _ in } }
        try await withServer(group: group, { $0.maxConnections = 6 }) { server in
            var descriptors: [Int32] = []
            defer { for fd in descriptors { close(fd) } }
            for _ in 0..<30 {
                descriptors.append(try #require(BackgroundProcess.connectLoopback(port: server.port)))
                try await Task.sleep(for: .milliseconds(5))
            }
            // Open means not closed by the server: no end of stream waiting.
            func isOpen(_ fd: Int32) -> Bool {
                var byte: UInt8 = 0
                let count = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                return count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
            }
            var open: [Int32] = []
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(50))
                open = descriptors.filter(isOpen)
                if open.count <= 6 { break }
            }
            #expect(open.count <= 6 && open.count >= 1, "\(open.count) of 30 connections open past a cap of 6")
            #expect(open.contains(descriptors.last!), "the newest connection was closed")
        }
    }

    @Test func unreachableTrackerIsReportedAndRetried() async throws {
        try await Self.withClosedPort { dead in
            var settings = Announcer.Settings(port: 1)
            settings.backoff = BackoffSchedule(initial: .milliseconds(100), maximum: .milliseconds(200))
            let announcer = Announcer(
                trackers: [["http://127.0.0.1:\(dead)/announce"]], infoHash: Self.hash, peerID: .random(), settings: settings,
                totals: { .init(uploaded: 0, downloaded: 0, left: 1) }, onResponse: { _ in })
            let running = Task { await announcer.run() }
            // Generous: the suite's process-driving tests block the shared
            // cooperative threads for seconds at a time on 2 cores.
            let deadline = Date().addingTimeInterval(60)
            while await announcer.consecutiveFailures < 3, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let failures = await announcer.consecutiveFailures
            let lastError = await announcer.lastError
            #expect(failures >= 3, "\(failures) failures, last: \(String(describing: lastError))")
            if case .connectionFailed? = lastError {} else { Issue.record("expected a connection failure, got \(String(describing: lastError))") }
            running.cancel()
            await running.value
        }
    }

    /// A local port with nothing listening on it, held (bound, never
    /// listening) until `body` ends so no other test process can take it
    /// meanwhile: connections to it are refused.
    static func withClosedPort(_ body: (Int) async throws -> Void) async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound)
        try await body(Int(UInt16(bigEndian: address.sin_port)))
    }
}

actor ResponseLog {
    private(set) var responses: [AnnounceResponse] = []
    var count: Int { responses.count }
    func add(_ response: AnnounceResponse) { responses.append(response) }
}
