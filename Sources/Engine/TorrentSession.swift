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
    /// Read and changed on the loop only (`updatePolicy`).
    private(set) var configuration: SessionConfiguration
    let logger: Logger
    let threadPool: NIOThreadPool
    let clock: @Sendable () -> Double

    // Loop-confined state.
    private var picker: PiecePicker
    private var peers: [PiecePicker.PeerKey: Peer] = [:]
    private var keys: [ObjectIdentifier: PiecePicker.PeerKey] = [:]
    private var nextKey = 1
    private var dials: DialSchedule
    private var banned: Set<BanKey> = []
    private var strikes: [BanKey: Int] = [:]
    private var history: [PeerStatistics] = []
    private var pendingWrites: [Int: Int] = [:]
    private var pendingWriteBytes = 0
    /// Blocks not yet handed to the disk (received while a batch is being
    /// written, or held back for a larger write), and whether one is.
    private var writeBacklog = BlockWriteBatch()
    private var writingBatch = false
    /// Held-back blocks: none, waiting at most `writeBatchDelay`, or waited
    /// enough (the next batch takes the whole backlog).
    private enum HeldBack { case none, waiting(Scheduled<Void>), overdue }
    private var heldBack = HeldBack.none
    /// Pieces hashed as their blocks are written; lent to the hashing task
    /// of each batch (nil meanwhile).
    private var digests: PieceDigests? = PieceDigests()
    /// Pieces to forget once the digests come back.
    private var digestsToForget: [Int] = []
    private var downloaded: Int64 = 0
    private var wasted: Int64 = 0
    private var failedPieces = 0
    private var downRate = RateMeter()
    private var upRate = RateMeter()
    private var random = FastRandom()
    private var phase: Phase = .idle
    private var tick = 0
    private var connector: PeerConnector?
    private let snapshotState = Mutex(SessionSnapshot())
    private var completionHandlers: [@Sendable () -> Void] = []
    private var choker = Choker()
    /// Peers with queued uploads, served one block each in turn.
    private var uploadTurns: [PiecePicker.PeerKey] = []
    private var uploadWakeup: Scheduled<Void>?
    private var downloadWakeup: Scheduled<Void>?
    /// Until the swarm holds enough seeders and leechers, nothing is requested.
    private var waitingForSwarm = true
    private var trackerSeeders = 0
    private var trackerLeechers = 0
    private var lastWaitReport: (seeders: Int, leechers: Int)?
    /// Super-seeding: a random order to reveal pieces in, how far it got,
    /// and how often each piece was revealed.
    private var revealOrder: [Int] = []
    private var revealCursor = 0
    private var revealCount: [Int] = []
    private var resumeDirty = false
    /// The finish under way (rename, record removed), for a stop to wait
    /// for; after a failed finish, the retry and its delay.
    private var finishing: EventLoopFuture<Void>?
    private var finishRetry: Scheduled<Void>?
    private var finishFailures = 0
    /// Finish retries: 5 s, doubling, up to 5 min.
    private static let finishBackoff = BackoffSchedule(initial: .seconds(5), maximum: .seconds(300))
    /// Pieces being checked from disk (a stop waits for them before its
    /// final resume save, or they would be fetched again).
    private var checksFromDisk = 0
    /// The last resume save scheduled: saves run one after another.
    private var resumeSave: EventLoopFuture<Void>?
    private var lastResumeSave = 0.0
    private var storagePause = StoragePause()
    /// What `/status` shows as this torrent's error (published with each
    /// snapshot, so the pause flag and its reason change together).
    private var shownError: String?

    /// This torrent's own limits (the process-wide ones are passed in).
    public let uploadLimit = BandwidthLimit()
    public let downloadLimit = BandwidthLimit()
    private let uploadLimits: [BandwidthLimit]
    private let downloadLimits: [BandwidthLimit]

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
        clock: @escaping @Sendable () -> Double = MonotonicClock.seconds,
        globalUploadLimit: BandwidthLimit? = nil, globalDownloadLimit: BandwidthLimit? = nil
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
        self.dials = DialSchedule(delays: .init(
            fruitful: configuration.redialDelay,
            fruitless: BackoffSchedule(initial: .seconds(configuration.fruitlessRedialDelay), maximum: .seconds(configuration.maxRedialDelay))))
        self.uploadLimits = [uploadLimit] + [globalUploadLimit].compactMap { $0 }
        self.downloadLimits = [downloadLimit] + [globalDownloadLimit].compactMap { $0 }
    }

    // MARK: Public API (thread-safe)

    /// Starts with the pieces already verified on disk.
    public func start(have: Bitfield, connector: PeerConnector) {
        // Right now, not on the loop: a tracker announce may read it next,
        // and a leecher must not announce `left=0` (it would be told only
        // of leechers, as a seeder is).
        // Every piece verified but still under the download name (a stop or
        // crash between the last check and the rename): finished first, and
        // not complete until then.
        let unfinished = have.isComplete && storage.location.isDownload && !storage.isFinished
        snapshotState.withLock { snapshot in
            snapshot.left = bytesLeft(have: have)
            snapshot.pieceCount = geometry.pieceCount
            snapshot.verifiedPieces = have.setCount
            snapshot.isComplete = have.isComplete && !unfinished
        }
        loop.execute { [self] in
            picker = PiecePicker(geometry: geometry, have: have)
            self.connector = connector
            phase = have.isComplete && !unfinished ? .seeding : .downloading
            revealCount = Array(repeating: 0, count: geometry.pieceCount)
            revealOrder = Array(0..<geometry.pieceCount).shuffled(using: &random)
            waitingForSwarm = !have.isComplete && (configuration.waitSeeders > 0 || configuration.waitLeechers > 0)
            HousekeepingTicker.on(loop).add(self)
            updateSnapshot()
            logger.info(phase == .seeding ? "seeding" : "downloading", metadata: [
                "event": phase == .seeding ? "torrent.seeding" : "download.started",
                "pieces": .stringConvertible(have.setCount), "of": .stringConvertible(geometry.pieceCount),
            ])
            if phase == .seeding { fireCompletion() }
            if unfinished { finish() }
            checkSwarmThresholds()
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
            for endpoint in endpoints where !banned.contains(BanKey(endpoint)) { dials.learn(endpoint, now: now) }
            connectMore()
        }
    }

    /// Swarm counts from a tracker reply (`complete`, `incomplete`, which
    /// include us), for the wait thresholds.
    public func trackerReported(complete: Int?, incomplete: Int?) {
        loop.execute { [self] in
            if let complete { trackerSeeders = complete }
            if let incomplete { trackerLeechers = incomplete }
            checkSwarmThresholds()
        }
    }

    /// Changes this torrent's limits while running (bytes per second, 0 =
    /// unlimited). The process-wide limits change through their own object.
    public func setLimits(uploadBytesPerSecond: Double, downloadBytesPerSecond: Double) {
        uploadLimit.setRate(bytesPerSecond: uploadBytesPerSecond)
        downloadLimit.setRate(bytesPerSecond: downloadBytesPerSecond)
        limitsChanged()
    }

    /// Changes the swarm policy while running (the daemon's config reload):
    /// wait thresholds apply to a download still waiting, the peer cap to
    /// connections opened from now on.
    public func updatePolicy(waitSeeders: Int, waitLeechers: Int, maxPeers: Int) {
        loop.execute { [self] in
            configuration.waitSeeders = waitSeeders
            configuration.waitLeechers = waitLeechers
            configuration.maxPeers = maxPeers
            checkSwarmThresholds()
            connectMore()
        }
    }

    /// Call after changing a shared limit this session uses.
    public func limitsChanged() {
        loop.execute { [self] in
            if !isSuperSeeding { revealEverything() }
            // Waits computed at the old rates no longer apply.
            uploadWakeup?.cancel()
            uploadWakeup = nil
            downloadWakeup?.cancel()
            downloadWakeup = nil
            pumpUploads()
            fillAll()
        }
    }

    public var snapshot: SessionSnapshot { snapshotState.withLock { $0 } }

    /// Statistics per peer, connected ones included.
    public func statistics() -> EventLoopFuture<[PeerStatistics]> {
        loop.submit { [self] in history + peers.values.map { $0.statistics(now: clock()) } }
    }

    /// Closes every connection and stops timers; once the writes under way
    /// are done, records the verified pieces.
    public func stop() -> EventLoopFuture<Void> {
        loop.flatSubmit { [self] in
            HousekeepingTicker.on(loop).remove(self)
            uploadWakeup?.cancel()
            downloadWakeup?.cancel()
            if case .waiting(let timer) = heldBack { timer.cancel() }
            heldBack = .none
            finishRetry?.cancel()
            updateSnapshot()
            let wasDownloading = phase == .downloading
            let finishingNow = phase == .finishing ? finishing : nil
            phase = .stopped
            writeNextBatch()  // what was held back (now, or when the batch under way is done)
            let closing = peers.values.map { $0.channel.close() }
            return EventLoopFuture.andAllComplete(closing, on: loop).flatMap { [self] in
                // A finish that fails meanwhile leaves `.part` data: then its
                // pieces are recorded (`writeResume` skips finished data).
                if let finishingNow { return finishingNow.flatMap { [self] in saveResume(final: true) } }
                guard wasDownloading else { return loop.makeSucceededVoidFuture() }
                return whenDiskWorkDone(deadline: clock() + 10).flatMap { [self] in saveResume(final: true) }
            }
        }
    }

    /// When the writes and the checks from disk under way are done.
    private func whenDiskWorkDone(deadline: Double) -> EventLoopFuture<Void> {
        guard pendingWriteBytes > 0 || checksFromDisk > 0, clock() < deadline else { return loop.makeSucceededVoidFuture() }
        return loop.scheduleTask(in: .milliseconds(10)) {}.futureResult.flatMap { [self] in whenDiskWorkDone(deadline: deadline) }
    }

    // MARK: Connections (called on the loop)

    /// Why a connection is turned away after its handshake: logged, and
    /// for a dialled one it decides when to dial again.
    private enum Refusal: String {
        case notRunning = "not running"
        case ourselves = "connected to ourselves"
        case duplicate = "duplicate peer"
        case banned
        case tooManyPeers = "too many peers"
    }

    /// A connection finished its handshake. Refuses ourselves, duplicates,
    /// banned addresses and connections beyond the cap.
    func attach(channel: any Channel, handshake: Handshake, endpoint: PeerEndpoint?, outbound: Bool) {
        loop.preconditionInEventLoop()
        let refusal: Refusal?
        if phase == .stopped || phase == .idle {
            refusal = .notRunning
        } else if handshake.peerID == peerID.bytes {
            refusal = .ourselves
        } else if let existing = peers.values.first(where: { $0.remoteID == handshake.peerID }) {
            // Both sides dialled each other at once. Both must keep the same
            // connection, or each closes the one the other kept: the one
            // dialled by the side with the greater peer id survives.
            let keepOurs = !peerID.bytes.lexicographicallyPrecedes(handshake.peerID)
            if existing.outbound == keepOurs || existing.outbound == outbound {
                refusal = .duplicate
            } else {
                existing.channel.close(promise: nil)
                detach(existing.channel)
                refusal = nil
            }
        } else if let endpoint, banned.contains(BanKey(endpoint)) {
            refusal = .banned
        } else if peers.count >= configuration.maxPeers {
            refusal = .tooManyPeers
        } else {
            refusal = nil
        }
        if let refusal {
            logger.debug("peer refused", metadata: [
                "event": "peer.refused", "peer": .string(endpoint?.description ?? "?"), "error": .string(refusal.rawValue),
            ])
            if outbound, let endpoint {
                switch refusal {
                case .ourselves: dials.never(endpoint)
                case .tooManyPeers: dials.postponed(endpoint, now: clock())
                case .notRunning, .duplicate, .banned: dials.ended(endpoint, fruitful: false, now: clock())
                }
            }
            channel.close(promise: nil)
            return
        }
        if outbound, let endpoint { dials.accepted(endpoint) }
        let key = nextKey
        nextKey += 1
        let peer = Peer(key: key, channel: channel, endpoint: endpoint, remoteID: handshake.peerID, outbound: outbound, now: clock(),
                        pieceCount: geometry.pieceCount, supportsExtensions: handshake.supportsExtensions)
        peers[key] = peer
        keys[ObjectIdentifier(channel)] = key
        logger.debug("peer connected", metadata: ["event": "peer.connected", "peer": .string(peer.name), "client": .string(peer.client)])
        if isSuperSeeding {
            peer.revealed = Bitfield(count: geometry.pieceCount)
            reveal(to: peer)
        } else if !picker.have.isEmpty {
            send(.bitfield(picker.have), to: peer)
        }
        if peer.supportsExtensions { sendExtensionHandshake(to: peer) }
        flush(peer)
        checkSwarmThresholds()
    }

    func received(_ message: PeerMessage, from channel: any Channel) {
        loop.preconditionInEventLoop()
        guard let key = keys[ObjectIdentifier(channel)], let peer = peers[key] else { return }
        let now = clock()
        peer.lastReceived = now
        var redundant = false
        switch message {
        case .keepAlive:
            redundant = true
        case .choke:
            redundant = peer.peerChoking
            peer.peerChoking = true
            _ = picker.peerChoked(key)
            peer.released.formUnion(peer.inFlight.keys)
            peer.inFlight = [:]
        case .unchoke:
            redundant = !peer.peerChoking
            peer.peerChoking = false
            peer.lastBlock = now
            fill(peer)
        case .interested, .notInterested:
            let interested = message == .interested
            redundant = peer.peerInterested == interested
            peer.peerInterested = interested
            updateChoking()
        case .have(let piece):
            guard !peer.has[piece] else {
                redundant = true
                break
            }
            peer.has[piece] = true
            picker.peerGot(piece: piece)
            if peer.revealed != nil { reveal(to: peer) }
            updateInterest(peer)
            if peer.isSeed {
                if closeIfBothSeeds(peer) { return }
                checkSwarmThresholds()
            }
            fill(peer)
        case .bitfield(let bitfield):
            redundant = !peer.has.isEmpty
            picker.peerChanged(had: peer.has, has: bitfield)
            peer.has = bitfield
            if closeIfBothSeeds(peer) { return }
            if peer.revealed != nil { reveal(to: peer) }
            updateInterest(peer)
            checkSwarmThresholds()
            fill(peer)
        case .request(let request):
            // Not counted as redundant when refused: requests sent before
            // our choke arrived are normal, and a pipeline may hold hundreds.
            serve(request, to: peer)
        case .cancel(let request):
            peer.pendingUploads.remove(request)
        case .piece(let piece, let offset, let data):
            accept(BlockRequest(piece: piece, offset: offset, length: data.readableBytes), data: data, from: peer, now: now)
        case .extended(id: 0, let payload):
            guard let handshake = ExtensionHandshake(payload: payload) else {
                drop(peer, reason: "malformed extension handshake", event: "peer.malformed")
                return
            }
            peer.uploadOnly = handshake.uploadOnly
            peer.maxQueuedRequests = handshake.maxQueuedRequests
            peer.announcedClient = handshake.client
            if peer.uploadOnly {
                if closeIfBothSeeds(peer) { return }
                checkSwarmThresholds()
            }
        case .extended:
            redundant = true  // we offered no extension messages
        }
        if redundant, peer.noteRedundant(now: now, limit: configuration.maxRedundantBurst) {
            drop(peer, reason: "flooding with redundant messages", event: "peer.flooding")
            return
        }
        // Sent at the end of the read batch (`readComplete`).
        peer.unflushed = true
    }

    /// The connection's current read batch is handled: what the messages
    /// queued for the peer (requests, mostly) leaves now, in one write.
    func readComplete(_ channel: any Channel) {
        loop.preconditionInEventLoop()
        guard let key = keys[ObjectIdentifier(channel)], let peer = peers[key], peer.unflushed else { return }
        flush(peer)
    }

    /// BEP 10: tells the peer whether we only upload (BEP 21), so a
    /// super-seeding seeder still counts as a seeder.
    private func sendExtensionHandshake(to peer: Peer) {
        let handshake = ExtensionHandshake(uploadOnly: phase == .seeding, maxQueuedRequests: configuration.maxQueuedUploads)
        send(.extended(id: 0, payload: handshake.encoded()), to: peer)
    }

    /// Two seeds have nothing to trade: close, and do not dial it again.
    @discardableResult
    private func closeIfBothSeeds(_ peer: Peer) -> Bool {
        guard phase == .seeding, peer.isSeed else { return false }
        if peer.outbound, let endpoint = peer.endpoint { dials.never(endpoint) }
        peer.channel.close(promise: nil)
        return true
    }

    /// Disconnects a misbehaving peer, saying why.
    private func drop(_ peer: Peer, reason: String, event: String) {
        logger.warning("peer dropped: \(reason)", metadata: ["event": .string(event), "peer": .string(peer.name)])
        peer.channel.close(promise: nil)
    }

    func detach(_ channel: any Channel) {
        loop.preconditionInEventLoop()
        guard let key = keys.removeValue(forKey: ObjectIdentifier(channel)), let peer = peers.removeValue(forKey: key) else { return }
        picker.peerLeft(key, had: peer.has)
        let statistics = peer.statistics(now: clock())
        history.append(statistics)
        if let endpoint = peer.endpoint, peer.outbound {
            dials.ended(endpoint, fruitful: statistics.downloaded > 0 || statistics.uploaded > 0, now: clock())
        }
        // What this peer gave and took: who fed whom in a swarm, from the logs.
        logger.debug("peer disconnected", metadata: [
            "event": "peer.disconnected", "peer": .string(peer.name), "client": .string(statistics.client),
            "bytes": .stringConvertible(statistics.downloaded), "uploaded": .stringConvertible(statistics.uploaded),
        ])
        uploadTurns.removeAll { $0 == key }
        updateChoking()
        fillAll()
    }

    /// A dial that never reached an accepted handshake: refused, timed
    /// out, or closed before its handshake.
    func connectionFailed(_ endpoint: PeerEndpoint) {
        loop.preconditionInEventLoop()
        dials.ended(endpoint, fruitful: false, now: clock())
    }

    // MARK: Downloading

    private func fill(_ peer: Peer) {
        guard phase == .downloading, !waitingForSwarm, !peer.peerChoking, peer.amInterested,
              pendingWriteBytes < configuration.maxPendingWriteBytes, downloadWakeup == nil,
              !storagePause.isPaused(now: clock()) else { return }
        let depth = pipelineDepth(peer)
        let wanted = depth - peer.inFlight.count
        // Requests leave in batches (once a quarter of the pipeline, at most
        // 16, is free): a sender woken for every one or two requests spends
        // more of its CPU per byte sent. No stall: a refusal means requests
        // are in flight, and each ends in `accept`, a choke, a timeout or a
        // disconnect, all of which fill again.
        guard wanted >= min(16, max(1, depth / 4)) else { return }
        // Under a download limit, a request is sent only with the budget
        // for its block: the peer then sends at the limited rate.
        let limited = downloadLimits.contains { !$0.isUnlimited }
        var allowed = wanted
        if limited {
            allowed = 0
            while allowed < wanted {
                if let wait = BandwidthLimit.take(PiecePicker.blockLength, from: downloadLimits) {
                    scheduleDownloadWakeup(after: wait)
                    break
                }
                allowed += 1
            }
            guard allowed > 0 else { return }
        }
        let now = clock()
        let picked = picker.pickBlocks(for: peer.key, peerHas: peer.has, limit: allowed, using: &random)
        if limited, picked.count < allowed {
            BandwidthLimit.giveBack((allowed - picked.count) * PiecePicker.blockLength, to: downloadLimits)
        }
        for request in picked {
            peer.inFlight[request] = now
            send(.request(request), to: peer)
        }
    }

    private func scheduleDownloadWakeup(after seconds: Double) {
        guard downloadWakeup == nil else { return }
        downloadWakeup = loop.scheduleTask(in: TimeAmount(.seconds(seconds))) { [self] in
            downloadWakeup = nil
            fillAll()
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
        let depth = min(configuration.maxPipeline, max(configuration.minPipeline, blocks))
        // Never more than the peer says it queues (BEP 10 `reqq`): the rest
        // would be dropped silently and stall.
        return min(depth, peer.maxQueuedRequests ?? depth)
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
            wasted += Int64(request.length)
            // Late (after a choke, a timeout or an endgame cancel): not ours
            // now. Never asked for: a peer doing that is dropped.
            if peer.released.remove(request) == nil {
                peer.unrequestedBlocks += 1
                if peer.unrequestedBlocks > configuration.maxUnrequestedBlocks {
                    drop(peer, reason: "sent blocks it was never asked for", event: "peer.unrequested")
                }
            }
            return
        }
        peer.lastBlock = now
        switch picker.received(request, from: peer.key) {
        case .unrequested:
            wasted += Int64(request.length)
        case .accepted(let cancel, _):
            downloaded += Int64(request.length)
            peer.downloaded += Int64(request.length)
            for key in cancel {
                guard let other = peers[key], other.inFlight.removeValue(forKey: request) != nil else { continue }
                other.released.insert(request)
                send(.cancel(request), to: other)
                flush(other)
            }
            write(request, data: data)
        }
        fill(peer)
    }

    private func write(_ request: BlockRequest, data: ByteBuffer) {
        pendingWrites[request.piece, default: 0] += 1
        pendingWriteBytes += request.length
        writeBacklog.append(request, offset: geometry.offset(of: request), data: data)
        writeNextBatch()
    }

    /// Hands the received blocks to the disk, one batch at a time (the next
    /// gathers meanwhile), in few, large writes: a direct write costs the
    /// device a fixed time plus its bytes (`Benchmarks/transfer.sh` counts
    /// them: `disk_writes`). Blocks are held back while they would make a
    /// small write: until `writeBatchBytes` have gathered, and then a run of
    /// adjacent blocks still waits if it is short and its last block's piece
    /// is not all in (the rest of it, or a block that came late, will extend
    /// it). Held back `writeBatchDelay` at most (counted from when blocks
    /// were first held, plus a write under way), and never once the backlog
    /// reaches the pending-write cap or the session stops.
    private func writeNextBatch() {
        guard !writingBatch, !writeBacklog.isEmpty else { return }
        var takesAll = phase == .stopped
        if case .overdue = heldBack { takesAll = true }
        // (Nothing is being written: every pending byte is the backlog's.)
        let batch: BlockWriteBatch
        if takesAll || pendingWriteBytes >= configuration.maxPendingWriteBytes {
            batch = writeBacklog
            writeBacklog = BlockWriteBatch()
        } else if pendingWriteBytes >= configuration.writeBatchBytes {
            batch = writeBacklog.removeRunsWorthWriting(minimumBytes: configuration.writeBatchBytes) { last in
                picker.isVerifying(last.piece)
            }
        } else {
            batch = BlockWriteBatch()
        }
        if writeBacklog.isEmpty {
            if case .waiting(let timer) = heldBack { timer.cancel() }
            heldBack = .none
        } else if case .none = heldBack {
            heldBack = .waiting(loop.scheduleTask(in: TimeAmount(.seconds(configuration.writeBatchDelay))) { [self] in
                heldBack = .overdue
                writeNextBatch()
            })
        }
        guard !batch.isEmpty else { return }
        writingBatch = true
        let storage = self.storage
        let epoch = storagePause.epoch
        // Written and hashed side by side: a direct write mostly waits for
        // the device, which leaves the CPU to hashing.
        let writing = threadPool.runIfActive(eventLoop: loop) { batch.write(to: storage) }
        // Lent for the batch (nil here meanwhile: `verify` then checks
        // from disk, `checked` queues its forgetting).
        let lent = digests.take() ?? PieceDigests()
        let hashing = threadPool.runIfActive(eventLoop: loop) { () -> PieceDigests in
            var digests = lent
            // In stream order (the batch's): blocks read in parallel by a
            // seeder (ours too) come a little out of order, and each early
            // one would wait as a copy.
            for block in batch.blocks { digests.absorb(block.request, data: block.data) }
            return digests
        }
        writing.and(hashing).whenComplete { [self] result in
            writingBatch = false
            // (Lost with a failed task: every piece is then checked from disk.)
            var returned = (try? result.get().1) ?? PieceDigests()
            for piece in digestsToForget { returned.forget(piece: piece) }
            digestsToForget = []
            digests = returned
            let wasThrottled = pendingWriteBytes >= configuration.maxPendingWriteBytes
            for (index, block) in batch.blocks.enumerated() {
                let error: (any Error)?
                switch result {
                case .success(let (failures, _)): error = failures[index]
                case .failure(let failure): error = failure
                }
                written(block.request, error: error, epoch: epoch)
            }
            writeNextBatch()
            if wasThrottled, pendingWriteBytes < configuration.maxPendingWriteBytes { fillAll() }
            flushPending()
        }
    }

    /// One block's write is done (or failed).
    private func written(_ request: BlockRequest, error: (any Error)?, epoch: Int) {
        pendingWrites[request.piece, default: 1] -= 1
        pendingWriteBytes -= request.length
        if let error {
            // The block is not on disk: fetch it again (a disk error is
            // not the sender's fault, so no blame), once the disk takes
            // data again.
            picker.blockLost(request)
            digests?.abandon(piece: request.piece)
            writeFailed(error, epoch: epoch)
            return
        }
        if storagePause.writeSucceeded(epoch: epoch) {
            logger.info("disk takes data again; requesting resumed", metadata: ["event": "storage.recovered"])
            shownError = storagePause.permanentFailure
            updateSnapshot()
        }
        if pendingWrites[request.piece] == 0 {
            pendingWrites[request.piece] = nil
            // The last block's write of a complete piece: check it.
            if picker.isVerifying(request.piece) { verify(request.piece) }
        }
    }

    /// A full or failing disk pauses requests (with back-off) instead of
    /// fetching blocks only to drop them; `/status` shows why. A failure
    /// that waiting cannot cure (the path is wrong) also marks the torrent
    /// failed, for its owner to give up on it.
    private func writeFailed(_ error: any Error, epoch: Int) {
        let reason = "cannot write to disk: \(error)"
        let transient = (error as? TorrentStorage.StorageError)?.isTransient ?? false
        guard let seconds = storagePause.writeFailed(epoch: epoch, transient: transient, reason: reason, now: clock()) else {
            return
        }
        logger.error("cannot write to disk; requests paused", metadata: [
            "event": "storage.write_failed", "error": .string("\(error)"), "retry_in_s": .stringConvertible(seconds),
        ])
        shownError = storagePause.permanentFailure ?? reason
        updateSnapshot()
    }

    private func verify(_ piece: Int) {
        let storage = self.storage
        if let matches = digests?.matches(piece: piece, length: geometry.length(ofPiece: piece),
                                           expected: metainfo.info.pieceHash(at: piece)) {
            checked(piece, matches: matches)
            return
        }
        checksFromDisk += 1
        threadPool.runIfActive(eventLoop: loop) { storage.pieceMatches(piece) }.whenComplete { [self] result in
            checksFromDisk -= 1
            checked(piece, matches: (try? result.get()) ?? false)
            flushPending()
        }
    }

    /// Piece `piece` was checked, from its digest or from disk.
    private func checked(_ piece: Int, matches: Bool) {
        if digests != nil { digests?.forget(piece: piece) } else { digestsToForget.append(piece) }
        guard phase != .stopped else {
            // Completed by blocks held back until the stop: recorded by the
            // final resume save, which follows the writes (or fetched again).
            if matches { picker.pieceVerified(piece) }
            updateSnapshot()
            return
        }
        if matches {
            picker.pieceVerified(piece)
            resumeDirty = true
            // Every peer hears it, seeders too: a super-seeding seeder
            // learns from it which piece to reveal next.
            for peer in peers.values {
                send(.have(piece: piece), to: peer)
                updateInterest(peer)
                peer.unflushed = true  // (sent by `flushPending`)
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
        guard phase == .downloading, picker.isComplete else { return }
        phase = .finishing
        finishRetry = nil
        let storage = self.storage
        let threadPool = self.threadPool
        let loop = self.loop
        // After any resume save under way (it flushes the files finish closes).
        let finished = (resumeSave ?? loop.makeSucceededVoidFuture()).flatMap {
            threadPool.runIfActive(eventLoop: loop) { () throws -> Void in
                do throws(TorrentStorage.StorageError) {
                    try storage.finish()
                } catch {
                    throw error
                }
            }
        }
        // The record goes once the data is final, before anyone hears of
        // completion (`--exit-on-complete` exits then); a stop waits for all
        // of it.
        let outcome = finished.flatMap { [self] in removeResume() }
        finishing = outcome.recover { _ in }
        outcome.whenComplete { [self] result in
            // Stopped meanwhile: the data may be final; nothing else to do.
            guard phase != .stopped else { return }
            switch result {
            case .success:
                phase = .seeding
                shownError = nil  // a failed attempt's
                logger.info("download complete", metadata: [
                    "event": "download.completed", "bytes": .stringConvertible(geometry.totalLength),
                    "path": .string(storage.finalPath),
                ])
                for peer in peers.values {
                    updateInterest(peer)
                    if peer.supportsExtensions { sendExtensionHandshake(to: peer) }
                    flush(peer)
                    closeIfBothSeeds(peer)
                }
                updateSnapshot()
                fireCompletion()
            case .failure(let error):
                // Tried again with back-off: the cause may pass (the final
                // name freed, the disk back), and no piece is left to arrive
                // and try it.
                phase = .downloading
                finishFailures += 1
                let delay = Self.finishBackoff.delay(afterFailures: finishFailures)
                logger.error("cannot finish the download", metadata: [
                    "event": "download.finish_failed", "error": .string("\(error)"),
                    "retry_in_s": .stringConvertible(Self.finishBackoff.seconds(afterFailures: finishFailures)),
                ])
                finishRetry = loop.scheduleTask(in: TimeAmount(delay)) { [self] in finish() }
                shownError = "\(error)"
                updateSnapshot()
            }
        }
    }

    private func fireCompletion() {
        let handlers = completionHandlers
        completionHandlers = []
        for handler in handlers { handler() }
    }

    // MARK: Uploading

    /// Queues a peer's request; false if it carried nothing we act on
    /// (choked, a piece we lack, a full queue, a duplicate).
    @discardableResult
    private func serve(_ request: BlockRequest, to peer: Peer) -> Bool {
        guard !peer.amChoking, picker.have[request.piece], peer.pendingUploads.count < configuration.maxQueuedUploads,
              peer.enqueueUpload(request) else { return false }
        if !uploadTurns.contains(peer.key) { uploadTurns.append(peer.key) }
        pumpUploads()
        return true
    }

    /// Serves queued requests, one block per peer in turn, as fast as the
    /// upload limits allow; when they say "wait", comes back then.
    private func pumpUploads() {
        guard uploadWakeup == nil else { return }
        while !uploadTurns.isEmpty {
            let key = uploadTurns.removeFirst()
            guard let peer = peers[key] else { continue }
            // Memory stays flat: a peer that does not take what was sent
            // (socket buffer full) or has enough reads under way waits; it
            // rejoins the turns when a read completes or it drains.
            guard peer.channel.isWritable, peer.readsInFlight < configuration.maxReadsInFlight else { continue }
            guard let request = peer.dequeueUpload() else { continue }
            if let wait = BandwidthLimit.take(request.length, from: uploadLimits) {
                peer.requeueUpload(request)
                uploadTurns.insert(key, at: 0)
                uploadWakeup = loop.scheduleTask(in: TimeAmount(.seconds(wait))) { [self] in
                    uploadWakeup = nil
                    pumpUploads()
                }
                return
            }
            read(request, for: peer)
            if peer.hasQueuedUploads { uploadTurns.append(key) }
        }
    }

    /// A peer may be served again (a read completed, or its socket drained).
    private func resumeUploads(_ peer: Peer) {
        if peer.hasQueuedUploads, !uploadTurns.contains(peer.key) { uploadTurns.append(peer.key) }
        pumpUploads()
    }

    func writabilityChanged(_ channel: any Channel) {
        loop.preconditionInEventLoop()
        guard let key = keys[ObjectIdentifier(channel)], let peer = peers[key], channel.isWritable else { return }
        resumeUploads(peer)
    }

    private func read(_ request: BlockRequest, for peer: Peer) {
        let storage = self.storage
        let allocator = peer.channel.allocator
        let key = peer.key
        let offset = geometry.offset(of: request)
        peer.readsInFlight += 1
        // Read straight into the buffer that goes to the socket (PeerWireWriter
        // sends it after a separate header, uncopied).
        threadPool.runIfActive(eventLoop: loop) { () throws -> ByteBuffer in
            var buffer = allocator.buffer(capacity: request.length)
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: request.length) { target in
                let region = UnsafeMutableRawBufferPointer(rebasing: target[0..<request.length])
                do throws(TorrentStorage.StorageError) {
                    try storage.read(into: region, at: offset)
                } catch {
                    throw error
                }
                return request.length
            }
            return buffer
        }.whenComplete { [self] result in
            peers[key]?.readsInFlight -= 1
            defer { if let peer = peers[key] { resumeUploads(peer) } }
            // Still wanted (not cancelled, peer still here; keys are never reused)?
            guard let peer = peers[key], peer.pendingUploads.remove(request) != nil, case .success(let data) = result else {
                // Not sent: the bandwidth taken for it goes back.
                BandwidthLimit.giveBack(request.length, to: uploadLimits)
                if case .failure(let error) = result {
                    logger.error("read failed", metadata: ["event": "storage.read_failed", "error": .string("\(error)")])
                }
                return
            }
            let now = clock()
            peer.up.add(data.readableBytes, now: now)
            upRate.add(data.readableBytes, now: now)
            send(.piece(piece: request.piece, offset: request.offset, data: data), to: peer)
            flush(peer)
        }
    }

    // MARK: Choking

    /// Between evaluations: fills free slots, chokes nobody for rate.
    private func updateChoking() {
        apply(choker.update(chokeCandidates(), now: clock(), using: &random))
    }

    private func rechoke() {
        apply(choker.rechoke(chokeCandidates(), now: clock(), using: &random))
    }

    /// Ranked by what they give us while we leech, by what they take while
    /// we seed.
    private func chokeCandidates() -> [Choker.Candidate] {
        let now = clock()
        let seeding = phase == .seeding
        return peers.values.map { peer in
            Choker.Candidate(key: peer.key, isInterested: peer.peerInterested,
                             rate: seeding ? peer.up.rate(now: now) : peer.down.rate(now: now))
        }
    }

    private func apply(_ unchoked: Set<PiecePicker.PeerKey>) {
        for peer in peers.values {
            let choke = !unchoked.contains(peer.key)
            guard choke != peer.amChoking else { continue }
            peer.amChoking = choke
            if choke { peer.discardUploads() }
            send(choke ? .choke : .unchoke, to: peer)
            flush(peer)
        }
    }

    // MARK: Super-seeding

    /// Seeding under an upload limit: the seeder's bandwidth is what the
    /// swarm lacks, so each piece should leave it once.
    private var isSuperSeeding: Bool {
        phase == .seeding && configuration.superSeeding && uploadLimits.contains { !$0.isUnlimited }
    }

    /// Keeps a window of pieces revealed to `peer` that it does not have
    /// yet, choosing pieces revealed to nobody first, then the least
    /// revealed ones.
    private func reveal(to peer: Peer) {
        guard var revealed = peer.revealed else { return }
        let window = max(2, configuration.revealWindowBytes / geometry.pieceLength)
        var outstanding = 0
        for piece in 0..<geometry.pieceCount where revealed[piece] && !peer.has[piece] { outstanding += 1 }
        var chosen: [Int] = []
        while outstanding + chosen.count < window, revealCursor < revealOrder.count {
            let piece = revealOrder[revealCursor]
            revealCursor += 1
            if !peer.has[piece], !revealed[piece] { chosen.append(piece) }
        }
        if outstanding + chosen.count < window {
            let rest = (0..<geometry.pieceCount).filter { !peer.has[$0] && !revealed[$0] && !chosen.contains($0) }
                .shuffled(using: &random).sorted { revealCount[$0] < revealCount[$1] }
            chosen += rest.prefix(window - outstanding - chosen.count)
        }
        for piece in chosen {
            revealed[piece] = true
            revealCount[piece] += 1
            send(.have(piece: piece), to: peer)
        }
        peer.revealed = revealed
        if !chosen.isEmpty { flush(peer) }
    }

    /// Leaving super-seeding (the limit was lifted): every peer hears about
    /// every piece.
    private func revealEverything() {
        for peer in peers.values {
            guard let revealed = peer.revealed else { continue }
            for piece in 0..<geometry.pieceCount where !revealed[piece] && picker.have[piece] {
                send(.have(piece: piece), to: peer)
            }
            peer.revealed = nil
            flush(peer)
        }
    }

    // MARK: Wait thresholds

    /// The original's "wait for N seeders and M leechers": counted from the
    /// tracker's reply and from connected peers, whichever says more.
    private func checkSwarmThresholds() {
        guard waitingForSwarm else { return }
        guard phase == .downloading else {
            waitingForSwarm = false
            return
        }
        let connectedSeeders = peers.values.filter(\.isSeed).count
        let seeders = max(trackerSeeders, connectedSeeders)
        // The tracker counts us among its leechers.
        let leechers = max(max(0, trackerLeechers - 1), peers.count - connectedSeeders)
        if seeders >= configuration.waitSeeders, leechers >= configuration.waitLeechers {
            waitingForSwarm = false
            logger.info("swarm ready, requesting pieces", metadata: [
                "event": "swarm.ready", "seeders": .stringConvertible(seeders), "leechers": .stringConvertible(leechers),
            ])
            fillAll()
        } else if lastWaitReport.map({ $0 != (seeders, leechers) }) ?? true {
            lastWaitReport = (seeders, leechers)
            logger.info("waiting for the swarm", metadata: [
                "event": "swarm.waiting",
                "seeders": .string("\(seeders)/\(configuration.waitSeeders)"),
                "leechers": .string("\(leechers)/\(configuration.waitLeechers)"),
            ])
        }
    }

    // MARK: Resume state

    /// Records the verified pieces: data flushed first, then the state
    /// written crash-safely, so it never claims a piece not on disk. Saves
    /// run one after another; each takes the pieces as they are when it
    /// starts. `final` (at stop) saves even if no piece came since the
    /// last save: later writes changed the files' times since then.
    @discardableResult
    private func saveResume(final: Bool = false) -> EventLoopFuture<Void> {
        let previous = resumeSave ?? loop.makeSucceededVoidFuture()
        guard configuration.resumePath != nil, resumeDirty || final else { return previous }
        let next = previous.flatMap { [self] in writeResume() }
        resumeSave = next
        return next
    }

    private func writeResume() -> EventLoopFuture<Void> {
        // Never beside `finish()`, which closes the files being flushed.
        guard let path = configuration.resumePath, phase == .downloading || phase == .stopped, !storage.isFinished else {
            return loop.makeSucceededVoidFuture()
        }
        resumeDirty = false
        lastResumeSave = clock()
        let have = picker.have
        let storage = self.storage
        let infoHash = metainfo.infoHash
        return threadPool.runIfActive(eventLoop: loop) { () throws -> Void in
            try storage.flush()
            try ResumeState(infoHash: infoHash, have: have, files: storage.fileStamps()).save(toPath: path)
        }.flatMapErrorThrowing { [self] error in
            resumeDirty = true
            logger.warning("cannot save resume state", metadata: ["event": "resume.save_failed", "error": .string("\(error)")])
        }
    }

    private func removeResume() -> EventLoopFuture<Void> {
        guard let path = configuration.resumePath else { return loop.makeSucceededVoidFuture() }
        return threadPool.runIfActive(eventLoop: loop) { _ = unlink(path) }
    }

    // MARK: Housekeeping

    /// Every 250 ms (`HousekeepingTicker`), on the loop.
    func housekeeping() {
        tick += 1
        // An idle torrent (no peers, rates already down to zero) has nothing
        // new to show: thousands of idle seeds cost next to nothing.
        let idle = peers.isEmpty && snapshotState.withLock { shown in
            shown.peers == 0 && shown.downloadRate == 0 && shown.uploadRate == 0
                && shown.uploaded == upRate.total && shown.downloaded == downloaded
        }
        if !idle { updateSnapshot() }
        guard tick % 4 == 0 else { return }
        let now = clock()
        for peer in peers.values {
            // Unanswered requests go back to the picker (others get them).
            let stale = peer.inFlight.filter { now - $0.value > configuration.requestTimeout }.map(\.key)
            for request in stale {
                peer.inFlight[request] = nil
                picker.release(request, of: peer.key)
            }
            for request in stale { peer.released.insert(request) }
            if !stale.isEmpty, now - peer.lastBlock > configuration.requestTimeout {
                drop(peer, reason: "stalled: unchoked us but sends nothing", event: "peer.stalled")
                continue
            }
            if peer.released.count > 4 * configuration.maxPipeline { peer.released.removeAll() }
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
        if choker.isRechokeDue(now: now) { rechoke() }
        if phase == .downloading, resumeDirty, now - lastResumeSave >= configuration.resumeSaveInterval { saveResume() }
        connectMore()
        fillAll()
    }

    private func connectMore() {
        guard phase == .downloading || phase == .seeding, let connector else { return }
        let slots = configuration.maxPeers - peers.count - dials.dialling.count
        guard slots > 0 else { return }
        let connectedEndpoints = Set(peers.values.compactMap(\.endpoint))
        let due = dials.takeDue(now: clock(), limit: slots) {
            connectedEndpoints.contains($0) || banned.contains(BanKey($0))
        }
        for endpoint in due { connector.connect(to: endpoint, session: self) }
    }

    private func updateSnapshot() {
        let now = clock()
        let seeders = peers.values.filter(\.isSeed).count
        let snapshot = SessionSnapshot(
            downloaded: downloaded, uploaded: upRate.total,
            left: bytesLeft(have: picker.have),
            verifiedPieces: picker.have.setCount, pieceCount: geometry.pieceCount,
            peers: peers.count, seeders: seeders, leechers: peers.count - seeders,
            downloadRate: downRate.rate(now: now), uploadRate: upRate.rate(now: now),
            isComplete: phase == .seeding, failedPieces: failedPieces, wasted: wasted,
            isWaitingForSwarm: phase == .downloading && waitingForSwarm,
            isPausedForStorage: phase == .downloading && storagePause.isActive && storagePause.permanentFailure == nil,
            error: shownError)
        snapshotState.withLock { $0 = snapshot }
    }

    /// Bytes of the pieces not verified yet (the last piece may be short).
    private func bytesLeft(have: Bitfield) -> Int64 {
        var verified = Int64(have.setCount) * Int64(geometry.pieceLength)
        if geometry.pieceCount > 0, have[geometry.pieceCount - 1] {
            verified -= Int64(geometry.pieceLength - geometry.length(ofPiece: geometry.pieceCount - 1))
        }
        return geometry.totalLength - verified
    }

    private func send(_ message: PeerMessage, to peer: Peer) {
        peer.lastSent = clock()
        peer.channel.write(PeerWireFrame.message(message), promise: nil)
    }

    private func flush(_ peer: Peer) {
        peer.unflushed = false
        peer.channel.flush()
    }

    /// Sends what was queued for peers outside a read batch (the `have`s
    /// of the pieces one disk write completed), one write per peer rather
    /// than one per piece.
    private func flushPending() {
        for peer in peers.values where peer.unflushed { flush(peer) }
    }
}
