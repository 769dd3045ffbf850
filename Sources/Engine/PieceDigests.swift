import Crypto
import NIOCore
import Metainfo
import PeerWire

/// SHA-1 of pieces being downloaded, computed from the received blocks as
/// they are written, so a complete piece is checked without reading it back
/// from disk: that read copied every byte once more, and after a direct
/// write (`DirectFileWriter`) the data is not even in the page cache.
///
/// Blocks are hashed in order; one that comes early waits in memory, within
/// `maxHeldBytes` for all pieces. A piece whose digest cannot be completed
/// (a block lost to a write error, too much waiting) is *abandoned*: it is
/// then checked from disk as before. A value type: the session lends it to
/// one hashing task at a time and takes it back.
struct PieceDigests {
    enum Entry {
        case hashing(Digest)
        /// Checked from disk once complete; later blocks are ignored.
        case abandoned
    }

    struct Digest {
        var hasher = Insecure.SHA1()
        /// Bytes hashed from the piece's start.
        var hashed = 0
        /// Blocks received ahead of `hashed`, by offset in the piece.
        var early: [Int: ByteBuffer] = [:]
    }

    private(set) var entries: [Int: Entry] = [:]
    /// Bytes of early blocks held, over all pieces.
    private(set) var heldBytes = 0
    let maxHeldBytes: Int

    init(maxHeldBytes: Int = 4 << 20) {
        self.maxHeldBytes = maxHeldBytes
    }

    /// Adds block `request` (its `data`) to its piece's digest.
    mutating func absorb(_ request: BlockRequest, data: ByteBuffer) {
        var digest: Digest
        switch entries.removeValue(forKey: request.piece) {
        case .abandoned?:
            entries[request.piece] = .abandoned
            return
        case .hashing(let existing)?: digest = existing
        case nil: digest = Digest()
        }
        if request.offset > digest.hashed {
            // Early: wait for the blocks before it, if memory allows.
            guard digest.early[request.offset] == nil, heldBytes + data.readableBytes <= maxHeldBytes else {
                release(digest)
                entries[request.piece] = .abandoned
                return
            }
            // A copy: the block is a slice of a receive buffer several
            // times its size, which it would keep alive, uncounted.
            digest.early[request.offset] = ByteBuffer(bytes: data.readableBytesView)
            heldBytes += data.readableBytes
            entries[request.piece] = .hashing(digest)
            return
        }
        guard request.offset == digest.hashed else {
            // A block hashed already came again: which copy is on disk is
            // not known here.
            release(digest)
            entries[request.piece] = .abandoned
            return
        }
        digest.update(with: data)
        while let next = digest.early.removeValue(forKey: digest.hashed) {
            heldBytes -= next.readableBytes
            digest.update(with: next)
        }
        entries[request.piece] = .hashing(digest)
    }

    /// Whether piece `index`, `length` bytes long, matches `expected`; nil
    /// when its digest is not complete (check it from disk).
    func matches(piece index: Int, length: Int, expected: SHA1Hash) -> Bool? {
        guard case .hashing(let digest)? = entries[index], digest.hashed == length else { return nil }
        return Array(digest.hasher.finalize()) == expected.bytes
    }

    /// A block of piece `index` did not reach the disk: its digest no longer
    /// describes what is there.
    mutating func abandon(piece index: Int) {
        if case .hashing(let digest)? = entries[index] { release(digest) }
        entries[index] = .abandoned
    }

    /// Piece `index` was checked (or will be fetched anew): start over.
    mutating func forget(piece index: Int) {
        if case .hashing(let digest)? = entries.removeValue(forKey: index) { release(digest) }
    }

    private mutating func release(_ digest: Digest) {
        heldBytes -= digest.early.values.reduce(0) { $0 + $1.readableBytes }
    }
}

extension PieceDigests.Digest {
    fileprivate mutating func update(with data: ByteBuffer) {
        data.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        hashed += data.readableBytes
    }
}
