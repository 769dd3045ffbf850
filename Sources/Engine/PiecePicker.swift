import Metainfo
import PeerWire

/// Decides which blocks to request from which peer. Plain data, no I/O:
/// the session feeds it bitfields, haves and arrivals, and asks it for work.
///
/// - Rarest first: a new piece is one the fewest connected peers have,
///   at random among equally rare ones (`RarityOrder.rarest`), except that
///   a peer's next piece is the one after its last when that one is as
///   rare: data then arrives in long runs, written in few large writes
///   (libtorrent's `piece_extent_affinity` serves the same end), which
///   matters most when pieces are small.
/// - Started pieces are finished first, so data becomes verifiable early
///   and partial pieces do not pile up.
/// - Endgame: once every missing block is requested, a block may also be
///   requested from other peers (up to `endgameCopies` at once); the first
///   copy wins and the others are cancelled.
public struct PiecePicker: Sendable {
    public static let blockLength = 16 << 10

    /// Identifies a connected peer within one session.
    public typealias PeerKey = Int

    enum BlockState: Sendable, Equatable {
        case missing
        case requested([PeerKey])
        case received
    }

    /// A started piece. Its counts follow its blocks through `set`, so
    /// whether it has a block nobody was asked for is known without a scan.
    struct PartialPiece: Sendable {
        private(set) var blocks: [BlockState]
        private(set) var receivedCount: Int
        private(set) var missingCount: Int
        /// Peers that delivered blocks of this piece (blame for a bad hash).
        var contributors: Set<PeerKey> = []

        init(filledWith state: BlockState, count: Int) {
            blocks = [BlockState](repeating: state, count: count)
            receivedCount = state == .received ? count : 0
            missingCount = state == .missing ? count : 0
        }

        mutating func set(_ index: Int, to state: BlockState) {
            if blocks[index] == .missing { missingCount -= 1 }
            if blocks[index] == .received { receivedCount -= 1 }
            if state == .missing { missingCount += 1 }
            if state == .received { receivedCount += 1 }
            blocks[index] = state
        }

        var isComplete: Bool { receivedCount == blocks.count }
        var isUntouched: Bool { missingCount == blocks.count }
    }

    public let geometry: TorrentGeometry
    public var endgameCopies = 3
    public private(set) var have: Bitfield
    private(set) var availability: [Int]
    private(set) var partial: [Int: PartialPiece] = [:]
    /// Pieces neither had, started nor being verified, by rarity.
    private(set) var fresh: RarityOrder
    /// Started pieces with a block nobody was asked for: step 1 of
    /// `pickBlocks` looks at these, not at every started piece. Kept by
    /// `store`/`forget` alone.
    private(set) var unrequested: Set<Int> = []
    /// Pieces whose blocks are all in, waiting for the hash check.
    private(set) var verifying: Set<Int> = []
    /// Who sent the blocks of pieces under verification, for blame.
    private var lastContributors: [Int: Set<PeerKey>] = [:]
    /// Peers whose data for a piece failed its hash: the piece is fetched
    /// from someone else while anyone else has it.
    private var avoid: [Int: Set<PeerKey>] = [:]
    /// A piece that failed once is fetched again from one peer only, so a
    /// second failure has exactly one sender to blame.
    private var exclusive: [Int: PeerKey] = [:]
    /// The piece each peer started last, for the one after it.
    private var lastStarted: [PeerKey: Int] = [:]

    /// With `seed`, the same calls give the same picks (tests; the picks'
    /// own generator is passed to them).
    public init(geometry: TorrentGeometry, have: Bitfield? = nil, seed: UInt64? = nil) {
        self.geometry = geometry
        self.have = have ?? Bitfield(count: geometry.pieceCount)
        availability = [Int](repeating: 0, count: geometry.pieceCount)
        fresh = RarityOrder(pieceCount: geometry.pieceCount, seed: seed)
        for index in 0..<geometry.pieceCount where !self.have[index] { fresh.insert(index, availability: 0) }
    }

    public var isComplete: Bool { have.isComplete }

    public func blockCount(ofPiece index: Int) -> Int {
        (geometry.length(ofPiece: index) + Self.blockLength - 1) / Self.blockLength
    }

    public func block(_ index: Int, ofPiece piece: Int) -> BlockRequest {
        let offset = index * Self.blockLength
        return BlockRequest(piece: piece, offset: offset, length: min(Self.blockLength, geometry.length(ofPiece: piece) - offset))
    }

    // MARK: Availability

    /// A peer's pieces are `new` instead of `old`: a bitfield after `have`s
    /// (or a second one), which clients send despite BEP 3. Its requests
    /// stay as they are.
    public mutating func peerChanged(had old: Bitfield, has new: Bitfield) {
        for index in 0..<geometry.pieceCount where old[index] != new[index] {
            if new[index] { peerGot(piece: index) } else { peerLost(piece: index) }
        }
    }

    public mutating func peerGot(piece index: Int) {
        fresh.increment(index, from: availability[index])
        availability[index] += 1
    }

