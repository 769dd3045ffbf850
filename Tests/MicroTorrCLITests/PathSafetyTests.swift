import Foundation
import Metainfo
import TestSupport
import Testing

/// Hostile paths on the appliance's own disk (issue #8): symbolic links
/// planted in `share_dir`, `download_dir` and the inbox, names that collide
/// with existing files. Nothing is read or written outside the configured
/// directories, and nothing existing is replaced without verification.
@Suite("Hostile paths", .serialized)
struct PathSafetyTests {
    /// Links in the share are not followed: a link at the top is not
    /// shared, links inside a shared folder are left out of its torrent.
    @Test func linksInTheShareAreNotShared() throws {
        let a = DaemonFixture(embeddedTracker: true)
        let outside = TemporaryDirectory()
        try outside.randomFile("secret.txt", size: 40_000)
        try outside.randomFile("private/key.bin", size: 40_000)
        try FileManager.default.createDirectory(atPath: "\(a.share)/docs", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(a.share)/secret-link", withDestinationPath: "\(outside.path)/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: "\(a.share)/docs/leak.txt", withDestinationPath: "\(outside.path)/secret.txt")
        try FileManager.default.createSymbolicLink(atPath: "\(a.share)/docs/private", withDestinationPath: "\(outside.path)/private")
        try Data(pseudoRandomBytes(count: 30_000, seed: 91)).write(to: URL(fileURLWithPath: "\(a.share)/docs/readme.txt"))
        try a.start(settleSeconds: 0.5)

        let docs = "\(a.torrents)/docs.mtorrent"
        #expect(DaemonFixture.waitForFile(docs), "\(a.log)")
        let info = try jsonObject(try ProcessRunner.microtorr(["info", "--json", docs]).stdout)
        let paths = (info["files"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(paths == ["docs/readme.txt"], "\(info)")
        Thread.sleep(forTimeInterval: 2)  // room for a wrong second torrent
        let made = try FileManager.default.contentsOfDirectory(atPath: a.torrents).filter { !$0.hasPrefix(".") }
        #expect(made == ["docs.mtorrent"], "\(made)")
        #expect(a.stop().status == 0)
    }

    /// The inbox against planted links and name collisions.
    @Test func inboxRefusesLinksAndCollisionsAndWritesNothingOutside() throws {
        let a = DaemonFixture(embeddedTracker: true)
        let b = DaemonFixture(embeddedTracker: false, trackerPort: a.trackerPort)
        let outside = TemporaryDirectory()
        let source = TemporaryDirectory()
        let announce = "http://127.0.0.1:\(a.trackerPort)/announce"
        /// A `.mtorrent` of `bytes` named `name`, made with `microtorr create`.
        func torrent(_ name: String, _ bytes: [UInt8]) throws -> String {
            try source.write(bytes, to: "\(name).d/\(name)")
            return "\(source.path)/" + (try Fixtures.makeTorrent(
                source, target: "\(name).d/\(name)", tracker: announce, pieceLength: "16K", output: "\(name).mtorrent"))
        }
        func dropInInbox(_ torrent: String, as name: String? = nil) throws {
            try FileManager.default.copyItem(atPath: torrent, toPath: "\(b.inbox)/\(name ?? (torrent as NSString).lastPathComponent)")
        }
        func refusal(_ name: String) -> String { b.refusalReason("\(name).mtorrent") ?? "(not refused)" }

        try a.start()
        try b.start(settleSeconds: 0.5, rescanSeconds: 1)

        // 1. A link at the final name, to a file holding the very data:
        //    neither written through nor seeded through.
        let photo = pseudoRandomBytes(count: 50_000, seed: 92)
        try Data(photo).write(to: URL(fileURLWithPath: "\(outside.path)/photo.jpg"))
        let photoBefore = try #require(FileSnapshot(atPath: "\(outside.path)/photo.jpg"))
        try FileManager.default.createSymbolicLink(atPath: "\(b.downloads)/photo.jpg", withDestinationPath: "\(outside.path)/photo.jpg")
        try dropInInbox(try torrent("photo.jpg", photo))
        #expect(refusal("photo.jpg").contains("symbolic link"))

        // 2. A dangling link at the final name is not replaced either.
        try FileManager.default.createSymbolicLink(atPath: "\(b.downloads)/dangling.bin", withDestinationPath: "\(outside.path)/made-by-us")
        try dropInInbox(try torrent("dangling.bin", pseudoRandomBytes(count: 20_000, seed: 93)))
        #expect(refusal("dangling.bin").contains("symbolic link"))

        // 3. A different file under the final name: verified, refused, untouched.
        let mine = pseudoRandomBytes(count: 60_000, seed: 94)
        try Data(mine).write(to: URL(fileURLWithPath: "\(b.downloads)/report.pdf"))
        try dropInInbox(try torrent("report.pdf", pseudoRandomBytes(count: 60_000, seed: 95)))
        #expect(refusal("report.pdf").contains("is not this torrent's data"), "\(b.log.suffix(4000))")
        #expect(FileManager.default.contents(atPath: "\(b.downloads)/report.pdf") == Data(mine))

        // 4. A torrent named like the daemon's own staging folder.
        // (Saved under a visible name: the inbox ignores hidden ones.)
        try dropInInbox(try torrent(".incoming", pseudoRandomBytes(count: 20_000, seed: 96)), as: "staging.mtorrent")
        #expect(refusal("staging").contains("staging folder"))

        // 5. The staging folder replaced by a link to elsewhere.
        try? FileManager.default.removeItem(atPath: "\(b.downloads)/.incoming")
        try FileManager.default.createDirectory(atPath: "\(outside.path)/staging", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(b.downloads)/.incoming", withDestinationPath: "\(outside.path)/staging")
        try dropInInbox(try torrent("movie.mkv", pseudoRandomBytes(count: 20_000, seed: 97)))
        #expect(refusal("movie.mkv").contains("symbolic link"))
        try FileManager.default.removeItem(atPath: "\(b.downloads)/.incoming")

        // 6. A link planted inside the staged tree of a folder torrent
        //    (A seeds it), above a folder that exists where it points: the
        //    download fails on it, writes nothing outside.
        try FileManager.default.createDirectory(atPath: "\(source.path)/album/sub/deep", withIntermediateDirectories: true)
        try Data(pseudoRandomBytes(count: 300_000, seed: 98)).write(to: URL(fileURLWithPath: "\(source.path)/album/sub/deep/track.bin"))
        try FileManager.default.copyItem(atPath: "\(source.path)/album", toPath: "\(a.share)/album")
        #expect(DaemonFixture.waitForFile("\(a.torrents)/album.mtorrent"), "\(a.log)")
        #expect(try a.waitForState("album", "seeding"))
        let info = try jsonObject(try ProcessRunner.microtorr(["info", "--json", "\(a.torrents)/album.mtorrent"]).stdout)
        let hash = try #require(info["info_hash"] as? String)
        try FileManager.default.createDirectory(atPath: "\(b.downloads)/.incoming/\(hash)/album", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(outside.path)/planted/deep", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(b.downloads)/.incoming/\(hash)/album/sub", withDestinationPath: "\(outside.path)/planted")
        try FileManager.default.copyItem(atPath: "\(a.torrents)/album.mtorrent", toPath: "\(b.inbox)/album.mtorrent")
        #expect(refusal("album").contains("not a directory"))
        #expect(!FileManager.default.fileExists(atPath: "\(b.downloads)/album"))

        // 7. `.failed` replaced by a link: refused files stay in the inbox.
        try FileManager.default.moveItem(atPath: "\(b.inbox)/.failed", toPath: "\(outside.path)/failed-before")
        try FileManager.default.createDirectory(atPath: "\(outside.path)/failed", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(b.inbox)/.failed", withDestinationPath: "\(outside.path)/failed")
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: "\(b.inbox)/garbage.mtorrent"))
        #expect(b.waitForEvent("inbox.move_failed", timeout: 30) != nil, "\(b.log.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: "\(b.inbox)/garbage.mtorrent"))
        // Left alone, not refused again at every rescan (1 s here).
        Thread.sleep(forTimeInterval: 3)
        #expect(b.events("inbox.move_failed").count == 1, "\(b.events("inbox.move_failed"))")

        // Nothing was written outside: only what the test put there.
        let written = Set(try FileManager.default.subpathsOfDirectory(atPath: outside.path))
        let before = try FileManager.default.subpathsOfDirectory(atPath: "\(outside.path)/failed-before").map { "failed-before/\($0)" }
        #expect(written == Set(["failed", "failed-before", "photo.jpg", "planted", "planted/deep", "staging"] + before),
                "\(written.sorted())")
        // Not rewritten in place either (same bytes would not show it).
        #expect(FileSnapshot(atPath: "\(outside.path)/photo.jpg") == photoBefore)
        #expect(b.stop().status == 0)
        #expect(a.stop().status == 0)
    }
}

