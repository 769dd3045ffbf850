import Logging
import Metainfo
import NIOCore
import NIOPosix
import PeerWire
import Synchronization
import TrackerKit

/// One torrent being downloaded or seeded: its peers, the picker, the
/// storage. All state lives on one event loop (`loop`); connection handlers
/// on other loops hop here. Disk I/O and hashing run on the thread pool and
/// come back to the loop with their results.
public final class TorrentSession: @unchecked Sendable {
    public let metainfo: Metainfo
    public let geometry: TorrentGeometry
    public let storage: TorrentStorage
    public let peerID: PeerID
    public let loop: any EventLoop
    let configuration: SessionConfiguration
    let logger: Logger
    let threadPool: NIOThreadPool
    let clock: @Sendable () -> Double

    // Loop-confined state.
    private var picker: PiecePicker
    private var peers: [PiecePicker.PeerKey: Peer] = [:]
    private var keys: [ObjectIdentifier: PiecePicker.PeerKey] = [:]
    private var nextKey = 1
    private var candidates: [PeerEndpoint: Double] = [:]  // endpoint → earliest next attempt
    private var connecting: Set<PeerEndpoint> = []
    private var banned: Set<BanKey> = []
    private var strikes: [BanKey: Int] = [:]
    private var history: [PeerStatistics] = []
    private var pendingWrites: [Int: Int] = [:]
    private var pendingWriteBytes = 0
    private var completeAwaitingWrites: Set<Int> = []
    private var downloaded: Int64 = 0
    private var uploaded: Int64 = 0
    private var wasted: Int64 = 0
    private var failedPieces = 0
    private var downRate = RateMeter()
    private var upRate = RateMeter()
    private var random = SystemRandomNumberGenerator()
    private var phase: Phase = .idle
    private var timer: RepeatedTask?
    private var tick = 0
    private var connector: PeerConnector?
    private let snapshotState = Mutex(SessionSnapshot())
    private var completionHandlers: [@Sendable () -> Void] = []

    enum Phase { case idle, downloading, finishing, seeding, stopped }

    /// What a ban applies to: the address on a network (a bad peer may come
    /// back from another port), the address and port on loopback, where
    /// every local peer shares 127.0.0.1.
    struct BanKey: Hashable {
        let ip: IPAddress
        let port: UInt16?

        init(_ endpoint: PeerEndpoint) {
            ip = endpoint.ip
            port = endpoint.ip.isLoopback ? endpoint.port : nil
        }
    }

    public init(
        metainfo: Metainfo, storage: TorrentStorage, peerID: PeerID, configuration: SessionConfiguration = SessionConfiguration(),
        loop: any EventLoop, threadPool: NIOThreadPool = .singleton, logger: Logger = Logger(label: "microtorr.session"),
        clock: @escaping @Sendable () -> Double = TrackerService.monotonicSeconds
    ) {
        self.metainfo = metainfo
        self.geometry = metainfo.info.geometry
        self.storage = storage
        self.peerID = peerID
        self.configuration = configuration
        self.loop = loop
        self.threadPool = threadPool
        var logger = logger
        logger[metadataKey: "torrent"] = .string(metainfo.info.name)
        logger[metadataKey: "info_hash"] = .string(metainfo.infoHash.hex)
        self.logger = logger
        self.clock = clock
        self.picker = PiecePicker(geometry: metainfo.info.geometry)
    }

    // MARK: Public API (thread-safe)

