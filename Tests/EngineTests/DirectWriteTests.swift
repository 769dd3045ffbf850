import Foundation
import Metainfo
import NIOCore
import PeerWire
import TestSupport
import Testing
@testable import Engine

/// Downloaded data bypasses the page cache where it can (`DirectFileWriter`)
/// and lands byte for byte as through the cache.
@Suite("Direct writes")
struct DirectWriteTests {
    /// Whether the filesystem of `directory` takes `O_DIRECT` writes,
    /// probed apart from the code under test: a refusal (`EINVAL`) is told
    /// from a wrong flag, which writes through the cache and fails here.
    private static func supportsDirectWrites(in directory: String) throws -> Bool {
        let flag = try #require(DirectFileWriter.directFlag, "no O_DIRECT value for this platform")
        let path = "\(directory)/probe"
        defer { unlink(path) }
        let fd = open(path, O_RDWR | O_CREAT | flag, 0o600)
        guard fd >= 0 else {
            #expect(errno == EINVAL, "open with O_DIRECT: \(errno)")
            return false
        }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buffer.deallocate() }
        guard pwrite(fd, buffer.baseAddress, 4096, 0) == 4096 else {
            #expect(errno == EINVAL, "write with O_DIRECT: \(errno)")
            return false
        }
        #expect(try residentPages(of: path) == [false], "the flag is not O_DIRECT: the write went through the cache")
        return true
    }

    /// Pages of `path` in the page cache, one flag per 4 KiB.
    private static func residentPages(of path: String) throws -> [Bool] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileIOError.system("open", path: path) }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        let length = Int(info.st_size)
        guard let map = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw FileIOError.system("mmap", path: path)
        }
        defer { munmap(map, length) }
        var flags = [UInt8](repeating: 0, count: (length + 4095) / 4096)
        guard mincore(map, length, &flags) == 0 else { throw FileIOError.system("mincore", path: path) }
        return flags.map { $0 & 1 == 1 }
    }

    /// Aligned blocks go to the device and leave no page in the cache; the
    /// short last piece goes through the cache; the finished file is exact.
    @Test func alignedBlocksBypassThePageCache() throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: 4 * 65_536 + 5_000, seed: 21)
        let info = TorrentStorageTests.info(name: "d.bin", files: nil, content: content, pieceLength: 65_536)
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        var batch = BlockWriteBatch()
        for start in stride(from: 0, to: content.count, by: 16_384).reversed() {
            let end = min(content.count, start + 16_384)
            batch.append(BlockRequest(piece: start / 65_536, offset: start % 65_536, length: end - start),
                         offset: Int64(start), data: ByteBuffer(bytes: content[start..<end]))
        }
        #expect(batch.write(to: storage).isEmpty)
        let direct = try Self.supportsDirectWrites(in: directory.path)
        #expect(storage.writesDirectly(file: 0) == direct)
        let resident = try Self.residentPages(of: "\(directory.path)/d.bin.part")
        #expect(storage.verifyAll(threads: 2).isComplete)
        try storage.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/d.bin")) == Data(content))
        // Said, not skipped silently: on such a filesystem only the
        // fallback (everything through the cache) was tested.
        guard direct else { try Test.cancel("\(directory.path) refuses O_DIRECT: the direct path is not tested here") }
        #expect(resident.prefix(64).allSatisfy { !$0 }, "written directly, not cached: \(resident)")
        #expect(resident.last == true, "the unaligned tail goes through the cache")
    }

    /// Runs longer than the staging buffer are written in several parts,
    /// in order, also when a chunk straddles the staging buffer's end (5 000
    /// bytes each here, so every flush splits one).
    @Test func runsLongerThanTheStagingBufferLandInOrder() throws {
        let directory = TemporaryDirectory()
        let length = DirectFileWriter.stagingCapacity * 2 + 3 * 16_384
        let content = pseudoRandomBytes(count: length, seed: 22)
        let info = TorrentStorageTests.info(name: "big.bin", files: nil, content: content, pieceLength: 1 << 20)
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        try content.withUnsafeBytes { bytes in
            let chunks = stride(from: 0, to: length, by: 5_000).map {
                UnsafeRawBufferPointer(rebasing: bytes[$0..<min(length, $0 + 5_000)])
            }
            try storage.write(chunks, at: 0)
        }
        let direct = try Self.supportsDirectWrites(in: directory.path)
        #expect(storage.writesDirectly(file: 0) == direct)
        #expect(storage.verifyAll(threads: 2).isComplete)
        try storage.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/big.bin")) == Data(content))
    }

    /// A run a little longer than the staging buffer is written in equal
    /// aligned parts, not a full buffer and a small rest (which costs the
    /// device nearly as much as a full write).
    @Test func longRunsAreWrittenInEqualParts() {
        let capacity = DirectFileWriter.stagingCapacity
        let alignment = DirectFileWriter.alignment
        #expect(DirectFileWriter.partLength(of: capacity, capacity: capacity) == capacity)
        #expect(DirectFileWriter.partLength(of: capacity + alignment, capacity: capacity) == capacity / 2 + alignment)
        for length in stride(from: alignment, through: 3 * capacity, by: 61 * alignment) {
            let part = DirectFileWriter.partLength(of: length, capacity: capacity)
            let parts = (length + part - 1) / part
            #expect(part % alignment == 0 && part <= capacity)
            #expect(parts == (length + capacity - 1) / capacity, "no more writes than full buffers would take")
            let last = length - (parts - 1) * part
            #expect(last > 0 && part - last <= parts * alignment, "\(length): parts of \(part), the last \(last)")
        }
    }

    /// Alignment counts within each file: b starts at stream offset 10 000,
    /// so its blocks are not aligned in it and all of b goes through the
    /// cache (not even its first 4 KiB directly: a second descriptor for
    /// that is not worth it); a's aligned start goes directly, its tail
    /// through the cache, and both files are exact.
    @Test func unalignedFilesUseTheCache() throws {
        let a = pseudoRandomBytes(count: 10_000, seed: 23)
        let b = pseudoRandomBytes(count: 70_000, seed: 24)
        let directory = TemporaryDirectory()
        let content = a + b
        let info = TorrentStorageTests.info(name: "pack", files: [(["a"], 10_000, false), (["b"], 70_000, false)], content: content)
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        for start in stride(from: 0, to: content.count, by: 16_384) {
            let slice = Array(content[start..<min(content.count, start + 16_384)])
            try slice.withUnsafeBytes { try storage.write($0, at: Int64(start)) }
        }
        #expect(storage.writesDirectly(file: 0) == (try Self.supportsDirectWrites(in: directory.path)))
        #expect(!storage.writesDirectly(file: 1))
        #expect(storage.verifyAll(threads: 2).isComplete)
        try storage.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/pack/a")) == Data(a))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/pack/b")) == Data(b))
    }

    /// Finished data is opened read only, and a direct descriptor reopened
    /// from it must not be writable either: a late write fails and changes
    /// nothing (root is not stopped by the file's mode).
    @Test func finishedDataIsNeverWrittenDirectly() throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: 65_536, seed: 26)
        let info = TorrentStorageTests.info(name: "f.bin", files: nil, content: content)
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        try content.withUnsafeBytes { try storage.write($0, at: 0) }
        try storage.finish()
        let other = [UInt8](repeating: 0x5A, count: 16_384)
        #expect(throws: TorrentStorage.StorageError.self) { try other.withUnsafeBytes { try storage.write($0, at: 0) } }
        #expect(!storage.writesDirectly(file: 0))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/f.bin")) == Data(content))
    }

    /// Direct descriptors are capped (`maxDescriptors`): a torrent of more
    /// aligned files than that writes the rest through the cache, exactly.
    @Test func directDescriptorsAreCapped() throws {
        let directory = TemporaryDirectory()
        let count = DirectFileWriter.maxDescriptors + 6
        let content = pseudoRandomBytes(count: count * 4096, seed: 27)
        let files = (0..<count).map { (path: ["f\($0)"], length: 4096, padding: false) }
        let info = TorrentStorageTests.info(name: "many", files: files, content: content)
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path))
        try content.withUnsafeBytes { try storage.write($0, at: 0) }
        let direct = (0..<count).filter { storage.writesDirectly(file: $0) }.count
        let supported = try Self.supportsDirectWrites(in: directory.path)
        #expect(direct == (supported ? DirectFileWriter.maxDescriptors : 0))
        #expect(storage.verifyAll(threads: 2).isComplete)
    }

    /// A storage that opts out writes even aligned data through the cache.
    @Test func optingOutKeepsAlignedWritesInTheCache() throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: 65_536, seed: 25)
        let info = TorrentStorageTests.info(name: "c.bin", files: nil, content: content)
        let storage = TorrentStorage(info: info, location: .download(directory: directory.path), directWrites: false)
        try content.withUnsafeBytes { try storage.write($0, at: 0) }
        #expect(!storage.writesDirectly(file: 0))
        let resident = try Self.residentPages(of: "\(directory.path)/c.bin.part")
        #expect(resident.allSatisfy { $0 }, "buffered writes stay in the cache: \(resident)")
    }
}