    private mutating func peerLost(piece index: Int) {
        // Never below zero (the session counts each peer's piece once): a
        // slip in that bookkeeping must not corrupt the rarity order.
        guard availability[index] > 0 else {
            assertionFailure("piece \(index) lost by a peer that was not counted")
            return
        }
        fresh.decrement(index, from: availability[index])
        availability[index] -= 1
    }

    /// Forgets a departed peer: its pieces no longer count and its
    /// outstanding requests become missing again.
    public mutating func peerLeft(_ peer: PeerKey, had bitfield: Bitfield) {
        for index in 0..<geometry.pieceCount where bitfield[index] { peerLost(piece: index) }
        _ = peerChoked(peer)  // its requests and claims go, as with a choke
        lastStarted[peer] = nil
    }

    /// A peer choked us: its requests are released (returned), and a piece
    /// it was fetching again alone after a failed check is open to the
    /// others — else that piece would wait for the peer's unchoke, however
    /// long it liked (no request in flight, so no time-out either).
    public mutating func peerChoked(_ peer: PeerKey) -> [BlockRequest] {
        for (piece, owner) in exclusive where owner == peer { exclusive[piece] = nil }
        return releaseRequests(of: peer)
    }

    // MARK: Picking

    /// Up to `limit` blocks to request from `peer`, which has `peerHas` and
    /// already has `inFlight` of our requests.
    public mutating func pickBlocks(
        for peer: PeerKey, peerHas: Bitfield, limit: Int, using random: inout some RandomNumberGenerator
    ) -> [BlockRequest] {
        var picked: [BlockRequest] = []
        guard limit > 0 else { return picked }
        // 1. Finish started pieces.
        for piece in unrequested.sorted() where peerHas[piece] && (exclusive[piece] ?? peer) == peer && !isAvoided(piece, by: peer) {
            takeMissing(in: piece, for: peer, into: &picked, limit: limit)
            if picked.count == limit { return picked }
        }
        // 2. Start the rarest pieces the peer has.
        while picked.count < limit, let piece = rarestNewPiece(in: peerHas, for: peer, using: &random) {
            fresh.remove(piece, availability: availability[piece])
            store(PartialPiece(filledWith: .missing, count: blockCount(ofPiece: piece)), of: piece)
            lastStarted[peer] = piece
            if avoid[piece] != nil { exclusive[piece] = peer }
            takeMissing(in: piece, for: peer, into: &picked, limit: limit)
        }
        // 3. Endgame: nothing left unrequested; duplicate others' requests.
        if picked.count < limit, isEndgame {
            for piece in partial.keys.sorted() where peerHas[piece] && exclusive[piece] == nil {
                guard var state = partial[piece] else { continue }
                for index in state.blocks.indices {
                    guard case .requested(let holders) = state.blocks[index], !holders.contains(peer),
                          holders.count < endgameCopies else { continue }
                    state.set(index, to: .requested(holders + [peer]))
                    picked.append(block(index, ofPiece: piece))
                    if picked.count == limit { break }
                }
                store(state, of: piece)
                if picked.count == limit { break }
            }
        }
        return picked
    }

    /// True when no block is missing anywhere: every piece is had, being
    /// verified, or fully requested.
    public var isEndgame: Bool { fresh.isEmpty && unrequested.isEmpty }

    private mutating func takeMissing(in piece: Int, for peer: PeerKey, into picked: inout [BlockRequest], limit: Int) {
        guard var state = partial[piece] else { return }
        for index in state.blocks.indices where state.blocks[index] == .missing {
            state.set(index, to: .requested([peer]))
            picked.append(block(index, ofPiece: piece))
            if picked.count == limit || state.missingCount == 0 { break }
        }
        store(state, of: piece)
    }

    /// Records a started piece's state; the one place `unrequested` grows.
    private mutating func store(_ state: PartialPiece, of piece: Int) {
        partial[piece] = state
        if state.missingCount > 0 { unrequested.insert(piece) } else { unrequested.remove(piece) }
    }

    /// The piece is no longer started (complete, or untouched again).
    private mutating func forget(_ piece: Int) {
        partial[piece] = nil
        unrequested.remove(piece)
    }

    /// Whether `peer` sent data of `piece` that failed its check while
    /// someone else has it: then it is not asked for that piece, neither a
    /// fresh start nor the rest of one (a claim released by a choke), so a
    /// second failure has one sender to blame.
    private func isAvoided(_ piece: Int, by peer: PeerKey) -> Bool {
        guard !avoid.isEmpty, let avoided = avoid[piece], avoided.contains(peer) else { return false }
        return availability[piece] > avoided.count
    }

