import Foundation
import Metainfo
import PeerWire
import Synchronization
import Testing
import TestSupport
@testable import Engine

/// The session holds received blocks back for larger writes
/// (`TorrentSession.writeNextBatch`); these check, with a real seeder on
/// loopback, that every way out of the hold delivers the data: the delay,
/// the pending-write cap, and a stop.
@Suite("Write batching")
struct WriteBatchingTests {
    /// Blocks held back for `delay` seconds or until `cap` bytes wait (the
    /// write size is above every file here).
    static func holding(delay: Double, cap: Int = 64 << 20) -> SessionConfiguration {
        var configuration = SessionConfiguration()
        configuration.writeBatchBytes = 64 << 20
        configuration.maxPendingWriteBytes = cap
        configuration.writeBatchDelay = delay
        return configuration
    }

    /// Nothing reaches the write size, and the cap is above the file: only
    /// the delay's timer writes anything, so the download completes
    /// through it alone.
    @Test func heldBlocksAreWrittenOnceTheDelayIsUp() async throws {
        try await LoopbackSwarm.with(size: 1 << 20) { swarm in
            try await swarm.startSeeder()
            let leecher = try await swarm.startLeecher(Self.holding(delay: 0.2))
            #expect(await eventually(timeout: 30) { leecher.snapshot.isComplete }, "\(leecher.snapshot)")
            #expect(FileManager.default.contentsEqual(atPath: swarm.seedPath, andPath: swarm.finalPath))
        }
    }

    /// A delay far longer than the test and a write size above the file:
    /// blocks are written only when the pending-write cap (256 KiB) is
    /// reached, which then takes them all, so all but less than the cap
    /// gets written and verified (the tail may still be held, or not, as
    /// the arrivals fell).
    @Test func theWriteCapWritesHeldBlocks() async throws {
        let size = 2 << 20, cap = 256 << 10, pieceLength = 64 << 10
        try await LoopbackSwarm.with(size: size, pieceLength: pieceLength) { swarm in
            try await swarm.startSeeder()
            let leecher = try await swarm.startLeecher(Self.holding(delay: 3600, cap: cap))
            #expect(await eventually(timeout: 30) { leecher.snapshot.downloaded >= Int64(size) }, "\(leecher.snapshot)")
            // (Less one: a block the seeder sent out of order can leave
            // one more piece open.)
            let written = (size - cap) / pieceLength - 1
            #expect(await eventually(timeout: 10) { leecher.snapshot.verifiedPieces >= written },
                    "\(leecher.snapshot.verifiedPieces) pieces verified, \(written) expected")
        }
    }

    /// Ctrl-C just after the last blocks came in, all of them still held:
    /// the stop writes them and records every piece, and the next start
    /// finishes the download (renames it) without fetching anything. Before,
    /// pieces completed by the stop's write were not recorded, and a
    /// complete record started seeding from the `.part` file, never renamed.
    @Test func blocksHeldAtAStopAreWrittenRecordedAndFinishedAtTheNextStart() async throws {
        let size = 1 << 20
        try await LoopbackSwarm.with(size: size) { swarm in
            try await swarm.startSeeder()
            let first = try await swarm.startLeecher(Self.holding(delay: 3600))
            #expect(await eventually(timeout: 30) { first.snapshot.downloaded >= Int64(size) }, "\(first.snapshot)")
            #expect(first.snapshot.verifiedPieces == 0, "the blocks are held, none written")
            try await swarm.stop(first)

            let recorded = try #require(swarm.recordedPieces())
            #expect(recorded.isComplete, "\(recorded.setCount) of \(recorded.count) pieces recorded")
            #expect(swarm.piecesOnDisk().isComplete)
            #expect(!FileManager.default.fileExists(atPath: swarm.finalPath))

            let second = try await swarm.startLeecher(have: recorded)
            let finished = Mutex(false)
            second.whenComplete { finished.withLock { $0 = true } }
            #expect(await eventually(timeout: 10) { finished.withLock { $0 } })
            #expect(second.snapshot.downloaded == 0)
            #expect(FileManager.default.contentsEqual(atPath: swarm.seedPath, andPath: swarm.finalPath))
            #expect(!FileManager.default.fileExists(atPath: swarm.finalPath + ".part"))
            #expect(!FileManager.default.fileExists(atPath: swarm.resumePath), "the record goes once complete")
        }
    }

    /// A stop half way keeps what arrived: the pieces recorded are all
    /// those fully received (at most the two in progress are fetched
    /// again), and each recorded piece is on disk.
    @Test func aStopHalfWayRecordsEveryPieceReceived() async throws {
        let size = 4 << 20, pieceLength = 64 << 10
        try await LoopbackSwarm.with(size: size, pieceLength: pieceLength) { swarm in
            // 500 kB/s: ~6 s from the 1 MiB mark to the end, for the
            // stop to land before it on a loaded machine.
            try await swarm.startSeeder(uploadBytesPerSecond: 500_000)
            let leecher = try await swarm.startLeecher(Self.holding(delay: 3600))
            #expect(await eventually(timeout: 30) { leecher.snapshot.downloaded >= 1 << 20 }, "\(leecher.snapshot)")
            try await swarm.stop(leecher)
            let received = Int(leecher.snapshot.downloaded)
            #expect(received < size, "stopped half way")

            let recorded = try #require(swarm.recordedPieces())
            #expect(recorded.setCount >= received / pieceLength - 2, "\(recorded.setCount) pieces recorded of \(received) bytes")
            let onDisk = swarm.piecesOnDisk()
            #expect((0..<recorded.count).allSatisfy { !recorded[$0] || onDisk[$0] }, "every recorded piece is on disk")
        }
    }
}
