import Crypto
import Foundation
import Metainfo
import NIOCore
import PeerWire
import TestSupport
import Testing
@testable import Engine

@Suite("Torrent storage")
struct TorrentStorageTests {
    /// A metainfo for `content` cut into `files` (lengths), pieces of 16 KiB
    /// unless told.
    static func info(
        name: String, files: [(path: [String], length: Int, padding: Bool)]?, content: [UInt8], pieceLength: Int = 16384
    ) -> InfoDictionary {
        let pieces = stride(from: 0, to: content.count, by: pieceLength).flatMap {
            Array(Insecure.SHA1.hash(data: content[$0..<min(content.count, $0 + pieceLength)]))
        }
        let entries = files?.map { FileEntry(path: $0.path, length: Int64($0.length), isPadding: $0.padding) }
            ?? [FileEntry(path: [], length: Int64(content.count))]
        return InfoDictionary(name: name, pieceLength: pieceLength, pieces: pieces, files: entries,
                              isMultiFile: files != nil, isPrivate: false, idHash: nil)
    }

    private func writeAll(_ storage: TorrentStorage, _ content: [UInt8], order: [Int]) throws {
        for piece in order {
            let start = piece * 16384
            let slice = Array(content[start..<min(content.count, start + 16384)])
            try slice.withUnsafeBytes { try storage.write($0, at: Int64(start)) }
        }
    }

