import Bencode
import Metainfo
import Testing
@testable import TrackerKit

@Suite("Tracker client parsing")
struct ClientParsingTests {
    @Test func parsesTrackerURLs() throws {
        let plain = try TrackerURL("http://10.0.0.1:6969/announce")
        #expect(plain.host == "10.0.0.1" && plain.port == 6969 && plain.target == "/announce")
        let defaultPort = try TrackerURL("http://tracker.lan/announce?passkey=abc")
        #expect(defaultPort.port == 80 && defaultPort.target == "/announce?passkey=abc")
        #expect(defaultPort.target(adding: "x=1") == "/announce?passkey=abc&x=1")
        #expect(try TrackerURL("http://[::1]:7000/announce").host == "::1")
        #expect(try TrackerURL("http://h").target == "/")
        for bad in ["https://t/announce", "udp://t:80", "ftp://x", "http://:80/a", "http://h:99999/a", "http://u@h/a"] {
            #expect(throws: TrackerClientError.self) { try TrackerURL(bad) }
        }
    }

    @Test func derivesScrapeURLsPerBEP48() throws {
        #expect(try TrackerURL("http://t:1/announce").scrapeURL?.description == "http://t:1/scrape")
        #expect(try TrackerURL("http://t:1/x/announce.php?k=1").scrapeURL?.description == "http://t:1/x/scrape.php?k=1")
        #expect(try TrackerURL("http://t:1/a").scrapeURL == nil)
    }

    @Test func parsesCompactDictionaryAndIPv6Peers() throws {
        let compact: Bencode = ["interval": 30, "min interval": 10, "complete": 2, "incomplete": 5,
                                "peers": .bytes([10, 0, 0, 1, 0x1A, 0xE1, 10, 0, 0, 2, 0x1A, 0xE2]),
                                "peers6": .bytes(IPAddress("fd00::7")!.bytes + [0, 80])]
        let response = try AnnounceResponse(bencoded: compact.encoded())
        #expect(response.interval == 30 && response.minInterval == 10 && response.complete == 2 && response.incomplete == 5)
        #expect(response.peers == [PeerEndpoint("10.0.0.1:6881")!, PeerEndpoint("10.0.0.2:6882")!, PeerEndpoint("[fd00::7]:80")!])

        let listed: Bencode = ["interval": 5, "peers": [["ip": "192.168.1.2", "port": 7000, "peer id": "x"], ["ip": "bogus", "port": 1]]]
        #expect(try AnnounceResponse(bencoded: listed.encoded()).peers == [PeerEndpoint("192.168.1.2:7000")!])
    }

    @Test func failureReasonAndGarbageAreErrors() {
        #expect(throws: TrackerClientError.refused("not registered")) {
            try AnnounceResponse(bencoded: (["failure reason": "not registered"] as Bencode).encoded())
        }
        #expect(throws: TrackerClientError.malformedResponse("missing interval")) {
            try AnnounceResponse(bencoded: (["peers": ""] as Bencode).encoded())
        }
        #expect(throws: TrackerClientError.self) { try AnnounceResponse(bencoded: Array("<html>".utf8)) }
    }

    @Test func backoffDoublesUpToTheCap() {
        let schedule = BackoffSchedule(initial: .seconds(5), maximum: .seconds(60))
        #expect((1...6).map { schedule.delay(afterFailures: $0) } == [.seconds(5), .seconds(10), .seconds(20), .seconds(40), .seconds(60), .seconds(60)])
        #expect(schedule.delay(afterFailures: 1000) == .seconds(60))
        #expect(schedule.delay(afterFailures: 0) == .zero)
    }
}
