import Foundation
import Metainfo
import PeerWire
import Synchronization
import Testing
import TestSupport
@testable import Engine

/// The step from every piece verified to final data under its name.
@Suite("Session finish")
struct SessionFinishTests {
    /// Every piece is in but the final name is taken (the rename refuses to
    /// replace anything): the error shows, and once the name is free the
    /// finish is tried again by itself. Before, it was never tried again,
    /// and `download --exit-on-complete` waited at 100 % for good.
    @Test func aFinishRefusedIsTriedAgainOnceTheNameIsFree() async throws {
        try await LoopbackSwarm.with(size: 300_000) { swarm in
            try FileManager.default.copyItem(atPath: swarm.seedPath, toPath: swarm.finalPath + ".part")
            try FileManager.default.createDirectory(atPath: swarm.finalPath, withIntermediateDirectories: false)
            let session = try await swarm.startLeecher(have: Bitfield(count: swarm.metainfo.info.pieceCount, allSet: true))
            let finished = Mutex(false)
            session.whenComplete { finished.withLock { $0 = true } }
            #expect(await eventually(timeout: 10) { session.snapshot.error?.contains("data.bin") == true }, "\(session.snapshot)")
            #expect(!finished.withLock { $0 })
            try FileManager.default.removeItem(atPath: swarm.finalPath)
            // The first retry comes 5 s after the failure.
            #expect(await eventually(timeout: 20) { finished.withLock { $0 } })
            #expect(FileManager.default.contentsEqual(atPath: swarm.seedPath, andPath: swarm.finalPath))
            #expect(!FileManager.default.fileExists(atPath: swarm.finalPath + ".part"))
            #expect(session.snapshot.error == nil, "the failed attempt's error is gone")
        }
    }
}
