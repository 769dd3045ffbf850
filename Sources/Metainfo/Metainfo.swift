import Crypto

/// A BitTorrent v1 metainfo file (`.torrent` / `.mtorrent`, BEP 3).
public struct Metainfo: Hashable, Sendable {
    public let info: InfoDictionary
    /// The `info` dictionary exactly as it was bencoded; its SHA-1 is the
    /// info-hash.
    public let infoBytes: [UInt8]
    public let infoHash: InfoHash
    public let announce: String?
    /// BEP 12 tiers of tracker URLs.
    public let announceList: [[String]]
    public let comment: String?
    public let createdBy: String?
    /// Seconds since 1970.
    public let creationDate: Int64?

    public init(
        info: InfoDictionary, infoBytes: [UInt8], announce: String?, announceList: [[String]],
        comment: String?, createdBy: String?, creationDate: Int64?
    ) {
        self.info = info
        self.infoBytes = infoBytes
        self.infoHash = SHA1Hash(bytes: Array(Insecure.SHA1.hash(data: infoBytes)))!
        self.announce = announce
        self.announceList = announceList
        self.comment = comment
        self.createdBy = createdBy
        self.creationDate = creationDate
    }

    /// The tracker tiers to use (BEP 12): `announce-list` when present,
    /// otherwise `announce` alone.
    public var trackerTiers: [[String]] {
        if !announceList.isEmpty { return announceList }
        return announce.map { [[$0]] } ?? []
    }

    /// The same torrent (same info dictionary, so the same info-hash)
    /// announced to `tracker` instead: what the daemon writes when its
    /// tracker moves.
    public func announcing(to tracker: String) -> Metainfo {
        Metainfo(info: info, infoBytes: infoBytes, announce: tracker, announceList: [], comment: comment,
                 createdBy: createdBy, creationDate: creationDate)
    }
}
