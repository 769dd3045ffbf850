import Engine
import Foundation
import Metainfo
import PeerWire
import Testing
@testable import Appliance
import TestSupport

/// What decides when a dropped entry is taken and what a restart trusts:
/// settling, fingerprints, the hashing cache and the seeding records.
@Suite("Share state")
struct ShareStateTests {
    @Test func workInProgressAndHiddenNamesAreIgnored() {
        for name in [".hidden", "movie.mkv.part", "draft.tmp", "notes.txt~", ".incoming-123"] {
            #expect(DropRules.isIgnored(name), "\(name)")
        }
        for name in ["movie.mkv", "partial.txt", "tmp", "a~b", "album"] {
            #expect(!DropRules.isIgnored(name), "\(name)")
        }
    }

    @Test func aFreshFileIsNotSettledAndAnOldOneIs() throws {
        let directory = TemporaryDirectory()
        try directory.write([1, 2, 3], to: "fresh.bin")
        let probe = try #require(ShareProbe(name: "fresh.bin", in: directory.path))
        #expect(!probe.isSettled(now: ShareProbe.now(), settle: 5))
        #expect(probe.isSettled(now: ShareProbe.now() + 5.1, settle: 5))
        #expect(probe.fingerprint.keys.sorted() == [""])
        #expect(probe.fingerprint[""]?.size == 3)
    }

    /// A folder: every file counts, hidden ones only as activity; a file
    /// still being written (`.part`) keeps the folder unsettled, until it
    /// has not changed for `abandonedAfter` (a leftover).
    @Test func aFolderIsFingerprintedWithoutHiddenFilesAndWaitsForPartFiles() throws {
        let directory = TemporaryDirectory()
        try directory.write([1], to: "album/a.flac")
        try directory.write([2, 2], to: "album/disc/b.flac")
        try directory.write([3], to: "album/.DS_Store")
        var probe = try #require(ShareProbe(name: "album", in: directory.path))
        #expect(probe.fingerprint.keys.sorted() == ["a.flac", "disc/b.flac"])
        #expect(probe.inProgressFile == nil)
        try directory.write([4], to: "album/disc/c.flac.part")
        probe = try #require(ShareProbe(name: "album", in: directory.path))
        #expect(probe.inProgressFile == "disc/c.flac.part")
        let changed = try #require(probe.inProgressChange)
        #expect(!probe.isSettled(now: changed + 2, settle: 1))
        #expect(!probe.isSettled(now: changed + ShareProbe.abandonedAfter(settle: 1) - 0.5, settle: 1))
        #expect(probe.isSettled(now: changed + ShareProbe.abandonedAfter(settle: 1) + 0.1, settle: 1))
        #expect(ShareProbe.abandonedAfter(settle: 20) == 600)
    }

    @Test func emptyEntriesAndLinksAreNotShareable() throws {
        let directory = TemporaryDirectory()
        try directory.write([], to: "empty.bin")
        try FileManager.default.createDirectory(atPath: "\(directory.path)/emptydir", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(directory.path)/link", withDestinationPath: "/etc/passwd")
        #expect(ShareProbe(name: "empty.bin", in: directory.path) == nil)
        #expect(ShareProbe(name: "emptydir", in: directory.path) == nil)
        #expect(ShareProbe(name: "link", in: directory.path) == nil)
        #expect(ShareProbe(name: "missing", in: directory.path) == nil)
    }

    /// The fingerprint changes with content, and with a replaced file of
    /// the same size and time (another inode): the cache must not trust it.
    @Test func fingerprintsFollowContentAndInode() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write([1, 2, 3], to: "f.bin")
        let first = try #require(ShareProbe(name: "f.bin", in: directory.path)).fingerprint
        try Data([1, 2, 3, 4]).write(to: URL(fileURLWithPath: path))
        let grown = try #require(ShareProbe(name: "f.bin", in: directory.path)).fingerprint
        #expect(grown != first)
        let other = try directory.write([9, 9, 9, 9], to: "other.bin")
        let stamp = try #require(FileSnapshot(atPath: path))
        let time = timespec(tv_sec: Int(stamp.modifiedNanoseconds / 1_000_000_000), tv_nsec: Int(stamp.modifiedNanoseconds % 1_000_000_000))
        var times = [time, time]
        #expect(utimensat(AT_FDCWD, other, &times, 0) == 0)
        #expect(rename(other, path) == 0)
        let replaced = try #require(ShareProbe(name: "f.bin", in: directory.path)).fingerprint
        #expect(replaced[""]?.size == grown[""]?.size && replaced[""]?.modifiedNanoseconds == grown[""]?.modifiedNanoseconds)
        #expect(replaced != grown)
    }

