import Crypto
import Metainfo
import NIOCore
import PeerWire
import TestSupport
import Testing
@testable import Engine

@Suite("Piece digests")
struct PieceDigestsTests {
    static let blockLength = 4096
    let content = pseudoRandomBytes(count: 4 * blockLength, seed: 31)
    var expected: SHA1Hash { SHA1Hash(bytes: Array(Insecure.SHA1.hash(data: content)))! }

    func block(_ index: Int, piece: Int = 0) -> (BlockRequest, ByteBuffer) {
        let start = index * Self.blockLength
        return (BlockRequest(piece: piece, offset: start, length: Self.blockLength),
                ByteBuffer(bytes: content[start..<start + Self.blockLength]))
    }

    func absorb(_ order: [Int], into digests: inout PieceDigests, piece: Int = 0) {
        for index in order {
            let (request, data) = block(index, piece: piece)
            digests.absorb(request, data: data)
        }
    }

    @Test func blocksInOrderGiveThePieceHash() {
        var digests = PieceDigests()
        absorb([0, 1, 2], into: &digests)
        #expect(digests.matches(piece: 0, length: content.count, expected: expected) == nil, "incomplete: unknown")
        absorb([3], into: &digests)
        #expect(digests.matches(piece: 0, length: content.count, expected: expected) == true)
        #expect(digests.heldBytes == 0)
    }

    @Test func earlyBlocksWaitForTheGap() {
        var digests = PieceDigests()
        absorb([2, 3, 1], into: &digests)
        #expect(digests.heldBytes == 3 * Self.blockLength)
        absorb([0], into: &digests)
        #expect(digests.matches(piece: 0, length: content.count, expected: expected) == true)
        #expect(digests.heldBytes == 0)
    }

    @Test func aCorruptBlockFailsThePiece() {
        var digests = PieceDigests()
        absorb([0, 1, 3], into: &digests)
        var bad = content[2 * Self.blockLength..<3 * Self.blockLength].map { $0 }
        bad[100] ^= 1
        digests.absorb(BlockRequest(piece: 0, offset: 2 * Self.blockLength, length: Self.blockLength), data: ByteBuffer(bytes: bad))
        #expect(digests.matches(piece: 0, length: content.count, expected: expected) == false)
    }

    /// Past the bound on held bytes the piece is left to the disk check,
    /// and what it held is let go.
    @Test func tooMuchWaitingAbandonsThePiece() {
        var digests = PieceDigests(maxHeldBytes: 2 * Self.blockLength)
        absorb([1, 2], into: &digests, piece: 5)
        #expect(digests.heldBytes == 2 * Self.blockLength)
        absorb([3], into: &digests, piece: 5)
        #expect(digests.heldBytes == 0)
        absorb([0], into: &digests, piece: 5)
        #expect(digests.matches(piece: 5, length: content.count, expected: expected) == nil)
        // Other pieces are not affected.
        absorb([0, 1, 2, 3], into: &digests, piece: 6)
        #expect(digests.matches(piece: 6, length: content.count, expected: expected) == true)
    }

    /// A block that comes twice, or a piece with a block lost on its way to
    /// disk, is checked from disk; `forget` starts the piece over.
    @Test func repeatsAndLostBlocksLeaveItToTheDisk() {
        var digests = PieceDigests()
        absorb([0, 1, 0, 2, 3], into: &digests)
        #expect(digests.matches(piece: 0, length: content.count, expected: expected) == nil)
        digests.forget(piece: 0)
        absorb([0, 3], into: &digests)
        digests.abandon(piece: 0)
        #expect(digests.heldBytes == 0)
        absorb([1, 2], into: &digests)
        #expect(digests.matches(piece: 0, length: content.count, expected: expected) == nil)
        digests.forget(piece: 0)
        absorb([3, 2, 1, 0], into: &digests)
        #expect(digests.matches(piece: 0, length: content.count, expected: expected) == true)
    }
}