    /// Starts with the pieces already verified on disk.
    public func start(have: Bitfield, connector: PeerConnector) {
        loop.execute { [self] in
            picker = PiecePicker(geometry: geometry, have: have)
            self.connector = connector
            phase = have.isComplete ? .seeding : .downloading
            timer = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [self] _ in
                housekeeping()
            }
            updateSnapshot()
            logger.info(phase == .seeding ? "seeding" : "downloading", metadata: [
                "event": phase == .seeding ? "torrent.seeding" : "download.started",
                "pieces": .stringConvertible(have.setCount), "of": .stringConvertible(geometry.pieceCount),
            ])
            if phase == .seeding { fireCompletion() }
        }
    }

    /// Calls `handler` (on the loop) once every piece is verified and the
    /// data is flushed and under its final name; at once if it already is.
    public func whenComplete(_ handler: @escaping @Sendable () -> Void) {
        loop.execute { [self] in
            if phase == .seeding { handler() } else { completionHandlers.append(handler) }
        }
    }

    /// Peers to try (from a tracker or the command line).
    public func addPeers(_ endpoints: [PeerEndpoint]) {
        loop.execute { [self] in
            let now = clock()
            for endpoint in endpoints where candidates[endpoint] == nil && !banned.contains(BanKey(endpoint)) {
                candidates[endpoint] = now
            }
            connectMore()
        }
    }

    public var snapshot: SessionSnapshot { snapshotState.withLock { $0 } }

    /// Statistics per peer, connected ones included.
    public func statistics() -> EventLoopFuture<[PeerStatistics]> {
        loop.submit { [self] in history + peers.values.map { $0.statistics(now: clock()) } }
    }

    /// Closes every connection and stops timers.
    public func stop() -> EventLoopFuture<Void> {
        loop.flatSubmit { [self] in
            timer?.cancel()
            updateSnapshot()
            phase = .stopped
            let closing = peers.values.map { $0.channel.close() }
            return EventLoopFuture.andAllComplete(closing, on: loop)
        }
    }

    // MARK: Connections (called on the loop)

    /// A connection finished its handshake. Refuses ourselves, duplicates,
    /// banned addresses and connections beyond the cap.
    func attach(channel: any Channel, handshake: Handshake, endpoint: PeerEndpoint?, outbound: Bool) {
        loop.preconditionInEventLoop()
        let refusal: String?
        if phase == .stopped || phase == .idle {
            refusal = "not running"
        } else if handshake.peerID == peerID.bytes {
            refusal = "connected to ourselves"
        } else if peers.values.contains(where: { $0.remoteID == handshake.peerID }) {
            refusal = "duplicate peer"
        } else if let endpoint, banned.contains(BanKey(endpoint)) {
            refusal = "banned"
        } else if peers.count >= configuration.maxPeers {
            refusal = "too many peers"
        } else {
            refusal = nil
        }
        if let refusal {
            logger.debug("peer refused", metadata: ["event": "peer.refused", "peer": .string(endpoint?.description ?? "?"), "error": .string(refusal)])
            if refusal == "connected to ourselves", let endpoint { candidates[endpoint] = .infinity }
            channel.close(promise: nil)
            return
        }
        let key = nextKey
        nextKey += 1
        let peer = Peer(key: key, channel: channel, endpoint: endpoint, remoteID: handshake.peerID, outbound: outbound, now: clock(),
                        pieceCount: geometry.pieceCount)
        peers[key] = peer
        keys[ObjectIdentifier(channel)] = key
        logger.debug("peer connected", metadata: ["event": "peer.connected", "peer": .string(peer.name), "client": .string(peer.client)])
        if !picker.have.isEmpty { send(.bitfield(picker.have), to: peer) }
        // Until swarm policy (choking) lands, every peer may download from us.
        peer.amChoking = false
        send(.unchoke, to: peer)
        flush(peer)
    }

    func received(_ message: PeerMessage, from channel: any Channel) {
        loop.preconditionInEventLoop()
        guard let key = keys[ObjectIdentifier(channel)], let peer = peers[key] else { return }
        let now = clock()
        peer.lastReceived = now
        switch message {
        case .keepAlive:
            break
        case .choke:
            peer.peerChoking = true
            for request in peer.inFlight.keys { picker.release(request, of: key) }
            peer.inFlight = [:]
        case .unchoke:
            peer.peerChoking = false
            fill(peer)
        case .interested:
            peer.peerInterested = true
        case .notInterested:
            peer.peerInterested = false
        case .have(let piece):
            guard !peer.has[piece] else { break }
            peer.has[piece] = true
            picker.peerGot(piece: piece)
            updateInterest(peer)
            fill(peer)
        case .bitfield(let bitfield):
            peer.has = bitfield
            picker.peerJoined(has: bitfield)
            updateInterest(peer)
            fill(peer)
        case .request(let request):
            serve(request, to: peer)
        case .cancel(let request):
            peer.pendingUploads.remove(request)
        case .piece(let piece, let offset, let data):
            accept(BlockRequest(piece: piece, offset: offset, length: data.readableBytes), data: data, from: peer, now: now)
        }
        flush(peer)
    }

    func detach(_ channel: any Channel) {
        loop.preconditionInEventLoop()
        guard let key = keys.removeValue(forKey: ObjectIdentifier(channel)), let peer = peers.removeValue(forKey: key) else { return }
        picker.peerLeft(key, had: peer.has)
        history.append(peer.statistics(now: clock()))
        if let endpoint = peer.endpoint, peer.outbound { candidates[endpoint] = clock() + 2 }
        logger.debug("peer disconnected", metadata: ["event": "peer.disconnected", "peer": .string(peer.name)])
        fillAll()
    }

    func connectionFailed(_ endpoint: PeerEndpoint) {
        loop.preconditionInEventLoop()
        connecting.remove(endpoint)
        candidates[endpoint] = clock() + 5
    }

    func connectionEstablished(_ endpoint: PeerEndpoint) {
        loop.preconditionInEventLoop()
        connecting.remove(endpoint)
    }

    // MARK: Downloading

    private func fill(_ peer: Peer) {
        guard phase == .downloading, !peer.peerChoking, peer.amInterested,
              pendingWriteBytes < configuration.maxPendingWriteBytes else { return }
        let depth = pipelineDepth(peer)
        let wanted = depth - peer.inFlight.count
        guard wanted > 0 else { return }
        let now = clock()
        for request in picker.pickBlocks(for: peer.key, peerHas: peer.has, limit: wanted, using: &random) {
            peer.inFlight[request] = now
            send(.request(request), to: peer)
        }
    }

    /// The original's peer choice: most of the time the fastest peers pick
    /// first (they get the rarest pieces), sometimes a random order, so a
    /// peer faster than measured gets a chance to show it.
    private func fillAll() {
        var order = Array(peers.values)
        let now = clock()
        if Double.random(in: 0..<1, using: &random) < configuration.randomPeerShare {
            order.shuffle(using: &random)
        } else {
            order.sort { $0.down.rate(now: now) > $1.down.rate(now: now) }
        }
        for peer in order {
            fill(peer)
            flush(peer)
        }
    }

    /// Requests in flight sized to the peer's rate: enough for
    /// `pipelineSeconds` of data, within bounds.
    private func pipelineDepth(_ peer: Peer) -> Int {
        let rate = peer.down.rate(now: clock())
        let blocks = Int(rate * configuration.pipelineSeconds / Double(PiecePicker.blockLength))
        return min(configuration.maxPipeline, max(configuration.minPipeline, blocks))
    }

    private func updateInterest(_ peer: Peer) {
        let interested = phase == .downloading && picker.wants(from: peer.has)
        guard interested != peer.amInterested else { return }
        peer.amInterested = interested
        send(interested ? .interested : .notInterested, to: peer)
    }

    private func accept(_ request: BlockRequest, data: ByteBuffer, from peer: Peer, now: Double) {
        peer.down.add(request.length, now: now)
        downRate.add(request.length, now: now)
        guard peer.inFlight.removeValue(forKey: request) != nil else {
            // Late (after a choke, a timeout or an endgame cancel): not ours now.
            wasted += Int64(request.length)
            return
        }
        switch picker.received(request, from: peer.key) {
        case .unrequested:
            wasted += Int64(request.length)
        case .accepted(let cancel, let complete):
            downloaded += Int64(request.length)
            peer.downloaded += Int64(request.length)
            for key in cancel {
                guard let other = peers[key], other.inFlight.removeValue(forKey: request) != nil else { continue }
                send(.cancel(request), to: other)
                flush(other)
            }
            if complete { completeAwaitingWrites.insert(request.piece) }
            write(request, data: data)
        }
        fill(peer)
    }

    private func write(_ request: BlockRequest, data: ByteBuffer) {
        pendingWrites[request.piece, default: 0] += 1
        pendingWriteBytes += request.length
        let offset = Int64(request.piece) * Int64(geometry.pieceLength) + Int64(request.offset)
        let storage = self.storage
        threadPool.runIfActive(eventLoop: loop) { () throws -> Void in
            try data.withUnsafeReadableBytes { bytes in
                do throws(TorrentStorage.StorageError) {
                    try storage.write(bytes, at: offset)
                } catch {
                    throw error
                }
            }
        }.whenComplete { [self] result in
            pendingWrites[request.piece, default: 1] -= 1
            let wasThrottled = pendingWriteBytes >= configuration.maxPendingWriteBytes
            pendingWriteBytes -= request.length
            if wasThrottled, pendingWriteBytes < configuration.maxPendingWriteBytes { fillAll() }
            if case .failure(let error) = result {
                logger.error("write failed", metadata: ["event": "storage.write_failed", "error": .string("\(error)")])
                snapshotState.withLock { $0.error = "\(error)" }
                // The piece cannot be trusted: fetch it again.
                completeAwaitingWrites.remove(request.piece)
                picker.pieceFailed(request.piece)
                return
            }
            if pendingWrites[request.piece] == 0 {
                pendingWrites[request.piece] = nil
                if completeAwaitingWrites.remove(request.piece) != nil { verify(request.piece) }
            }
        }
    }

    private func verify(_ piece: Int) {
        let storage = self.storage
        threadPool.runIfActive(eventLoop: loop) { storage.pieceMatches(piece) }.whenComplete { [self] result in
            guard phase != .stopped else { return }
            if case .success(true) = result {
                picker.pieceVerified(piece)
                for peer in peers.values {
                    if !peer.has[piece] { send(.have(piece: piece), to: peer) }
                    updateInterest(peer)
                    flush(peer)
                }
                if picker.isComplete { finish() }
            } else {
                failedPieces += 1
                let blamed = picker.pieceFailed(piece)
                logger.warning("piece failed its hash check, fetching it again", metadata: [
                    "event": "piece.failed", "piece": .stringConvertible(piece),
                    "peer": .string(blamed.compactMap { peers[$0]?.name }.joined(separator: ",")),
                ])
                // Only a failure with a single sender is proof; a shared one
                // makes the picker fetch the piece again from one peer.
                if blamed.count == 1, let key = blamed.first { punish(key) }
                fillAll()
            }
            updateSnapshot()
        }
    }

    /// A peer that alone sent two pieces that failed is disconnected and
    /// banned until restart.
    private func punish(_ key: PiecePicker.PeerKey) {
        guard let peer = peers[key], let endpoint = peer.endpoint, !banned.contains(BanKey(endpoint)) else { return }
        let ban = BanKey(endpoint)
        strikes[ban, default: 0] += 1
        if strikes[ban, default: 0] >= 2 {
            banned.insert(ban)
            logger.warning("peer banned for bad data", metadata: ["event": "peer.banned", "peer": .string(peer.name)])
            // Every connection the ban covers goes, not just this one.
            for other in peers.values where other.endpoint.map(BanKey.init) == ban {
                other.channel.close(promise: nil)
            }
        }
    }

    private func finish() {
        guard phase == .downloading else { return }
        phase = .finishing
        let storage = self.storage
        threadPool.runIfActive(eventLoop: loop) { () throws -> Void in
            do throws(TorrentStorage.StorageError) {
                try storage.finish()
            } catch {
                throw error
            }
        }.whenComplete { [self] result in
            switch result {
            case .success:
                phase = .seeding
                logger.info("download complete", metadata: [
                    "event": "download.completed", "bytes": .stringConvertible(geometry.totalLength),
                    "path": .string(storage.finalPath),
                ])
                for peer in peers.values {
                    updateInterest(peer)
                    flush(peer)
                    // Two seeders have nothing to trade.
                    if peer.has.isComplete { peer.channel.close(promise: nil) }
                }
                updateSnapshot()
                fireCompletion()
            case .failure(let error):
                phase = .downloading
                logger.error("cannot finish the download", metadata: ["event": "download.finish_failed", "error": .string("\(error)")])
                snapshotState.withLock { $0.error = "\(error)" }
            }
        }
    }

    private func fireCompletion() {
        let handlers = completionHandlers
        completionHandlers = []
        for handler in handlers { handler() }
    }

    // MARK: Uploading

    private func serve(_ request: BlockRequest, to peer: Peer) {
        guard !peer.amChoking, picker.have[request.piece], peer.pendingUploads.count < configuration.maxQueuedUploads else { return }
        guard peer.pendingUploads.insert(request).inserted else { return }
        let storage = self.storage
        let allocator = peer.channel.allocator
        // Read straight into the buffer that goes to the channel.
        threadPool.runIfActive(eventLoop: loop) { () throws -> ByteBuffer in
            var buffer = allocator.buffer(capacity: request.length)
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: request.length) { target in
                let region = UnsafeMutableRawBufferPointer(rebasing: target[0..<request.length])
                do throws(TorrentStorage.StorageError) {
                    try storage.read(into: region, at: Int64(request.piece) * Int64(storage.info.pieceLength) + Int64(request.offset))
                } catch {
                    throw error
                }
                return request.length
            }
            return buffer
        }.whenComplete { [self] result in
            // Still wanted (not cancelled, peer still here)?
            guard let current = peers[peer.key], current === peer, peer.pendingUploads.remove(request) != nil else { return }
            switch result {
            case .success(let data):
                let now = clock()
                peer.up.add(data.readableBytes, now: now)
                upRate.add(data.readableBytes, now: now)
                peer.uploaded += Int64(data.readableBytes)
                uploaded += Int64(data.readableBytes)
                send(.piece(piece: request.piece, offset: request.offset, data: data), to: peer)
                flush(peer)
            case .failure(let error):
                logger.error("read failed", metadata: ["event": "storage.read_failed", "error": .string("\(error)")])
            }
        }
    }

    // MARK: Housekeeping

    private func housekeeping() {
        tick += 1
        updateSnapshot()
        guard tick % 4 == 0 else { return }
        let now = clock()
        for peer in peers.values {
            // Unanswered requests go back to the picker (others get them).
            let stale = peer.inFlight.filter { now - $0.value > configuration.requestTimeout }.map(\.key)
            for request in stale {
                peer.inFlight[request] = nil
                picker.release(request, of: peer.key)
            }
            if now - peer.lastReceived > configuration.idleTimeout {
                logger.debug("peer idle, disconnecting", metadata: ["event": "peer.idle", "peer": .string(peer.name)])
                peer.channel.close(promise: nil)
                continue
            }
            if now - peer.lastSent > configuration.keepAliveInterval {
                send(.keepAlive, to: peer)
                flush(peer)
            }
        }
        connectMore()
        fillAll()
    }

    private func connectMore() {
        guard phase == .downloading || phase == .seeding, let connector else { return }
        let now = clock()
        let connectedEndpoints = Set(peers.values.compactMap(\.endpoint))
        var slots = configuration.maxPeers - peers.count - connecting.count
        for (endpoint, due) in candidates where slots > 0 && due <= now && !connecting.contains(endpoint)
            && !connectedEndpoints.contains(endpoint) && !banned.contains(BanKey(endpoint)) {
            connecting.insert(endpoint)
            candidates[endpoint] = now + 30
            slots -= 1
            connector.connect(to: endpoint, session: self)
        }
    }

    private func updateSnapshot() {
        let now = clock()
        let seeders = peers.values.filter { $0.has.isComplete }.count
        let snapshot = SessionSnapshot(
            downloaded: downloaded, uploaded: uploaded,
            left: picker.isComplete ? 0 : geometry.totalLength - Int64(picker.verifiedCount) * Int64(geometry.pieceLength),
            verifiedPieces: picker.verifiedCount, pieceCount: geometry.pieceCount,
            peers: peers.count, seeders: seeders, leechers: peers.count - seeders,
            downloadRate: downRate.rate(now: now), uploadRate: upRate.rate(now: now),
            isComplete: phase == .seeding, failedPieces: failedPieces, wasted: wasted,
            error: snapshotState.withLock { $0.error })
        snapshotState.withLock { $0 = snapshot }
    }

    private func send(_ message: PeerMessage, to peer: Peer) {
        peer.lastSent = clock()
        peer.channel.write(PeerWireFrame.message(message), promise: nil)
    }

    private func flush(_ peer: Peer) {
        peer.channel.flush()
    }
}
