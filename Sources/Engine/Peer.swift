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
    /// It speaks the extension protocol (BEP 10).
    let supportsExtensions: Bool
    /// It said it only uploads (BEP 21): a seeder whatever its `have`s show.
    var uploadOnly = false
    /// From its extension handshake (`reqq`), if it said.
    var maxQueuedRequests: Int?
    /// Its client as it names itself in the extension handshake (`v`).
    var announcedClient: String?
    var amChoking = true
    var amInterested = false
    var peerChoking = true
    var peerInterested = false
    /// Our requests to this peer and when they were sent.
    var inFlight: [BlockRequest: Double] = [:]
    /// Requests we gave up on (choke, timeout, endgame cancel) whose blocks
    /// may still arrive; anything else arriving was never asked for.
    var released: Set<BlockRequest> = []
    /// Its requests queued or being read from disk (removed by `cancel`).
    var pendingUploads: Set<BlockRequest> = []
    /// The order its requests are served in (entries no longer in
    /// `pendingUploads` were cancelled and are skipped).
    private var uploadQueue: [BlockRequest] = []
    private var uploadHead = 0
    /// Blocks being read from disk for it.
    var readsInFlight = 0
    /// Pieces announced to it while super-seeding; nil once it was told
    /// everything we have.
    var revealed: Bitfield?
    var down = RateMeter()
    var up = RateMeter()
    var downloaded: Int64 = 0
    var lastReceived: Double
    var lastSent: Double
    /// Messages written to its channel since the last flush.
    var unflushed = false
    /// When a requested block last arrived (or it last unchoked us).
    var lastBlock: Double
    /// Redundant messages, decaying: a flood of them gets the peer dropped.
    var redundantScore = 0.0
    var redundantUpdated: Double
    /// Blocks it sent that nobody asked for.
    var unrequestedBlocks = 0

    init(key: PiecePicker.PeerKey, channel: any Channel, endpoint: PeerEndpoint?, remoteID: [UInt8], outbound: Bool, now: Double, pieceCount: Int,
         supportsExtensions: Bool = false) {
        self.key = key
        self.supportsExtensions = supportsExtensions
        self.channel = channel
        self.endpoint = endpoint
        self.remoteID = remoteID
        self.outbound = outbound
        self.connectedAt = now
        self.has = Bitfield(count: pieceCount)
        self.lastReceived = now
        self.lastSent = now
        self.lastBlock = now
        self.redundantUpdated = now
    }

    var isSeed: Bool { has.isComplete || uploadOnly }

    var name: String { endpoint?.description ?? "peer#\(key)" }

    /// The client from an Azureus-style id (`-LT2080-…` → `LT 2080`), else
    /// as it names itself (aria2's id is not of that style; it says
    /// `aria2/1.37.0`), printable characters only, at most 40.
    var client: String {
        if remoteID.count == 20, remoteID[0] == UInt8(ascii: "-"), remoteID[7] == UInt8(ascii: "-"),
           remoteID[1...6].allSatisfy({ (0x20...0x7E).contains($0) }) {
            let tag = String(decoding: remoteID[1...2], as: UTF8.self)
            let version = String(decoding: remoteID[3...6], as: UTF8.self)
            return "\(tag) \(version)"
        }
        let named = String((announcedClient ?? "").unicodeScalars.filter { (0x20...0x7E).contains($0.value) }.prefix(40))
        return named.isEmpty ? "unknown" : named
    }

    func statistics(now: Double) -> PeerStatistics {
        PeerStatistics(endpoint: name, client: client, peerID: remoteID, downloaded: downloaded, uploaded: up.total, connectedSeconds: now - connectedAt)
    }

    // MARK: Upload queue

    /// Queues a request; false if it is a duplicate.
    func enqueueUpload(_ request: BlockRequest) -> Bool {
        guard pendingUploads.insert(request).inserted else { return false }
        uploadQueue.append(request)
        return true
    }

    /// The next request still wanted, in arrival order.
    func dequeueUpload() -> BlockRequest? {
        while uploadHead < uploadQueue.count {
            let request = uploadQueue[uploadHead]
            uploadHead += 1
            if uploadHead > 256, uploadHead * 2 > uploadQueue.count {
                uploadQueue.removeFirst(uploadHead)
                uploadHead = 0
            }
            if pendingUploads.contains(request) { return request }
        }
        return nil
    }

    /// Puts back the request just dequeued (the rate limit said "not yet").
    func requeueUpload(_ request: BlockRequest) {
        if uploadHead > 0, uploadQueue[uploadHead - 1] == request {
            uploadHead -= 1
        } else {
            uploadQueue.insert(request, at: uploadHead)
        }
    }

    /// Whether requests wait in the queue (some may have been cancelled).
    var hasQueuedUploads: Bool { uploadHead < uploadQueue.count }

    /// Choking a peer discards its requests (BEP 3).
    func discardUploads() {
        pendingUploads = []
        uploadQueue = []
        uploadHead = 0
    }

    /// Counts a message that carried nothing new; true when the peer has
    /// sent so many that it is flooding (50 a second are forgiven).
    func noteRedundant(now: Double, limit: Double) -> Bool {
        redundantScore = max(0, redundantScore - (now - redundantUpdated) * 50) + 1
        redundantUpdated = now
        return redundantScore > limit
    }
}
