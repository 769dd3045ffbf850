import Metainfo

/// What an announce says about the peer's state (BEP 3), plus the original
/// MicroTorr's periodic `alive`.
public enum AnnounceEvent: String, Sendable, Hashable {
    case started, stopped, completed, alive
    /// A regular re-announce (empty or absent `event`).
    case none = ""
}

/// A `GET /announce` request (BEP 3, BEP 23 compact).
public struct AnnounceRequest: Sendable, Hashable {
    public var infoHash: InfoHash
    public var peerID: PeerID
    public var port: UInt16
    public var uploaded: Int64 = 0
    public var downloaded: Int64 = 0
    public var left: Int64 = 0
    public var event: AnnounceEvent = .none
    /// The address the peer claims (honoured only on private networks).
    public var ip: IPAddress?
    public var numwant: Int?
    public var compact = true
    public var noPeerID = false
    public var key: String?
    /// The original MicroTorr's JSON reply instead of bencode.
    public var wantsJSON = false

    public init(infoHash: InfoHash, peerID: PeerID, port: UInt16) {
        self.infoHash = infoHash
        self.peerID = peerID
        self.port = port
    }

    public init(query: QueryParameters) throws(TrackerFailure) {
        guard let hash = query.first("info_hash") else { throw TrackerFailure("missing info_hash") }
        guard let infoHash = InfoHash(bytes: hash) else {
            throw TrackerFailure("info_hash must be 20 bytes, got \(hash.count)")
        }
        guard let id = query.first("peer_id") else { throw TrackerFailure("missing peer_id") }
        guard let peerID = PeerID(bytes: id) else { throw TrackerFailure("peer_id must be 20 bytes, got \(id.count)") }
        guard let portText = query.first("port") else { throw TrackerFailure("missing port") }
        guard let port = Self.integer(portText).flatMap({ UInt16(exactly: $0) }), port > 0 else {
            throw TrackerFailure("invalid port")
        }
        self.init(infoHash: infoHash, peerID: peerID, port: port)
        /// A non-negative integer parameter; nil when absent.
        func number(_ name: String) throws(TrackerFailure) -> Int64? {
            guard let raw = query.first(name) else { return nil }
            guard let value = Self.integer(raw) else { throw TrackerFailure("invalid \(name)") }
            return value
        }
        uploaded = try number("uploaded") ?? 0
        downloaded = try number("downloaded") ?? 0
        left = try number("left") ?? 0
        if let raw = query.first("event") {
            guard let event = AnnounceEvent(rawValue: String(decoding: raw, as: UTF8.self)) else {
                throw TrackerFailure("unknown event")
            }
            self.event = event
        }
        if let raw = query.first("ip"), !raw.isEmpty {
            guard let ip = IPAddress(String(decoding: raw, as: UTF8.self)) else { throw TrackerFailure("invalid ip") }
            self.ip = ip
        }
        if let value = try number("numwant") { numwant = Int(clamping: value) }
        compact = query.first("compact")?.elementsEqual("0".utf8) != true
        noPeerID = query.first("no_peer_id")?.elementsEqual("1".utf8) == true
        key = query.first("key").map { String(decoding: $0, as: UTF8.self) }
        wantsJSON = query.first("format")?.elementsEqual("json".utf8) == true
    }

    /// The query string a client sends.
    public var query: QueryParameters {
        var query = QueryParameters()
        query.append("info_hash", infoHash.bytes)
        query.append("peer_id", peerID.bytes)
        query.append("port", String(port))
        query.append("uploaded", String(uploaded))
        query.append("downloaded", String(downloaded))
        query.append("left", String(left))
        query.append("compact", compact ? "1" : "0")
        if event != .none { query.append("event", event.rawValue) }
        if let ip { query.append("ip", ip.description) }
        if let numwant { query.append("numwant", String(numwant)) }
        if let key { query.append("key", key) }
        return query
    }

    /// A decimal integer that fits an `Int64` (digits only: no sign, no
    /// spaces; never negative).
    static func integer(_ bytes: some Collection<UInt8>) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (tens, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = tens.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }
}
