import Metainfo

/// The BitTorrent handshake: `\x13BitTorrent protocol`, 8 reserved bytes,
/// the info-hash and the sender's peer id; 68 bytes, no length prefix.
public struct Handshake: Hashable, Sendable {
    public static let protocolName = Array("BitTorrent protocol".utf8)
    public static let length = 1 + 19 + 8 + 20 + 20

    public var reserved: [UInt8]
    public var infoHash: InfoHash
    public var peerID: [UInt8]

    public init(infoHash: InfoHash, peerID: [UInt8], reserved: [UInt8] = [UInt8](repeating: 0, count: 8)) {
        precondition(peerID.count == 20 && reserved.count == 8)
        self.infoHash = infoHash
        self.peerID = peerID
        self.reserved = reserved
    }

    /// Reserved bit 20 (byte 5, 0x10): the extension protocol (BEP 10).
    public var supportsExtensions: Bool {
        get { reserved[5] & 0x10 != 0 }
        set { reserved[5] = newValue ? reserved[5] | 0x10 : reserved[5] & ~0x10 }
    }
}
