import Metainfo
import Testing
@testable import TrackerKit

@Suite("Query parsing and announce requests")
struct QueryAndRequestTests {
    static let hashBytes: [UInt8] = [0xFF, 0x00, 0x80, 0x2B, 0x26, 0x3D, 0x25, 0x20] + Array(0..<12)
    static let hashQuery = QueryParameters.percentEncode(hashBytes)

    private func request(_ query: String) throws(TrackerFailure) -> AnnounceRequest {
        try AnnounceRequest(query: QueryParameters(parsing: query.utf8))
    }

    private func failure(_ query: String) -> String? {
        do {
            _ = try request(query)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func decodesBinaryHashesAsBytesNotText() throws {
        // 0xFF 0x00 0x80 are not valid UTF-8; '+' '&' '=' '%' ' ' must survive.
        let parsed = try request("info_hash=\(Self.hashQuery)&peer_id=-MT0100-abcdefghijkl&port=6881&left=5")
        #expect(parsed.infoHash.bytes == Self.hashBytes)
        #expect(parsed.peerID.bytes == Array("-MT0100-abcdefghijkl".utf8))
        #expect(parsed.port == 6881)
        #expect(parsed.left == 5)
        #expect(parsed.event == AnnounceEvent.none)
        #expect(parsed.compact)
    }

    @Test func rawBytesOutsideEscapesAreKept() throws {
        let params = try QueryParameters(parsing: Array("a=x+y&b=%41%42&c&=v&d=".utf8))
        #expect(params.first("a") == ArraySlice("x+y".utf8))
        #expect(params.first("b") == ArraySlice("AB".utf8))
        #expect(params.first("c") == [])
        #expect(params.first("d") == [])
        #expect(params.first("") == ArraySlice("v".utf8))
        #expect(params.first("e") == nil)
        #expect(params.all("b").count == 1)
    }

    @Test func encodingRoundTrips() throws {
        var query = QueryParameters()
        query.append("info_hash", Array(0...255).map { UInt8($0) })
        query.append("peer_id", "-MT0100-~._abc")
        let parsed = try QueryParameters(parsing: Array(query.encoded.utf8))
        #expect(parsed.first("info_hash") == ArraySlice(0...255))
        #expect(parsed.first("peer_id") == ArraySlice("-MT0100-~._abc".utf8))
    }

    @Test func readsEveryOptionalParameter() throws {
        let parsed = try request(
            "info_hash=\(Self.hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&uploaded=7&downloaded=8&left=0"
            + "&event=alive&ip=192.168.1.4&numwant=3&compact=0&no_peer_id=1&key=k1&format=json")
        #expect(parsed.uploaded == 7 && parsed.downloaded == 8 && parsed.left == 0)
        #expect(try request("info_hash=\(Self.hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&left=9223372036854775807").left == .max)
        #expect(parsed.event == .alive)
        #expect(parsed.ip == IPAddress("192.168.1.4"))
        #expect(parsed.numwant == 3)
        #expect(!parsed.compact && parsed.noPeerID && parsed.wantsJSON)
        #expect(parsed.key == "k1")
        #expect(try request("info_hash=\(Self.hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&event=").event == AnnounceEvent.none)
        #expect(try request("info_hash=\(Self.hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&event=completed").event == .completed)
    }

    @Test("every bad announce is refused with a reason", arguments: [
        ("peer_id=-MT0100-abcdefghijkl&port=1", "missing info_hash"),
        ("info_hash=abc&peer_id=-MT0100-abcdefghijkl&port=1", "info_hash must be 20 bytes, got 3"),
        ("info_hash=\(hashQuery)%00&peer_id=-MT0100-abcdefghijkl&port=1", "info_hash must be 20 bytes, got 21"),
        ("info_hash=\(hashQuery)&port=1", "missing peer_id"),
        ("info_hash=\(hashQuery)&peer_id=short&port=1", "peer_id must be 20 bytes, got 5"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl", "missing port"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=0", "invalid port"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=65536", "invalid port"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=http", "invalid port"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&left=-1", "invalid left"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&uploaded=99999999999999999999", "invalid uploaded"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&downloaded=9223372036854775808", "invalid downloaded"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&left=1%2B1", "invalid left"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&event=paused", "unknown event"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&ip=not-an-ip", "invalid ip"),
        ("info_hash=\(hashQuery)&peer_id=-MT0100-abcdefghijkl&port=1&numwant=x", "invalid numwant"),
        ("info_hash=%G1", "malformed percent-encoding in query"),
        ("info_hash=%4", "malformed percent-encoding in query"),
    ])
    func refusesBadAnnounce(query: String, reason: String) {
        #expect(failure(query) == reason)
    }

    @Test func hostAndPortParse() {
        #expect(HostPort.parse("10.0.0.1:6969")! == ("10.0.0.1", 6969))
        #expect(HostPort.parse("tracker.lan")! == ("tracker.lan", nil))
        #expect(HostPort.parse("[::1]:80")! == ("::1", 80))
        #expect(HostPort.parse("[fd00::1]")! == ("fd00::1", nil))
        #expect(HostPort.parse("fd00::1")! == ("fd00::1", nil))
        for bad in ["", ":80", "h:99999", "h:x", "[::1", "[::1]80", "[]:1"] {
            #expect(HostPort.parse(bad) == nil, "\(bad)")
        }
        #expect(PeerEndpoint("tracker.lan:80") == nil)  // a peer needs a numeric address
        #expect(PeerEndpoint("::1") == nil)
    }

    @Test func addressesParseAndClassify() throws {
        #expect(IPAddress("127.0.0.1")?.isLoopbackOrPrivate == true)
        #expect(IPAddress("10.1.2.3")?.isLoopbackOrPrivate == true)
        #expect(IPAddress("172.16.0.1")?.isLoopbackOrPrivate == true)
        #expect(IPAddress("172.32.0.1")?.isLoopbackOrPrivate == false)
        #expect(IPAddress("192.168.9.9")?.isLoopbackOrPrivate == true)
        #expect(IPAddress("8.8.8.8")?.isLoopbackOrPrivate == false)
        #expect(IPAddress("::1")?.isLoopbackOrPrivate == true)
        #expect(IPAddress("fd00::5")?.isLoopbackOrPrivate == true)
        #expect(IPAddress("2001:db8::1")?.isLoopbackOrPrivate == false)
        #expect(IPAddress("::ffff:10.0.0.1") == IPAddress("10.0.0.1"))
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("1.2.3.4")?.bytes == [1, 2, 3, 4])
        #expect(PeerEndpoint("[::1]:80")?.description == "[::1]:80")
        #expect(PeerEndpoint("1.2.3.4:6881")?.compactBytes == [1, 2, 3, 4, 0x1A, 0xE1])
        #expect(PeerEndpoint.parseCompact([1, 2, 3, 4, 0x1A, 0xE1, 9], addressLength: 4) == [PeerEndpoint("1.2.3.4:6881")!])
        #expect(PeerID.random().bytes.prefix(8) == ArraySlice("-MT0100-".utf8))
    }
}