    /// The rarest piece not yet started that the peer has, at random among
    /// equally rare ones; not one whose data from this peer failed its hash
    /// while someone else has it.
    private func rarestNewPiece(in peerHas: Bitfield, for currentPeer: PeerKey, using random: inout some RandomNumberGenerator) -> Int? {
        let eligible = { (index: Int) -> Bool in peerHas[index] && !isAvoided(index, by: currentPeer) }
        var next = lastStarted[currentPeer].map { $0 + 1 }
        if let piece = next, piece >= geometry.pieceCount || !fresh.contains(piece) || !eligible(piece) { next = nil }
        // Without a search when no piece anyone has is rarer.
        if let next, availability[next] <= fresh.lowestFetchableAvailability { return next }
        guard let rarest = fresh.rarest(using: &random, where: eligible) else { return nil }
        if let next, availability[next] == availability[rarest] { return next }
        return rarest
    }

    // MARK: Arrivals

    public enum Arrival: Equatable, Sendable {
        /// A block we did not ask this peer for (or already have).
        case unrequested
        /// Kept. `cancel` lists other peers asked for the same block (endgame);
        /// `pieceComplete` means every block is in and the hash can be checked.
        case accepted(cancel: [PeerKey], pieceComplete: Bool)
    }

    public mutating func received(_ request: BlockRequest, from peer: PeerKey) -> Arrival {
        guard request.offset % Self.blockLength == 0, var state = partial[request.piece] else { return .unrequested }
        let index = request.offset / Self.blockLength
        guard index < state.blocks.count, self.block(index, ofPiece: request.piece) == request,
              case .requested(let holders) = state.blocks[index], holders.contains(peer) else {
            return .unrequested
        }
        state.set(index, to: .received)
        state.contributors.insert(peer)
        let complete = state.isComplete
        if complete {
            forget(request.piece)
            verifying.insert(request.piece)
            lastContributors[request.piece] = state.contributors
        } else {
            store(state, of: request.piece)
        }
        return .accepted(cancel: holders.filter { $0 != peer }, pieceComplete: complete)
    }

    /// The hash matched: the piece is ours.
    public mutating func pieceVerified(_ index: Int) {
        verifying.remove(index)
        lastContributors[index] = nil
        avoid[index] = nil
        exclusive[index] = nil
        have[index] = true
    }

    /// The hash did not match: the piece is fetched again from scratch.
    /// Returns the peers that sent its blocks.
    @discardableResult
    public mutating func pieceFailed(_ index: Int) -> Set<PeerKey> {
        verifying.remove(index)
        let blamed = lastContributors.removeValue(forKey: index) ?? []
        avoid[index, default: []].formUnion(blamed)
        exclusive[index] = nil
        fresh.insert(index, availability: availability[index])
        return blamed
    }

    /// Whether a piece has all its blocks and waits for writes or its hash.
    public func isVerifying(_ index: Int) -> Bool { verifying.contains(index) }

    /// A received block was not stored (the disk refused it): it is missing
    /// again, and nobody is blamed — the sender did nothing wrong.
    public mutating func blockLost(_ request: BlockRequest) {
        let index = request.offset / Self.blockLength
        if verifying.remove(request.piece) != nil {
            var state = PartialPiece(filledWith: .received, count: blockCount(ofPiece: request.piece))
            state.contributors = lastContributors.removeValue(forKey: request.piece) ?? []
            store(state, of: request.piece)
        }
        guard var state = partial[request.piece], index < state.blocks.count, state.blocks[index] == .received else { return }
        state.set(index, to: .missing)
        store(state, of: request.piece)
    }

    /// Whether `peer` has something we want (for `interested`).
    public func wants(from peerHas: Bitfield) -> Bool {
        for (index, byte) in peerHas.bytes.enumerated() where byte & ~have.bytes[index] != 0 { return true }
        return false
    }

    /// Makes `peer`'s outstanding requests missing again (it choked us,
    /// timed out or left); returns them.
    @discardableResult
    public mutating func releaseRequests(of peer: PeerKey) -> [BlockRequest] {
        var released: [BlockRequest] = []
        for piece in Array(partial.keys) {
            guard var state = partial[piece] else { continue }
            for index in state.blocks.indices {
                guard case .requested(let holders) = state.blocks[index], holders.contains(peer) else { continue }
                let rest = holders.filter { $0 != peer }
                state.set(index, to: rest.isEmpty ? .missing : .requested(rest))
                released.append(block(index, ofPiece: piece))
            }
            if state.isUntouched {
                // Nothing of it came: it is a fresh piece again (and may
                // be picked by rarity, from anyone).
                forget(piece)
                fresh.insert(piece, availability: availability[piece])
            } else {
                store(state, of: piece)
            }
        }
        return released
    }

    /// Releases one request (timed out or cancelled).
    public mutating func release(_ request: BlockRequest, of peer: PeerKey) {
        let index = request.offset / Self.blockLength
        guard var state = partial[request.piece], index < state.blocks.count,
              case .requested(let holders) = state.blocks[index], holders.contains(peer) else { return }
        let rest = holders.filter { $0 != peer }
        state.set(index, to: rest.isEmpty ? .missing : .requested(rest))
        store(state, of: request.piece)
    }
}
