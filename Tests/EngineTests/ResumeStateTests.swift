import Foundation
import Metainfo
import PeerWire
import TestSupport
import Testing
@testable import Engine

@Suite("Resume state")
struct ResumeStateTests {
    let directory = TemporaryDirectory()
    let content = pseudoRandomBytes(count: 100_000, seed: 9)
    let infoHash = SHA1Hash(bytes: [UInt8](repeating: 7, count: 20))!

    func storageWithThreePieces() throws -> TorrentStorage {
        let storage = TorrentStorage(info: TorrentStorageTests.info(name: "data.bin", files: nil, content: content),
                                     location: .download(directory: directory.path))
        for piece in [0, 2, 5] {
            let start = piece * 16384
            try Array(content[start..<start + 16384]).withUnsafeBytes { try storage.write($0, at: Int64(start)) }
        }
        try storage.flush()
        return storage
    }

    var path: String { "\(directory.path)/state.resume" }

    @Test func savedStateIsTrustedWhileTheDataFileIsUnchanged() throws {
        let storage = try storageWithThreePieces()
        var have = Bitfield(count: 7)
        for piece in [0, 2, 5] { have[piece] = true }
        let state = ResumeState(infoHash: infoHash, have: have, files: storage.fileStamps())
        #expect(state.files.first??.size ?? 0 > 0)
        try state.save(toPath: path)
        #expect(ResumeState.load(fromPath: path, for: storage, infoHash: infoHash) == state)
        // Another torrent's state is not ours.
        #expect(ResumeState.load(fromPath: path, for: storage, infoHash: SHA1Hash(bytes: [UInt8](repeating: 8, count: 20))!) == nil)
    }

    /// After a reboot a btrfs volume or a USB disk may carry another device
    /// number; the same inode, size and time still mean the same data.
    @Test func aRenumberedDiskKeepsTheSavedState() throws {
        let storage = try storageWithThreePieces()
        let stamps = storage.fileStamps().map { stamp in
            stamp.map { FileSnapshot(device: $0.device &+ 7, inode: $0.inode, size: $0.size, modifiedNanoseconds: $0.modifiedNanoseconds) }
        }
        var have = Bitfield(count: 7)
        have[2] = true
        try ResumeState(infoHash: infoHash, have: have, files: stamps).save(toPath: path)
        #expect(ResumeState.load(fromPath: path, for: storage, infoHash: infoHash)?.have == have)
    }

    @Test func aChangedDataFileMeansVerifyAgain() throws {
        let storage = try storageWithThreePieces()
        try ResumeState(infoHash: infoHash, have: Bitfield(count: 7, allSet: true), files: storage.fileStamps()).save(toPath: path)
        // One more write after the save changes the modification time.
        usleep(20_000)
        try Array(content[16384..<32768]).withUnsafeBytes { try storage.write($0, at: 16384) }
        #expect(ResumeState.load(fromPath: path, for: storage, infoHash: infoHash) == nil)
    }

    @Test func aReplacedDataFileMeansVerifyAgain() throws {
        let storage = try storageWithThreePieces()
        let stamps = storage.fileStamps()
        try ResumeState(infoHash: infoHash, have: Bitfield(count: 7, allSet: true), files: stamps).save(toPath: path)
        // Same size and time, but another file (another inode).
        let part = "\(directory.path)/data.bin.part"
        try FileManager.default.copyItem(atPath: part, toPath: part + ".copy")
        var times = [timespec(tv_sec: Int(stamps[0]!.modifiedNanoseconds / 1_000_000_000), tv_nsec: Int(stamps[0]!.modifiedNanoseconds % 1_000_000_000)),
                     timespec(tv_sec: Int(stamps[0]!.modifiedNanoseconds / 1_000_000_000), tv_nsec: Int(stamps[0]!.modifiedNanoseconds % 1_000_000_000))]
        #expect(utimensat(AT_FDCWD, part + ".copy", &times, 0) == 0)
        #expect(rename(part + ".copy", part) == 0)
        #expect(FileSnapshot(atPath: part)?.modifiedNanoseconds == stamps[0]!.modifiedNanoseconds)
        #expect(ResumeState.load(fromPath: path, for: storage, infoHash: infoHash) == nil)
    }

    @Test func damagedStateFilesAreIgnored() throws {
        let storage = try storageWithThreePieces()
        for garbage in ["", "d6:format18:microtorr-resume-2e", "not bencode", "d6:format18:microtorr-resume-1e"] {
            _ = try directory.write(Array(garbage.utf8), to: "state.resume")
            #expect(ResumeState.load(fromPath: path, for: storage, infoHash: infoHash) == nil)
        }
        let bytes = ResumeState(infoHash: infoHash, have: Bitfield(count: 7), files: storage.fileStamps()).encoded()
        #expect(ResumeState(encoded: Array(bytes.dropLast()), infoHash: infoHash, pieceCount: 7, fileCount: 1) == nil)
        #expect(ResumeState(encoded: bytes, infoHash: infoHash, pieceCount: 8, fileCount: 1) == nil)
    }
}
