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

    /// Block `index` of piece `piece` (the content's bytes, one flipped
    /// when `corrupt`).
    func block(_ index: Int, piece: Int = 0, corrupt: Bool = false) -> (BlockRequest, ByteBuffer) {
        let start = index * Self.blockLength
        var bytes = Array(content[start..<start + Self.blockLength])
        if corrupt { bytes[100] ^= 1 }
        return (BlockRequest(piece: piece, offset: start, length: Self.blockLength), ByteBuffer(bytes: bytes))
    }

    func absorb(_ order: [Int], into digests: inout PieceDigests, piece: Int = 0) {
        for index in order {
            let (request, data) = block(index, piece: piece)
            digests.absorb(request, data: data)
        }
    }

    /// What the digest of `piece` says: matches, does not, or unknown (nil).
    func verdict(_ digests: PieceDigests, piece: Int = 0) -> Bool? {
        digests.matches(piece: piece, length: content.count, expected: expected)
    }

    /// Whatever the order, the piece is known only once complete, and
    /// early blocks wait (as copies, counted) only until the gap is filled.
    @Test(arguments: [([0, 1, 2, 3], 0), ([2, 3, 1, 0], 3), ([3, 0, 2, 1], 2)])
    func blocksInAnyOrderGiveThePieceHash(order: [Int], waitingBeforeLast: Int) {
        var digests = PieceDigests()
        absorb(Array(order.dropLast()), into: &digests)
        #expect(verdict(digests) == nil, "incomplete: unknown")
        #expect(digests.heldBytes == waitingBeforeLast * Self.blockLength)
        absorb([order.last!], into: &digests)
        #expect(verdict(digests) == true)
        #expect(digests.heldBytes == 0)
    }

    @Test func aCorruptBlockFailsThePiece() {
        var digests = PieceDigests()
        absorb([0, 1, 3], into: &digests)
        let (request, bad) = block(2, corrupt: true)
        digests.absorb(request, data: bad)
        #expect(verdict(digests) == false)
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
        #expect(verdict(digests, piece: 5) == nil)
        // Other pieces are not affected.
        absorb([0, 1, 2, 3], into: &digests, piece: 6)
        #expect(verdict(digests, piece: 6) == true)
    }

    /// A block that comes twice, or a piece with a block lost on its way to
    /// disk, is checked from disk; `forget` starts the piece over.
    @Test func repeatsAndLostBlocksLeaveItToTheDisk() {
        var digests = PieceDigests()
        absorb([0, 1, 0, 2, 3], into: &digests)
        #expect(verdict(digests) == nil)
        digests.forget(piece: 0)
        absorb([0, 3], into: &digests)
        digests.abandon(piece: 0)
        #expect(digests.heldBytes == 0)
        absorb([1, 2], into: &digests)
        #expect(verdict(digests) == nil)
        digests.forget(piece: 0)
        absorb([3, 2, 1, 0], into: &digests)
        #expect(verdict(digests) == true)
    }
}
