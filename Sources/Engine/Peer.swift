import NIOCore
import PeerWire
import TrackerKit

/// What a session knows about one connected peer. Owned by the session's
/// loop; never shared.
final class Peer {
    let key: PiecePicker.PeerKey
    let channel: any Channel
    let endpoint: PeerEndpoint?
    let remoteID: [UInt8]
    let outbound: Bool
    let connectedAt: Double
    var has: Bitfield
    var amChoking = true
    var amInterested = false
    var peerChoking = true
    var peerInterested = false
    /// Our requests to this peer and when they were sent.
    var inFlight: [BlockRequest: Double] = [:]
    /// Its requests being read from disk (removed by `cancel`).
    var pendingUploads: Set<BlockRequest> = []
    var down = RateMeter()
    var up = RateMeter()
    var downloaded: Int64 = 0
    var uploaded: Int64 = 0
    var lastReceived: Double
    var lastSent: Double

    init(key: PiecePicker.PeerKey, channel: any Channel, endpoint: PeerEndpoint?, remoteID: [UInt8], outbound: Bool, now: Double, pieceCount: Int) {
        self.key = key
        self.channel = channel
        self.endpoint = endpoint
        self.remoteID = remoteID
        self.outbound = outbound
        self.connectedAt = now
        self.has = Bitfield(count: pieceCount)
        self.lastReceived = now
        self.lastSent = now
    }

    var name: String { endpoint?.description ?? "peer#\(key)" }

    /// The client from an Azureus-style id (`-LT2080-…` → `LT 2080`).
    var client: String {
        guard remoteID.count == 20, remoteID[0] == UInt8(ascii: "-"), remoteID[7] == UInt8(ascii: "-"),
              remoteID[1...6].allSatisfy({ (0x20...0x7E).contains($0) }) else { return "unknown" }
        let tag = String(decoding: remoteID[1...2], as: UTF8.self)
        let version = String(decoding: remoteID[3...6], as: UTF8.self)
        return "\(tag) \(version)"
    }

    func statistics(now: Double) -> PeerStatistics {
        PeerStatistics(endpoint: name, client: client, downloaded: downloaded, uploaded: uploaded, connectedSeconds: now - connectedAt)
    }
}