    @Test func singleFileLivesAsPartUntilFinished() throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: 100_000, seed: 1)
        let storage = TorrentStorage(info: Self.info(name: "movie.bin", files: nil, content: content),
                                     location: .download(directory: directory.path))
        try writeAll(storage, content, order: [6, 0, 3, 1, 5, 2, 4])
        #expect(FileManager.default.fileExists(atPath: "\(directory.path)/movie.bin.part"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/movie.bin"))
        #expect((0..<7).allSatisfy(storage.pieceMatches))
        try storage.finish()
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/movie.bin.part"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/movie.bin")) == Data(content))
        #expect(storage.isFinished)
        #expect(try storage.read(piece: 6, offset: 0, length: 100) == Array(content[6 * 16384..<6 * 16384 + 100]))
    }

    /// a (20 000) + pad (12 768, zeros) + empty + sub/b (30 000): files,
    /// padding and an empty file across 16 KiB pieces.
    static func paddedPack() -> (a: [UInt8], b: [UInt8], content: [UInt8], info: InfoDictionary) {
        let a = pseudoRandomBytes(count: 20_000, seed: 2)
        let b = pseudoRandomBytes(count: 30_000, seed: 3)
        let content = a + [UInt8](repeating: 0, count: 12_768) + b
        let info = Self.info(name: "pack", files: [(["a"], 20_000, false), ([".pad", "12768"], 12_768, true),
                                                   (["empty"], 0, false), (["sub", "b"], 30_000, false)], content: content)
        return (a, b, content, info)
    }

    /// The finished pack holds exactly its files; padding is never written.
    private func expectPack(at root: String, a: [UInt8], b: [UInt8]) throws {
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(root)/a")) == Data(a))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(root)/sub/b")) == Data(b))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(root)/empty")).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(root)/.pad"))
    }

    @Test func multiFileWithPaddingAndEmptyFiles() throws {
        let directory = TemporaryDirectory()
        let (a, b, content, info) = Self.paddedPack()
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        try writeAll(storage, content, order: [3, 1, 0, 2])
        #expect((0..<4).allSatisfy(storage.pieceMatches))
        try storage.finish()
        try expectPack(at: "\(directory.path)/pack", a: a, b: b)
    }

    @Test func batchedBlocksLandInPlaceAcrossFiles() throws {
        let directory = TemporaryDirectory()
        let (a, b, content, info) = Self.paddedPack()
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        let blockLength = 4096
        let starts = Array(stride(from: 0, to: content.count, by: blockLength))
        var random = FastRandom(seed: 3)
        let order = starts.shuffled(using: &random)
        // Two batches, each holding some adjacent runs and some gaps.
        for half in [order.prefix(order.count / 2), order.suffix(from: order.count / 2)] {
            var batch = BlockWriteBatch()
            for start in half {
                let end = min(content.count, start + blockLength)
                let request = BlockRequest(piece: start / 16384, offset: start % 16384, length: end - start)
                batch.append(request, offset: Int64(start), data: ByteBuffer(bytes: content[start..<end]))
            }
            #expect(batch.write(to: storage).isEmpty)
        }
        // Writes through the cache start their write-back here (so the
        // final flush is short), and the data lands as written.
        #expect(TorrentStorage.startsWriteback)
        #expect(storage.verifyAll(threads: 2).isComplete)
        try storage.finish()
        try expectPack(at: "\(directory.path)/pack", a: a, b: b)
    }

    /// A run that cannot be written fails all its blocks, and only those:
    /// the session fetches exactly them again.
    @Test func aFailedRunFailsOnlyItsOwnBlocks() throws {
        let directory = TemporaryDirectory()
        let a = pseudoRandomBytes(count: 16_384, seed: 14)
        let b = pseudoRandomBytes(count: 16_384, seed: 15)
        let info = Self.info(name: "pack", files: [(["a"], 16_384, false), (["b"], 16_384, false)], content: a + b)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/pack.part/b", withIntermediateDirectories: true)
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        var batch = BlockWriteBatch()
        batch.append(BlockRequest(piece: 1, offset: 8192, length: 8192), offset: 24_576, data: ByteBuffer(bytes: b[8192...]))
        batch.append(BlockRequest(piece: 0, offset: 0, length: 8192), offset: 0, data: ByteBuffer(bytes: a[..<8192]))
        batch.append(BlockRequest(piece: 1, offset: 0, length: 8192), offset: 16_384, data: ByteBuffer(bytes: b[..<8192]))
        #expect(batch.blocks.map(\.offset) == [0, 16_384, 24_576], "kept in stream order as added")
        let failures = batch.write(to: storage)
        // (Positions are in the batch's stream order.)
        #expect(Set(failures.keys.map { batch.blocks[$0].offset }) == [16_384, 24_576],
                "a folder where file b goes fails b's two blocks: \(failures)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/pack.part/a")).prefix(8192) == Data(a[..<8192]))
    }

    /// On restart the `.part` file is first read (verified), then written.
    /// A seeding read meanwhile takes the file's descriptor under the lock
    /// and reads after: neither the reopen for writing nor the finish may
    /// close that number, which the next `open` anywhere in the process
    /// could be given — the read would then send that file's bytes to a
    /// peer. The number stays and keeps reading this file; after the
    /// finish, read only.
    @Test func writesAfterReadingAPartFileWithoutFreeingItsDescriptor() throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: 50_000, seed: 8)
        try directory.write(Array(content.prefix(20_000)), to: "r.bin.part")
        let storage = TorrentStorage(info: Self.info(name: "r.bin", files: nil, content: content),
                                     location: .download(directory: directory.path))
        func firstByte(_ fd: Int32) -> UInt8? {
            var byte: UInt8 = 0
            return pread(fd, &byte, 1, 0) == 1 ? byte : nil
        }
        /// Whether `fd` is the file at `path` (same inode), not a number
        /// handed to another file meanwhile.
        func isFile(_ fd: Int32, at path: String) -> Bool {
            var held = stat(), named = stat()
            return fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev
        }
        func nextOpenGets(_ fd: Int32) -> Bool {
            let other = open("/dev/null", O_RDONLY | O_CLOEXEC)
            defer { close(other) }
            return other == fd
        }
        #expect(storage.verifyAll(threads: 2).setCount == 1)
        let held = try storage.descriptor(for: 0, writable: false)
        try writeAll(storage, content, order: [1, 2, 3])  // reopened read-write
        #expect(!nextOpenGets(held))
        #expect(isFile(held, at: "\(directory.path)/r.bin.part"))
        #expect(firstByte(held) == content[0])
        #expect(storage.verifyAll(threads: 2).isComplete)
        try storage.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/r.bin")) == Data(content))
        #expect(!nextOpenGets(held))
        #expect(isFile(held, at: "\(directory.path)/r.bin"))
        #expect(firstByte(held) == content[0])
        #expect(fcntl(held, F_GETFL) & O_ACCMODE == O_RDONLY)
        #expect(fcntl(held, F_GETFD) & FD_CLOEXEC != 0)
        #expect(throws: TorrentStorage.StorageError.self) { try writeAll(storage, content, order: [0]) }
    }

    @Test func neverReplacesAnExistingFinalName() throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: 20_000, seed: 4)
        try directory.write(Array("precious".utf8), to: "x.bin")
        let storage = TorrentStorage(info: Self.info(name: "x.bin", files: nil, content: content),
                                     location: .download(directory: directory.path))
        try writeAll(storage, content, order: [0, 1])
        #expect(throws: TorrentStorage.StorageError.finalNameTaken("\(directory.path)/x.bin")) { try storage.finish() }
        #expect(try String(contentsOfFile: "\(directory.path)/x.bin", encoding: .utf8) == "precious")
    }

    @Test func aPlantedSymlinkIsNotFollowed() throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: 20_000, seed: 5)
        let victim = try directory.write(Array("victim".utf8), to: "victim.txt")
        try FileManager.default.createDirectory(atPath: "\(directory.path)/out/pack.part", withIntermediateDirectories: true)
        symlink(victim, "\(directory.path)/out/pack.part/a")
        let storage = TorrentStorage(info: Self.info(name: "pack", files: [(["a"], 20_000, false)], content: content),
                                     location: .download(directory: "\(directory.path)/out"))
        #expect(throws: TorrentStorage.StorageError.self) { try writeAll(storage, content, order: [0]) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "victim")
    }

    @Test func existingDataIsReadAndCheckedPieceByPiece() throws {
        let directory = TemporaryDirectory()
        var content = pseudoRandomBytes(count: 50_000, seed: 6)
        let info = Self.info(name: "seed.bin", files: nil, content: content)
        content[20_000] ^= 0xFF  // corrupt piece 1
        let path = try directory.write(content, to: "seed.bin")
        let storage = TorrentStorage(info: info, location: .existing(path: path))
        #expect((0..<4).map(storage.pieceMatches) == [true, false, true, true])
        truncate(path, 40_000)
        #expect(!storage.pieceMatches(3))
        #expect(throws: TorrentStorage.StorageError.shortData(path)) { try storage.read(piece: 3, offset: 0, length: 100) }
    }

    /// Pieces larger than the 64 KiB a check reads at once: a byte wrong in
    /// any chunk, or in the short last piece's second chunk, is caught.
    @Test func largePiecesAreCheckedChunkByChunk() throws {
        let directory = TemporaryDirectory()
        var content = pseudoRandomBytes(count: 600_000, seed: 7)  // 256 KiB pieces: 2 whole, 1 of 75 712 bytes
        let info = Self.info(name: "big.bin", files: nil, content: content, pieceLength: 256 << 10)
        content[200_000] ^= 0x01  // piece 0, its fourth chunk
        content[590_000] ^= 0x01  // piece 2, its second chunk
        let storage = TorrentStorage(info: info, location: .existing(path: try directory.write(content, to: "big.bin")))
        #expect((0..<3).map(storage.pieceMatches) == [false, true, false])
        content[200_000] ^= 0x01
        content[590_000] ^= 0x01
        let fixed = TorrentStorage(info: info, location: .existing(path: try directory.write(content, to: "fixed.bin")))
        #expect((0..<3).allSatisfy(fixed.pieceMatches))
    }
}