    @Test func theHashingCacheRoundTripsAndRefusesDamage() throws {
        let directory = TemporaryDirectory()
        var catalog = ShareCatalog()
        let hash = try #require(SHA1Hash(bytes: [UInt8](repeating: 7, count: 20)))
        catalog["holiday.bin"] = .init(fingerprint: ["": FileSnapshot(device: 1, inode: 2, size: 3, modifiedNanoseconds: 4)], infoHash: hash)
        catalog["album"] = .init(fingerprint: [
            "a.flac": FileSnapshot(device: 1, inode: 5, size: 6, modifiedNanoseconds: 7),
            "disc/b.flac": FileSnapshot(device: 1, inode: UInt64.max, size: 8, modifiedNanoseconds: -9),
        ], infoHash: hash)
        try directory.write(catalog.encoded(), to: ShareCatalog.fileName)
        #expect(ShareCatalog.load(fromDirectory: directory.path) == catalog)
        // Damaged or foreign: an empty cache (everything is hashed again).
        try directory.write(Array("d6:formati1ee".utf8), to: ShareCatalog.fileName)
        #expect(ShareCatalog.load(fromDirectory: directory.path) == ShareCatalog())
        try directory.write(Array(catalog.encoded().dropLast(3)), to: ShareCatalog.fileName)
        #expect(ShareCatalog.load(fromDirectory: directory.path) == ShareCatalog())
    }

    @Test func seedingRecordsRoundTrip() throws {
        let directory = TemporaryDirectory()
        let data = try directory.randomFile("movie.bin", size: 100_000)
        var options = MetainfoCreator.Options()
        options.pieceLength = .fixed(16_384)
        let metainfo = try MetainfoCreator(options: options).create(from: ContentSource(scanning: data))
        let storage = TorrentStorage(info: metainfo.info, location: .existing(path: data))
        let record = SeedingRecord(
            metainfoBytes: metainfo.encoded(), dataPath: data,
            resume: ResumeState(infoHash: metainfo.infoHash, have: Bitfield(count: metainfo.info.pieceCount, allSet: true),
                                files: storage.fileStamps()))
        let (decoded, decodedMetainfo) = try #require(SeedingRecord.decode(record.encoded()))
        #expect(decodedMetainfo.infoHash == metainfo.infoHash)
        #expect(decoded.dataPath == data)
        #expect(decoded.resume == record.resume)
        #expect(SeedingRecord.decode(Array(record.encoded().dropLast())) == nil)
    }
}

@Suite("Status report")
struct StatusReportTests {
    /// Hand-written JSON: names with quotes and control characters stay
    /// valid JSON; a torrent still hashing has no info-hash yet.
    @Test func statusIsValidJSONWithTheLimitsInForce() throws {
        var configuration = ApplianceConfiguration()
        configuration.limits.uploadKBps = 250
        let board = TorrentBoard(configuration: configuration)
        board.set("share:x", .init(name: "odd \"name\"\n\u{1}", infoHash: nil, origin: "share", stage: .hashing, session: nil))
        let report = StatusReport(board: board)
        let reply = report.reply(target: "/status")
        #expect(reply.status == 200 && reply.contentType == "application/json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
        #expect((root["limits"] as? [String: Any])?["upload_kbps"] as? Int == 250)
        let torrent = try #require((root["torrents"] as? [[String: Any]])?.first)
        #expect(torrent["name"] as? String == "odd \"name\"\n\u{1}")
        #expect(torrent["state"] as? String == "hashing")
        #expect(torrent["info_hash"] is NSNull)
        let metrics = String(decoding: report.reply(target: "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("microtorr_daemon_torrents{state=\"hashing\"} 1"))
        #expect(report.reply(target: "/nope").status == 404)
    }
}
