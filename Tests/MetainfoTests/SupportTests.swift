import Foundation
import TestSupport
import Metainfo
import Testing

@Suite("Piece length, file layout, atomic writes")
struct SupportTests {
    @Test func parsesPieceLengthArguments() {
        #expect(PieceLength(argument: "auto") == .auto)
        #expect(PieceLength(argument: "262144") == .fixed(262_144))
        #expect(PieceLength(argument: "256K") == .fixed(262_144))
        #expect(PieceLength(argument: "256KiB") == .fixed(262_144))
        #expect(PieceLength(argument: "4M") == .fixed(4 << 20))
        #expect(PieceLength(argument: "4mib") == .fixed(4 << 20))
        #expect(PieceLength(argument: "abc") == nil)
        #expect(PieceLength(argument: "-5") == nil)
        #expect(PieceLength(argument: "99999999999999999999M") == nil)
        #expect(PieceLength.fixed(100_000).problem != nil)
        #expect(PieceLength.fixed(8192).problem != nil)
        #expect(PieceLength.fixed(16384).problem == nil)
    }

    @Test("auto piece length gives about 1000-2000 pieces", arguments: [
        Int64(100 << 20), Int64(1 << 30), Int64(3_000_000_000), Int64(30) << 30,
    ])
    func autoPieceLength(total: Int64) {
        let length = PieceLength.auto.resolved(forTotalLength: total)
        #expect(length & (length - 1) == 0)
        let pieces = (total + Int64(length) - 1) / Int64(length)
        #expect((1000...2000).contains(pieces))
    }

    @Test func autoPieceLengthIsClampedAtBothEnds() {
        #expect(PieceLength.auto.resolved(forTotalLength: 1000) == 16 << 10)
        // Past 2000 × 16 MiB the piece count grows instead (50 GiB: 3200 pieces).
        #expect(PieceLength.auto.resolved(forTotalLength: Int64(50) << 30) == 16 << 20)
        #expect(PieceLength.auto.resolved(forTotalLength: Int64(1) << 50) == 16 << 20)
    }

    @Test func layoutMapsStreamRangesOntoFiles() {
        let layout = FileLayout(lengths: [10, 0, 5, 20])
        #expect(layout.totalLength == 35)
        #expect(layout.segments(offset: 0, length: 35) == [
            .init(fileIndex: 0, offsetInFile: 0, length: 10),
            .init(fileIndex: 2, offsetInFile: 0, length: 5),
            .init(fileIndex: 3, offsetInFile: 0, length: 20),
        ])
        #expect(layout.segments(offset: 8, length: 10) == [
            .init(fileIndex: 0, offsetInFile: 8, length: 2),
            .init(fileIndex: 2, offsetInFile: 0, length: 5),
            .init(fileIndex: 3, offsetInFile: 0, length: 3),
        ])
        #expect(layout.segments(offset: 34, length: 1) == [.init(fileIndex: 3, offsetInFile: 19, length: 1)])
        #expect(layout.segments(offset: 10, length: 0) == [])
    }

    @Test func atomicWriteReplacesWholeFileAndLeavesNoTemporaries() throws {
        let directory = TemporaryDirectory()
        let path = "\(directory.path)/out.mtorrent"
        try FileIO.writeAtomically(Array("first".utf8), toPath: path)
        try FileIO.writeAtomically(Array("second".utf8), toPath: path)
        #expect(try FileIO.readWholeFile(atPath: path, maxBytes: 100) == Array("second".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.mtorrent"])
        #expect(throws: FileIOError.self) { try FileIO.writeAtomically([1], toPath: "\(directory.path)/missing/x") }
        #expect(throws: FileIOError.self) { try FileIO.readWholeFile(atPath: path, maxBytes: 3) }
        // A name near the 255-byte limit (240 bytes; its temporary's cut
        // falls inside a two-byte character): the temporary fits too.
        let long = "\(directory.path)/a\(String(repeating: "é", count: 115)).mtorrent"
        try FileIO.writeAtomically(Array("long".utf8), toPath: long)
        #expect(try FileIO.readWholeFile(atPath: long, maxBytes: 100) == Array("long".utf8))
    }

    @Test func sha1HashHexRoundTrips() throws {
        let hash = try #require(SHA1Hash(hex: "00112233445566778899AABBCCDDEEFF00112233"))
        #expect(hash.hex == "00112233445566778899aabbccddeeff00112233")
        #expect(SHA1Hash(hex: "0011") == nil)
        #expect(SHA1Hash(hex: String(repeating: "g", count: 40)) == nil)
        #expect(SHA1Hash(bytes: [1, 2]) == nil)
    }
}

@Suite("Fast random numbers")
struct FastRandomTests {
    @Test func seededSequencesRepeatAndDiffer() {
        var a = FastRandom(seed: 42), b = FastRandom(seed: 42), c = FastRandom(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        #expect(Set(first).count == 8)
    }

    /// Ties among equally rare pieces and the tracker's starting peer rely
    /// on every choice being about as likely.
    @Test func boundedChoicesAreRoughlyUniform() {
        var random = FastRandom(seed: 7)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[Int.random(in: 0..<10, using: &random)] += 1 }
        #expect(counts.allSatisfy { $0 > 9_500 && $0 < 10_500 }, "\(counts)")
    }
}

@Suite("C functions looked up at run time")
struct CFunctionTests {
    /// The memory tuning and early writeback are silently skipped when the
    /// lookup fails: on glibc both functions must be found. (Not called:
    /// mallopt would retune the whole test process.)
    @Test func findsGlibcExtensionsAndNothingElse() throws {
        #expect(lookUpCFunction("mallopt", as: (@convention(c) (Int32, Int32) -> Int32).self) != nil)
        #expect(lookUpCFunction("sync_file_range", as: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self) != nil)
        #expect(lookUpCFunction("no_such_function_in_libc", as: (@convention(c) () -> Void).self) == nil)
    }
}

@Suite("Vectored writes")
struct VectoredWriteTests {
    /// A run of received blocks is written with one call: more pieces than
    /// one pwritev takes (1024), and empty ones among them, land in order.
    @Test func writesEveryVectorInOrderPastTheKernelLimit() throws {
        let directory = TemporaryDirectory()
        let path = "\(directory.path)/out.bin"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        let sizes = (0..<1500).map { $0 % 7 == 0 ? 0 : 1 + $0 % 5 }
        let bytes = (0..<sizes.reduce(0, +)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            var vectors: [iovec] = sizes.map { size in
                defer { offset += size }
                return iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + offset), iov_len: size)
            }
            try FileIO.writeFully(fd: fd, vectors: &vectors, at: 100, path: path)
        }
        let written = try FileIO.readWholeFile(atPath: path, maxBytes: 1 << 20)
        #expect(written.count == 100 + bytes.count)
        #expect(Array(written.dropFirst(100)) == bytes)
    }
}
