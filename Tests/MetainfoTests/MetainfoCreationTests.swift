import Crypto
import Foundation
import TestSupport
import Metainfo
import Testing

@Suite("Creating metainfo")
struct MetainfoCreationTests {
    /// Piece hashes computed the obvious way, to check the parallel hasher.
    private func referencePieces(_ content: [UInt8], pieceLength: Int) -> [UInt8] {
        stride(from: 0, to: content.count, by: pieceLength).flatMap { start in
            Array(Insecure.SHA1.hash(data: content[start..<min(content.count, start + pieceLength)]))
        }
    }

    private func options(pieceLength: PieceLength = .auto, threads: Int = 2) -> MetainfoCreator.Options {
        var options = MetainfoCreator.Options()
        options.pieceLength = pieceLength
        options.threads = threads
        options.creationDate = nil
        return options
    }

    @Test("single file hashes match a reference for every piece", arguments: [
        (100_000, 16384, 1), (100_000, 16384, 2), (16384 * 3, 16384, 3), (1, 16384, 2),
        (5_000_001, 1 << 20, 2), (9_000_000, 8 << 20, 2), (9_000_000, 8 << 20, 7),
    ])
    func singleFile(size: Int, pieceLength: Int, threads: Int) throws {
        let directory = TemporaryDirectory()
        let content = pseudoRandomBytes(count: size, seed: UInt64(size))
        let path = try directory.write(content, to: "data.bin")
        let metainfo = try MetainfoCreator(options: options(pieceLength: .fixed(pieceLength), threads: threads))
            .create(from: ContentSource(scanning: path))
        #expect(metainfo.info.pieces == referencePieces(content, pieceLength: pieceLength))
        #expect(metainfo.info.idHash?.bytes == Array(Insecure.SHA1.hash(data: content)))
        #expect(metainfo.info.name == "data.bin")
        #expect(metainfo.info.files == [FileEntry(path: [], length: Int64(size))])
        // What we write loads back identically.
        let loaded = try Metainfo(bencoded: metainfo.encoded())
        #expect(loaded == metainfo)
    }

    @Test func directoryBecomesSortedMultiFileTorrentWithPiecesAcrossFiles() throws {
        let directory = TemporaryDirectory()
        let files: [(String, Int)] = [("b/z.bin", 30_000), ("a.bin", 10_000), ("b/empty", 0), ("b/c/d.bin", 50_001), ("c.bin", 1)]
        var byPath: [String: [UInt8]] = [:]
        for (index, (name, size)) in files.enumerated() {
            let bytes = pseudoRandomBytes(count: size, seed: UInt64(index + 1))
            byPath[name] = bytes
            try directory.write(bytes, to: "share/\(name)")
        }
        symlink("/etc/passwd", "\(directory.path)/share/link-outside")
        let source = try ContentSource(scanning: "\(directory.path)/share")
        #expect(source.skipped == ["\(directory.path)/share/link-outside"])
        #expect(source.isMultiFile)
        #expect(source.name == "share")
        #expect(source.files.map { $0.path.joined(separator: "/") } == ["a.bin", "b/c/d.bin", "b/empty", "b/z.bin", "c.bin"])
        let content = source.files.flatMap { byPath[$0.path.joined(separator: "/")]! }
        for threads in [1, 3] {
            let metainfo = try MetainfoCreator(options: options(pieceLength: .fixed(16384), threads: threads)).create(from: source)
            #expect(metainfo.info.pieces == referencePieces(content, pieceLength: 16384))
            #expect(metainfo.info.idHash?.bytes == Array(Insecure.SHA1.hash(data: content)))
            #expect(try Metainfo(bencoded: metainfo.encoded()) == metainfo)
        }
    }

    @Test func withoutIDHashTheFieldIsAbsent() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write(pseudoRandomBytes(count: 70_000, seed: 3), to: "f")
        var noID = options()
        noID.includesIDHash = false
        let metainfo = try MetainfoCreator(options: noID).create(from: ContentSource(scanning: path))
        #expect(metainfo.info.idHash == nil)
        #expect(!metainfo.infoBytes.contains(subsequence: Array("id_hash".utf8)))
    }

    @Test func trackersFormAnnounceAndTiers() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write([1, 2, 3], to: "f")
        var withTrackers = options()
        withTrackers.trackers = ["http://a/announce", "http://b/announce"]
        withTrackers.isPrivate = true
        withTrackers.comment = "c"
        let metainfo = try MetainfoCreator(options: withTrackers).create(from: ContentSource(scanning: path))
        #expect(metainfo.announce == "http://a/announce")
        #expect(metainfo.announceList == [["http://a/announce"], ["http://b/announce"]])
        var single = options()
        single.trackers = ["http://only/announce"]
        #expect(try MetainfoCreator(options: single).create(from: ContentSource(scanning: path)).announceList == [["http://only/announce"]])
        #expect(metainfo.info.isPrivate)
        #expect(metainfo.createdBy == "MicroTorr/\(MicroTorrVersion.string)")
        #expect(try Metainfo(bencoded: metainfo.encoded()) == metainfo)
    }

    @Test func refusesEmptyContentAndUnsafeNames() throws {
        let directory = TemporaryDirectory()
        let empty = try directory.write([], to: "empty")
        #expect(throws: CreationError.emptyContent(empty)) { try ContentSource(scanning: empty) }
        try directory.write([1], to: "bad/a\\b")
        #expect(throws: CreationError.unsupportedPath("\(directory.path)/bad/a\\b", "its name contains '\\'")) {
            try ContentSource(scanning: "\(directory.path)/bad")
        }
        #expect(throws: CreationError.self) { try ContentSource(scanning: "\(directory.path)/missing") }
    }

    @Test func fileShrinkingDuringHashingIsAnError() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write(pseudoRandomBytes(count: 100_000, seed: 9), to: "f")
        let source = try ContentSource(scanning: path)
        truncate(path, 50_000)
        #expect(throws: CreationError.fileChanged(path)) {
            try MetainfoCreator(options: options()).create(from: source)
        }
    }

    @Test func failureInOneWorkerStopsAllWithTheCause() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write(pseudoRandomBytes(count: 8 << 20, seed: 5), to: "big")
        let source = try ContentSource(scanning: path)
        truncate(path, 1 << 20)
        for threads in [1, 2, 4] {
            #expect(throws: CreationError.fileChanged(path)) {
                try MetainfoCreator(options: options(pieceLength: .fixed(16384), threads: threads)).create(from: source)
            }
        }
    }

    @Test func fileModifiedAfterTheScanIsReported() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write(pseudoRandomBytes(count: 100_000, seed: 6), to: "grows")
        let source = try ContentSource(scanning: path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3]))
        try handle.close()
        #expect(throws: CreationError.fileChanged(path)) { try MetainfoCreator(options: options()).create(from: source) }
    }

    @Test func reportsProgressForEveryByte() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write(pseudoRandomBytes(count: 300_000, seed: 4), to: "f")
        let progress = HashProgress()
        let creator = MetainfoCreator(options: options(pieceLength: .fixed(16384)))
        let source = try ContentSource(scanning: path)
        _ = try creator.create(from: source, progress: progress)
        // Pieces and the whole-content hash each read every byte once.
        #expect(progress.bytesHashed == 600_000)
        #expect(creator.workBytes(for: source) == 600_000)
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { self[$0..<$0 + subsequence.count].elementsEqual(subsequence) }
    }
}
