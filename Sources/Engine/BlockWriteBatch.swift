import NIOCore
import PeerWire

/// Received blocks handed to the disk together: kept in stream order as
/// they are added (they come nearly in order, so an insertion is a step or
/// two from the end), each run of adjacent blocks written with one vectored
/// call; the digests read them in the same order, and neither sorts. A torrent writes
/// one batch at a time (the next gathers meanwhile, see
/// `TorrentSession.writeNextBatch` for when it is due): buffered writes to one
/// file serialize on its inode lock anyway, so parallel writers only spun on
/// it (a profile showed 7 % of the leecher's time there), and a system call
/// plus two thread hand-offs per 16 KiB block cost more than the copying.
struct BlockWriteBatch {
    struct Block {
        let request: BlockRequest
        /// Position in the torrent's byte stream.
        let offset: Int64
        let data: ByteBuffer
    }

    /// Most blocks joined into one write (the pointers are gathered by
    /// nesting, one stack frame per block).
    static let maxRun = 256

    /// In stream order.
    private(set) var blocks: [Block] = []

    var isEmpty: Bool { blocks.isEmpty }

    mutating func append(_ request: BlockRequest, offset: Int64, data: ByteBuffer) {
        var position = blocks.endIndex
        while position > blocks.startIndex, blocks[position - 1].offset > offset { position -= 1 }
        blocks.insert(Block(request: request, offset: offset, data: data), at: position)
    }

    /// Runs of adjacent blocks (index ranges into `blocks`, with their
    /// bytes), in order, each at most `maxRun` blocks: one write each.
    var runs: [(blocks: Range<Int>, bytes: Int)] {
        var runs: [(blocks: Range<Int>, bytes: Int)] = []
        var start = 0
        while start < blocks.count {
            var end = start + 1
            var bytes = blocks[start].data.readableBytes
            while end < blocks.count, end - start < Self.maxRun, blocks[end].offset == blocks[start].offset + Int64(bytes) {
                bytes += blocks[end].data.readableBytes
                end += 1
            }
            runs.append((start..<end, bytes))
            start = end
        }
        return runs
    }

    /// Moves the runs worth a write of their own into a batch (returned, in
    /// order) and keeps the rest for later, when more blocks extend them: a
    /// run of at least `minimumBytes`, or one whose last block's piece has
    /// all its blocks (`pieceIsComplete`): nothing more of that piece is to
    /// come (a late block in the middle of a piece included). Moves nothing
    /// when no run is worth it (the common case while a backlog grows).
    mutating func removeRunsWorthWriting(
        minimumBytes: Int, pieceIsComplete: (BlockRequest) -> Bool
    ) -> BlockWriteBatch {
        let worth = runs.filter { $0.bytes >= minimumBytes || pieceIsComplete(blocks[$0.blocks.upperBound - 1].request) }
        guard !worth.isEmpty else { return BlockWriteBatch() }
        var taken = BlockWriteBatch()
        var kept = BlockWriteBatch()
        var next = 0
        for run in worth.map(\.blocks) {
            kept.blocks += blocks[next..<run.lowerBound]
            taken.blocks += blocks[run]
            next = run.upperBound
        }
        kept.blocks += blocks[next...]
        self = kept
        return taken
    }

    /// Writes every block (blocking: call it off the event loop); returns
    /// the error of each block that did not reach the disk, by position in
    /// `blocks`. A failed run fails all its blocks: which part landed is
    /// unknown.
    func write(to storage: TorrentStorage) -> [Int: TorrentStorage.StorageError] {
        var failures: [Int: TorrentStorage.StorageError] = [:]
        for run in runs.map(\.blocks) {
            do throws(TorrentStorage.StorageError) {
                var chunks: [UnsafeRawBufferPointer] = []
                chunks.reserveCapacity(run.count)
                try withPointers(of: blocks[run], collecting: &chunks) { (chunks) throws(TorrentStorage.StorageError) in
                    try storage.write(chunks, at: blocks[run.lowerBound].offset)
                }
            } catch {
                for index in run { failures[index] = error }
            }
        }
        return failures
    }

    /// Calls `body` with the readable bytes of every block in `run`, each
    /// pointer valid for the whole call.
    private func withPointers(
        of run: ArraySlice<Block>, collecting collected: inout [UnsafeRawBufferPointer],
        _ body: ([UnsafeRawBufferPointer]) throws(TorrentStorage.StorageError) -> Void
    ) throws(TorrentStorage.StorageError) {
        guard let first = run.first else { return try body(collected) }
        let result = first.data.withUnsafeReadableBytes { bytes in
            collected.append(bytes)
            return Result { () throws(TorrentStorage.StorageError) in
                try withPointers(of: run.dropFirst(), collecting: &collected, body)
            }
        }
        try result.get()
    }
}
