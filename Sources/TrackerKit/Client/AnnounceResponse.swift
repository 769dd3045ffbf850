import Bencode
import Metainfo

/// A tracker's answer to an announce, as a client reads it.
public struct AnnounceResponse: Sendable, Hashable {
    public var interval: Int
    public var minInterval: Int?
    /// Seeders and leechers, when the tracker says.
    public var complete: Int?
    public var incomplete: Int?
    public var peers: [PeerEndpoint]
    public var warning: String?

    public init(interval: Int, minInterval: Int? = nil, complete: Int? = nil, incomplete: Int? = nil,
                peers: [PeerEndpoint] = [], warning: String? = nil) {
        self.interval = interval
        self.minInterval = minInterval
        self.complete = complete
        self.incomplete = incomplete
        self.peers = peers
        self.warning = warning
    }

    /// Parses a bencoded reply: compact (BEP 23) or dictionary peers, IPv6
    /// peers in `peers6` (BEP 7); `failure reason` becomes `.refused`.
    public init(bencoded bytes: [UInt8]) throws(TrackerClientError) {
        let value: Bencode
        do {
            value = try BencodeDecoder().decode(bytes)
        } catch {
            throw .malformedResponse(error.description)
        }
        guard case .dictionary = value else { throw .malformedResponse("not a dictionary") }
        if let reason = value["failure reason"] {
            throw .refused(reason.stringValue ?? "unreadable reason")
        }
        guard let interval = value["interval"]?.integerValue, interval > 0 else {
            throw .malformedResponse("missing interval")
        }
        var peers: [PeerEndpoint] = []
        switch value["peers"] {
        case .bytes(let compact)?:
            peers = PeerEndpoint.parseCompact(compact, addressLength: 4)
        case .list(let entries)?:
            for entry in entries {
                guard let host = entry["ip"]?.stringValue, let ip = IPAddress(host),
                      let port = entry["port"]?.integerValue.flatMap({ UInt16(exactly: $0) }), port > 0 else { continue }
                peers.append(PeerEndpoint(ip: ip, port: port))
            }
        default:
            break
        }
        if let compact6 = value["peers6"]?.bytesValue {
            peers += PeerEndpoint.parseCompact(compact6, addressLength: 16)
        }
        func count(_ key: String) -> Int? { value[key]?.integerValue.flatMap { Int(exactly: $0) } }
        self.init(interval: Int(clamping: interval), minInterval: count("min interval"), complete: count("complete"),
                  incomplete: count("incomplete"), peers: peers, warning: value["warning message"]?.stringValue)
    }
}

/// Counts for one torrent from a scrape (BEP 48).
public struct ScrapeResponse: Sendable, Hashable {
    public var complete: Int
    public var downloaded: Int
    public var incomplete: Int

    public init(bencoded bytes: [UInt8], infoHash: InfoHash) throws(TrackerClientError) {
        let value: Bencode
        do {
            value = try BencodeDecoder().decode(bytes)
        } catch {
            throw .malformedResponse(error.description)
        }
        if let reason = value["failure reason"] { throw .refused(reason.stringValue ?? "unreadable reason") }
        guard let entry = value["files"]?.dictionaryValue?[infoHash.bytes] else {
            throw .malformedResponse("no entry for the torrent")
        }
        func count(_ key: String) -> Int { entry[key]?.integerValue.flatMap { Int(exactly: $0) } ?? 0 }
        complete = count("complete")
        downloaded = count("downloaded")
        incomplete = count("incomplete")
    }
}
