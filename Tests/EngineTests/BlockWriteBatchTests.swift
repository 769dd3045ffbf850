import NIOCore
import PeerWire
import Testing
@testable import Engine

/// Which received blocks a session writes now and which it holds back, so
/// that writes are few and large.
@Suite("Block write batches")
struct BlockWriteBatchTests {
    private static let block = 16_384
    private static let pieceLength = 4 * block

    private static func add(_ batch: inout BlockWriteBatch, piece: Int, blocks: [Int]) {
        for index in blocks {
            let request = BlockRequest(piece: piece, offset: index * block, length: block)
            batch.append(request, offset: Int64(piece * pieceLength + index * block),
                         data: ByteBuffer(repeating: UInt8(piece), count: block))
        }
    }

    /// A run is written when it is long enough or its last block's piece
    /// has all its blocks; a short run another block will extend (behind a
    /// block that came late, or the start of a piece still arriving) is kept.
    @Test func shortRunsThatWillGrowAreHeldBack() {
        var batch = BlockWriteBatch()
        Self.add(&batch, piece: 2, blocks: [0, 1, 2])  // with piece 1's block 3: 64 KiB
        Self.add(&batch, piece: 0, blocks: [2, 3])     // the end of piece 0 (0 and 1 written before)
        Self.add(&batch, piece: 1, blocks: [1, 3])     // block 2 still on its way
        Self.add(&batch, piece: 4, blocks: [0])        // the start of piece 4
        Self.add(&batch, piece: 5, blocks: [1])        // came late: the rest of piece 5 is written
        #expect(batch.runs.count == 5)
        let complete: Set<Int> = [0, 5]
        let taken = batch.removeRunsWorthWriting(minimumBytes: 3 * Self.block) { complete.contains($0.piece) }
        #expect(taken.blocks.map(\.offset) == [2, 3, 7, 8, 9, 10, 21].map { Int64($0 * Self.block) })
        #expect(batch.blocks.map(\.offset) == [5, 16].map { Int64($0 * Self.block) })
        // The late block joins what was held back into one run.
        Self.add(&batch, piece: 1, blocks: [0])
        Self.add(&batch, piece: 1, blocks: [2])
        #expect(batch.runs.map(\.blocks) == [0..<3, 3..<4])
        #expect(batch.runs.map(\.bytes) == [3 * Self.block, Self.block])
        #expect(batch.blocks.map(\.offset) == [4, 5, 6, 16].map { Int64($0 * Self.block) })
    }

    /// Nothing worth writing: everything stays, in order.
    @Test func nothingTakenKeepsTheBatchWhole() {
        var batch = BlockWriteBatch()
        Self.add(&batch, piece: 3, blocks: [1])
        Self.add(&batch, piece: 0, blocks: [0])
        let taken = batch.removeRunsWorthWriting(minimumBytes: 1 << 20) { _ in false }
        #expect(taken.isEmpty)
        #expect(batch.blocks.map(\.offset) == [0, 13].map { Int64($0 * Self.block) })
    }
}
