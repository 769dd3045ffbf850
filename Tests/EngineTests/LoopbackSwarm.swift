import Foundation
import Metainfo
import NIOPosix
import PeerWire
import TestSupport
import TrackerKit
@testable import Engine

/// Sessions of this process trading one random file on loopback: a seeder
/// and leechers whose configuration a test sets (the write batching, say),
/// observed through their snapshots and the files they leave.
final class LoopbackSwarm {
    let directory = TemporaryDirectory()
    let metainfo: Metainfo
    let seedPath: String
    /// Where leechers download to.
    let outputDirectory: String
    private var services: [PeerService] = []
    private var sessions: [TorrentSession] = []
    private(set) var seederPort = 0

    var resumePath: String { "\(outputDirectory)/.resume" }
    var finalPath: String { "\(outputDirectory)/data.bin" }

    private init(size: Int, pieceLength: Int) throws {
        seedPath = try directory.randomFile("seed/data.bin", size: size)
        outputDirectory = "\(directory.path)/out"
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        var options = MetainfoCreator.Options()
        options.pieceLength = .fixed(pieceLength)
        options.includesIDHash = false
        metainfo = try MetainfoCreator(options: options).create(from: ContentSource(scanning: seedPath))
    }

    /// Runs `body` with a fresh swarm, then stops every session and
    /// listener it started, whether `body` threw or not.
    static func with(size: Int, pieceLength: Int = 65536, _ body: (LoopbackSwarm) async throws -> Void) async throws {
        try await withTeardown(try LoopbackSwarm(size: size, pieceLength: pieceLength), body) { await $0.shutdown() }
    }

    /// A seeder of the whole file (upload limited to `uploadBytesPerSecond`
    /// when given); its port is `seederPort`.
    func startSeeder(uploadBytesPerSecond: Double = 0) async throws {
        let storage = TorrentStorage(info: metainfo.info, location: .existing(path: seedPath))
        let session = try await start(storage: storage, have: Bitfield(count: metainfo.info.pieceCount, allSet: true))
        session.setLimits(uploadBytesPerSecond: uploadBytesPerSecond, downloadBytesPerSecond: 0)
        seederPort = services.last!.port
    }

    /// A leecher into `outputDirectory` with `have` (nothing by default),
    /// recording its pieces at `resumePath`, dialling the seeder if one runs.
    func startLeecher(_ configuration: SessionConfiguration = SessionConfiguration(), have: Bitfield? = nil) async throws -> TorrentSession {
        var configuration = configuration
        configuration.resumePath = resumePath
        let storage = TorrentStorage(info: metainfo.info, location: .download(directory: outputDirectory))
        let session = try await start(
            storage: storage, have: have ?? Bitfield(count: metainfo.info.pieceCount), configuration: configuration)
        if seederPort != 0 { session.addPeers([PeerEndpoint(ip: .v4(0x7F00_0001), port: UInt16(seederPort))]) }
        return session
    }

    /// What the last stopped leecher recorded, checked against the files
    /// as they are now.
    func recordedPieces() -> Bitfield? {
        let storage = TorrentStorage(info: metainfo.info, location: .download(directory: outputDirectory))
        return ResumeState.load(fromPath: resumePath, for: storage, infoHash: metainfo.infoHash)?.have
    }

    /// The pieces of the download (under its `.part` name) that check.
    func piecesOnDisk() -> Bitfield {
        TorrentStorage(info: metainfo.info, location: .download(directory: outputDirectory)).verifyAll(threads: 2)
    }

    /// Stops `session` as a signal would (writes done, pieces recorded).
    func stop(_ session: TorrentSession) async throws {
        try await session.stop().get()
        sessions.removeAll { $0 === session }
    }

    private func start(storage: TorrentStorage, have: Bitfield,
                       configuration: SessionConfiguration = SessionConfiguration()) async throws -> TorrentSession {
        let service = try await PeerService.start(host: "127.0.0.1", port: 0)
        services.append(service)
        let session = TorrentSession(metainfo: metainfo, storage: storage, peerID: PeerID.random(),
                                     configuration: configuration, loop: MultiThreadedEventLoopGroup.singleton.next())
        sessions.append(session)
        service.add(session, have: have)
        return session
    }

    private func shutdown() async {
        for session in sessions { _ = try? await session.stop().get() }
        for service in services { await service.close() }
        sessions = []
        services = []
    }
}
