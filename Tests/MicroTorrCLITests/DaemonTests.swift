import Foundation
import Bencode
import TestSupport
import Testing

/// The appliance end to end (issue #6): real `microtorr daemon` processes
/// with their own directories and YAML files on loopback, a real libtorrent
/// peer, files dropped and edited as users and admins do.
@Suite("microtorr daemon", .serialized)
struct DaemonTests {
    /// A drops a file into its share; B gets its `.mtorrent` in the inbox,
    /// downloads, verifies, moves it into downloads and seeds it, so that
    /// libtorrent can fetch it from B alone.
    @Test func twoDaemonsShareThenDownloadThenSeedToLibtorrent() throws {
        let a = DaemonFixture(embeddedTracker: true)
        let b = DaemonFixture(embeddedTracker: false, trackerPort: a.trackerPort)
        try a.start()
        try b.start()
        let content = pseudoRandomBytes(count: 3_000_000 + 12_345, seed: 61)
        try DaemonFixture.drop(content, at: "\(a.share)/holiday.bin")

        let torrent = "\(a.torrents)/holiday.bin.mtorrent"
        #expect(DaemonFixture.waitForFile(torrent), "A made no .mtorrent: \(a.log)")
        #expect(a.waitForEvent("torrent.created") { $0["torrent"] as? String == "holiday.bin" } != nil)
        #expect(try a.waitForState("holiday.bin", "seeding"))

        // Copied into B's inbox the plain way (not atomically).
        try FileManager.default.copyItem(atPath: torrent, toPath: "\(b.inbox)/holiday.bin.mtorrent")
        let finished = b.waitForEvent("download.finished", timeout: 90)
        #expect(finished != nil, "B did not finish: \(b.log)")
        let downloaded = "\(b.downloads)/holiday.bin"
        #expect(FileManager.default.contents(atPath: downloaded) == Data(content))
        #expect(FileManager.default.fileExists(atPath: "\(b.inbox)/.done/holiday.bin.mtorrent"))
        #expect(!FileManager.default.fileExists(atPath: "\(b.inbox)/holiday.bin.mtorrent"))
        // Nothing unverified was ever under the final name or left behind.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "\(b.downloads)/.incoming")) ?? []).isEmpty)
        #expect(try b.waitForState("holiday.bin", "seeding"))
        #expect(try eventually { (try a.torrentStatus(named: "holiday.bin")?["uploaded"] as? Int ?? 0) >= content.count })

        // A third peer, libtorrent, is given B only.
        a.stop()
        let scratch = TemporaryDirectory()
        let leech = try ProcessRunner.libtorrentTool(
            ["leech", torrent, scratch.path, "127.0.0.1:\(b.peerPort)", "60"], in: scratch.path)
        let report = try jsonObject(leech.stdout.split(separator: "\n").last.map(String.init) ?? "")
        #expect(report["finished"] as? Bool == true, "\(leech.stdout) \(leech.stderr)")
        #expect(FileManager.default.contents(atPath: "\(scratch.path)/holiday.bin") == Data(content))
        #expect(b.stop().status == 0)
    }

    /// A file written in chunks over a few seconds (closed and reopened
    /// between chunks) is shared once, from its final content.
    @Test func slowlyWrittenFileIsSharedOnceWithItsFinalContent() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 1.5)
        let path = "\(a.share)/slow.bin"
        let content = pseudoRandomBytes(count: 12 * 100_000, seed: 62)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        for chunk in 0..<12 {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: content[chunk * 100_000..<(chunk + 1) * 100_000])
            try handle.close()
            usleep(250_000)
        }
        let created = a.waitForEvent("torrent.created") { $0["torrent"] as? String == "slow.bin" }
        #expect(created != nil, "\(a.log)")
        usleep(3_000_000)  // room for any second, wrong, creation
        #expect(a.events("torrent.created").count == 1)
        #expect(a.events("torrent.retired").isEmpty)

        // The same torrent `microtorr create` makes from the final file.
        let reference = try ProcessRunner.microtorr(["create", path, "-o", "\(a.root)/reference.mtorrent", "-v", "0"])
        #expect(reference.status == 0)
        let info = try ProcessRunner.microtorr(["info", "--json", "\(a.root)/reference.mtorrent"])
        #expect(created?["info_hash"] as? String == (try jsonObject(info.stdout)["info_hash"] as? String))
        #expect(a.stop().status == 0)
    }

    /// Changing a shared file retires its torrent for a new one; removing
    /// it stops the torrent and removes its `.mtorrent`.
    @Test func changedAndRemovedSharesFollowTheDisk() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.5)
        let path = "\(a.share)/notes.txt"
        try DaemonFixture.drop(pseudoRandomBytes(count: 50_000, seed: 1), at: path)
        let first = try #require(a.waitForEvent("torrent.created"))
        try DaemonFixture.drop(pseudoRandomBytes(count: 60_000, seed: 2), at: path)
        let second = a.waitForEvent("torrent.created") { $0["info_hash"] as? String != first["info_hash"] as? String }
        #expect(second != nil, "\(a.log)")
        #expect(a.events("torrent.retired").first?["info_hash"] as? String == first["info_hash"] as? String)
        let metainfo = try ProcessRunner.microtorr(["info", "--json", "\(a.torrents)/notes.txt.mtorrent"])
        #expect(try jsonObject(metainfo.stdout)["info_hash"] as? String == second?["info_hash"] as? String)

        try FileManager.default.removeItem(atPath: path)
        #expect(a.waitForEvent("share.removed") != nil)
        #expect(!FileManager.default.fileExists(atPath: "\(a.torrents)/notes.txt.mtorrent"))
        #expect(try a.torrentStatus(named: "notes.txt") == nil)
        // A folder becomes one multi-file torrent; names in progress are left alone.
        try FileManager.default.createDirectory(atPath: "\(a.share)/album/disc1", withIntermediateDirectories: true)
        try Data(pseudoRandomBytes(count: 40_000, seed: 3)).write(to: URL(fileURLWithPath: "\(a.share)/album/disc1/a.flac"))
        try Data(pseudoRandomBytes(count: 30_000, seed: 4)).write(to: URL(fileURLWithPath: "\(a.share)/album/b.flac"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(a.share)/draft.part"))
        #expect(a.waitForEvent("torrent.created") { $0["torrent"] as? String == "album" } != nil)
        let album = try ProcessRunner.microtorr(["info", "--json", "\(a.torrents)/album.mtorrent"])
        #expect((try jsonObject(album.stdout)["files"] as? [Any])?.count == 2)
        #expect(!FileManager.default.fileExists(atPath: "\(a.torrents)/draft.part.mtorrent"))
        #expect(a.stop().status == 0)
    }

    /// A shared file removed while it is being hashed is not shared: no
    /// `.mtorrent`, no `/status` entry, no error, and the queue goes on.
    /// (A sparse 1 GiB file keeps the hashing busy for a second or more; the next
    /// share is hashed only after it, so its `.mtorrent` marks the end.
    /// The hashing fails its final unchanged check; the unlink for a
    /// removal after that check, a moment's window, is not reached here.)
    @Test func aShareRemovedWhileHashedLeavesNoTorrent() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.5)
        try a.shareSparseFileWhileHashed("big.bin", size: 1 << 30)
        try FileManager.default.removeItem(atPath: "\(a.share)/big.bin")
        try DaemonFixture.drop(pseudoRandomBytes(count: 50_000, seed: 5), at: "\(a.share)/after.bin")
        #expect(a.waitForEvent("torrent.created") { $0["torrent"] as? String == "after.bin" } != nil, "\(a.log.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: "\(a.torrents)/big.bin.mtorrent"))
        #expect(a.events("torrent.created").allSatisfy { $0["torrent"] as? String != "big.bin" })
        #expect(try a.torrentStatus(named: "big.bin") == nil)
        #expect(a.events("share.failed").isEmpty, "a removal is not a failure")
        #expect(a.stop().status == 0)
    }

    /// An entry that cannot be shared (its `.mtorrent` cannot be written:
    /// a folder holds the name) is tried again by the rescans, with
    /// back-off, and shared once the cause is gone, though the entry itself
    /// never changed. Before, it stayed unshared until touched or a restart.
    @Test func aShareThatFailedIsTriedAgainWithoutChanging() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try FileManager.default.createDirectory(atPath: "\(a.torrents)/blocked.bin.mtorrent/x", withIntermediateDirectories: true)
        try a.start(settleSeconds: 0.3, rescanSeconds: 1)
        try DaemonFixture.drop(pseudoRandomBytes(count: 40_000, seed: 41), at: "\(a.share)/blocked.bin")
        #expect(a.waitForEvent("share.failed", timeout: 30) != nil, "\(a.log.suffix(2000))")
        // 1 s rescans for 8 s: tried again after 1, 2, 4 s (not 8 times).
        Thread.sleep(forTimeInterval: 8)
        let attempts = a.events("share.failed").count
        #expect(attempts >= 2 && attempts <= 5, "\(attempts) attempts in 8 s")
        try FileManager.default.removeItem(atPath: "\(a.torrents)/blocked.bin.mtorrent")
        #expect(a.waitForEvent("torrent.created", timeout: 30) { $0["torrent"] as? String == "blocked.bin" } != nil, "\(a.log.suffix(2000))")
        #expect(try a.waitForState("blocked.bin", "seeding", timeout: 10))
        #expect(a.stop().status == 0)
    }

    /// Editing `upload_kbps` applies to the running daemon: `/status` shows
    /// the new limit and a libtorrent leecher's measured rate follows it.
    @Test func uploadLimitEditAppliesLive() throws {
        let a = DaemonFixture(embeddedTracker: true)
        a.uploadKBps = 300
        try a.start(settleSeconds: 0.3)
        let content = pseudoRandomBytes(count: 9_000_000, seed: 63)
        try DaemonFixture.drop(content, at: "\(a.share)/big.bin")
        #expect(try a.waitForState("big.bin", "seeding"))
        #expect((try a.status()["limits"] as? [String: Any])?["upload_kbps"] as? Int == 300)

        let scratch = TemporaryDirectory()
        let launched = Date()
        let leech = try Fixtures.interopPeer(
            "libtorrent_tool.py", ["leech", "\(a.torrents)/big.bin.mtorrent", scratch.path, "127.0.0.1:\(a.peerPort)", "90"],
            in: scratch.path)
        usleep(6_000_000)
        a.uploadKBps = 1500
        try a.writeConfig()
        let edited = Date().timeIntervalSince(launched)
        #expect(a.waitForEvent("config.reloaded", timeout: 20) != nil, "\(a.log)")
        #expect((try a.status()["limits"] as? [String: Any])?["upload_kbps"] as? Int == 1500)
        #expect(leech.waitForExit(timeout: 90))
        let report = try jsonObject(leech.stdout.split(separator: "\n").last.map(String.init) ?? "")
        #expect(report["finished"] as? Bool == true, "\(leech.stdout) \(leech.stderr)")
        let samples = (report["samples"] as? [[Double]] ?? []).map { ($0[0], $0[1]) }
        // Leecher time runs behind ours (its start-up), never ahead.
        let before = Fixtures.rate(samples, from: 1.5, to: edited - 1.5)?.rate
        let after = Fixtures.rate(samples, from: edited + 1.5, to: samples.last(where: { $0.1 < 0.98 * Double(content.count) })?.0 ?? 0)?.rate
        #expect(before.map { abs($0 / 300_000 - 1) < 0.2 } == true, "before: \(String(describing: before))")
        #expect(after.map { abs($0 / 1_500_000 - 1) < 0.2 } == true, "after: \(String(describing: after))")
        #expect(a.stop().status == 0)
    }

    /// A broken edit is logged with line:column (as `check-config` says it)
    /// and the daemon goes on with the old configuration; SIGHUP reloads.
    @Test func brokenEditIsRejectedAndTheDaemonKeepsServing() throws {
        let a = DaemonFixture(embeddedTracker: true)
        a.uploadKBps = 700
        try a.start(settleSeconds: 0.3)
        try a.writeConfig(a.yaml.replacingOccurrences(of: "  upload_kbps: 700", with: "  upload_kbps: 9O0\n  uplod_kbps: 5"))
        let rejected = a.waitForEvent("config.rejected", timeout: 20)
        let error = try #require(rejected?["error"] as? String, "\(a.log)")
        let check = try ProcessRunner.microtorr(["check-config", "--config", a.configPath])
        #expect(check.status != 0)
        let reported = check.stdout.split(separator: "\n").map(String.init)
        #expect(reported.contains(error))
        #expect(reported.count == 2)
        #expect(error.hasPrefix("\(a.configPath):"))
        #expect(reported.contains { $0.contains("did you mean") })
        // Still serving, on the old limits.
        #expect((try a.status()["limits"] as? [String: Any])?["upload_kbps"] as? Int == 700)
        try DaemonFixture.drop(pseudoRandomBytes(count: 10_000, seed: 5), at: "\(a.share)/after.bin")
        #expect(a.waitForEvent("torrent.created") { $0["torrent"] as? String == "after.bin" } != nil)

        a.uploadKBps = 800
        try a.writeConfig()
        #expect(a.waitForEvent("config.reloaded", timeout: 20) != nil)
        #expect((try a.status()["limits"] as? [String: Any])?["upload_kbps"] as? Int == 800)
        kill(a.process!.pid, SIGHUP)
        #expect(a.waitForEvent("config.reloaded", timeout: 20) { $0["trigger"] as? String == "SIGHUP" } != nil)
        #expect(a.stop().status == 0)
    }

    /// Anything in the inbox that is not a valid torrent goes to `.failed/`
    /// with a `.error` file saying why (there as soon as the file is: it is
    /// written first); hostile paths never touch the disk.
    @Test func invalidInboxFilesLandInFailedWithTheirReason() throws {
        let b = DaemonFixture(embeddedTracker: true)
        try b.start(settleSeconds: 0.3)
        try DaemonFixture.drop(Array("not bencode at all".utf8), at: "\(b.inbox)/garbage.mtorrent")
        // Looked at every millisecond: the moved file is never seen alone.
        let moved = "\(b.inbox)/.failed/garbage.mtorrent"
        #expect(eventually(timeout: 30, every: 0.001) { FileManager.default.fileExists(atPath: moved) })
        #expect(FileManager.default.fileExists(atPath: moved + ".error"), "moved before its reason was written")
        let hostile = Array("d4:infod6:lengthi5e4:name9:../../etc12:piece lengthi16384e6:pieces20:".utf8)
            + [UInt8](repeating: 0x41, count: 20) + Array("ee".utf8)
        try DaemonFixture.drop(hostile, at: "\(b.inbox)/hostile.mtorrent")
        var reasons: [String: String] = [:]
        for name in ["garbage.mtorrent", "hostile.mtorrent"] {
            reasons[name] = b.refusalReason(name)
            #expect(reasons[name] != nil, "\(b.log)")
            #expect(FileManager.default.fileExists(atPath: "\(b.inbox)/.failed/\(name)"))
            #expect(!FileManager.default.fileExists(atPath: "\(b.inbox)/\(name)"))
        }
        #expect(reasons["garbage.mtorrent"]?.contains("not a valid .mtorrent") == true)
        #expect(reasons["hostile.mtorrent"]?.contains("name") == true, "\(reasons)")
        #expect(b.events("inbox.failed").count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: b.downloads).filter { !$0.hasPrefix(".") }.isEmpty)
        #expect(b.stop().status == 0)
    }

    /// Data already in download_dir is verified and seeded, not fetched,
    /// though a seeder of it is on the tracker (a fetch would find it).
    @Test func existingDataIsVerifiedAndSeededNotFetched() throws {
        let b = DaemonFixture(embeddedTracker: true)
        try b.start(settleSeconds: 0.3)
        let (scratch, torrent) = try Fixtures.seedData(size: 1_500_000, tracker: "http://127.0.0.1:\(b.trackerPort)/announce")
        let (seeder, _) = try Fixtures.startSeeder(torrent, in: scratch)
        defer { seeder.stop() }
        try FileManager.default.copyItem(atPath: "\(scratch.path)/seed/data.bin", toPath: "\(b.downloads)/data.bin")
        try FileManager.default.copyItem(atPath: "\(scratch.path)/\(torrent)", toPath: "\(b.inbox)/movie.mtorrent")
        #expect(b.waitForEvent("download.finished", timeout: 30) != nil, "\(b.log)")
        let verified = try #require(b.events("data.verified").first, "\(b.log)")
        #expect(verified["pieces"] as? Int == verified["of"] as? Int && (verified["of"] as? Int ?? 0) > 0)
        #expect(try b.waitForState("data.bin", "seeding"))
        #expect(try b.torrentStatus(named: "data.bin")?["downloaded"] as? Int == 0)
        #expect(FileManager.default.fileExists(atPath: "\(b.inbox)/.done/movie.mtorrent"))
        #expect(b.stop().status == 0)
    }

    /// SIGTERM: exit 0 within 10 s with `stopped` announced for every
    /// torrent; the restart hashes nothing unchanged and seeds at once,
    /// and a file changed while down is hashed again.
    @Test func sigtermStopsCleanlyAndRestartDoesNotRehash() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.3)
        try DaemonFixture.drop(pseudoRandomBytes(count: 400_000, seed: 7), at: "\(a.share)/one.bin")
        try DaemonFixture.drop(pseudoRandomBytes(count: 500_000, seed: 8), at: "\(a.share)/two.bin")
        try DaemonFixture.drop(pseudoRandomBytes(count: 50_000, seed: 10), at: "\(a.share)/three.bin")
        #expect(try a.waitForState("one.bin", "seeding"))
        #expect(try a.waitForState("two.bin", "seeding"))
        #expect(try a.waitForState("three.bin", "seeding"))
        #expect(a.waitForEvent("tracker.announce", timeout: 20) { $0["announce_event"] as? String == "started" } != nil)
        let stopped = a.stop()
        #expect(stopped.status == 0)
        #expect(stopped.seconds < 10)
        let firstLog = a.stoppedLog
        let stoppedAnnounces = Fixtures.events("tracker.announce", in: firstLog).filter { $0["announce_event"] as? String == "stopped" }
        #expect(Set(stoppedAnnounces.compactMap { $0["info_hash"] as? String }).count == 3, "\(firstLog)")
        #expect(!Fixtures.events("daemon.stopped", in: firstLog).isEmpty)
        #expect(Fixtures.events("torrent.created", in: firstLog).count == 3)
        #expect(FileManager.default.fileExists(atPath: "\(a.torrents)/three.bin.mtorrent"))

        // Change one file and remove another while the daemon is down.
        try Data(pseudoRandomBytes(count: 500_000, seed: 9)).write(to: URL(fileURLWithPath: "\(a.share)/two.bin"))
        try FileManager.default.removeItem(atPath: "\(a.share)/three.bin")
        try a.start(settleSeconds: 0.3)
        // The removed one's `.mtorrent` goes, as it would while running.
        #expect(eventually(timeout: 10, every: 0.05) { !FileManager.default.fileExists(atPath: "\(a.torrents)/three.bin.mtorrent") })
        #expect(try a.waitForState("one.bin", "seeding", timeout: 10))
        #expect(a.waitForEvent("torrent.created", timeout: 20) { $0["torrent"] as? String == "two.bin" } != nil)
        #expect(a.events("torrent.created").count == 1)
        #expect(a.events("share.cached").map { $0["torrent"] as? String } == ["one.bin"])
        #expect(a.stop().status == 0)
    }

    /// Port, status address and tracker moves apply to the running daemon;
    /// its torrents keep running (not restarted), their `.mtorrent` files
    /// and announces follow the tracker.
    @Test func networkStatusAndTrackerMovesApplyWithoutRestartingTorrents() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.3)
        try DaemonFixture.drop(pseudoRandomBytes(count: 200_000, seed: 11), at: "\(a.share)/kept.bin")
        let created = try #require(a.waitForEvent("torrent.created"))
        #expect(try a.waitForState("kept.bin", "seeding"))
        let (oldPeer, oldStatus) = (a.peerPort, a.statusPort)
        a.peerPort = BackgroundProcess.freePort()
        a.statusPort = BackgroundProcess.freePort()
        a.trackerPort = BackgroundProcess.freePort()
        try a.writeConfig()
        let reloaded = try #require(a.waitForEvent("config.reloaded", timeout: 20), "\(a.log)")
        let changed = Set(reloaded["changed"] as? [String] ?? [])
        #expect(changed.isSuperset(of: ["network", "status", "tracker.embedded", "tracker.url"]), "\(changed)")
        #expect(BackgroundProcess.waitForPort(a.peerPort))
        #expect(BackgroundProcess.waitForPort(a.statusPort))
        #expect(BackgroundProcess.waitForPort(a.trackerPort))
        #expect(BackgroundProcess.connectLoopback(port: oldPeer).map { close($0) } == nil)
        #expect(BackgroundProcess.connectLoopback(port: oldStatus).map { close($0) } == nil)
        #expect(try a.torrentStatus(named: "kept.bin")?["state"] as? String == "seeding")
        #expect(a.events("torrent.seeding").count == 1)  // never restarted
        // Same torrent, announced where the tracker is now.
        let info = try jsonObject(try ProcessRunner.microtorr(["info", "--json", "\(a.torrents)/kept.bin.mtorrent"]).stdout)
        #expect(info["info_hash"] as? String == created["info_hash"] as? String)
        #expect(info["announce"] as? String == "http://127.0.0.1:\(a.trackerPort)/announce")
        #expect(a.waitForEvent("tracker.announced", timeout: 20) {
            ($0["url"] as? String)?.contains(":\(a.trackerPort)/") == true && $0["info_hash"] as? String == created["info_hash"] as? String
        } != nil, "\(a.log)")
        #expect(a.stop().status == 0)
    }

    /// An edit moving the status server and the embedded tracker to ports
    /// another program holds: both keep serving where they were (before,
    /// nothing listened until the next edit or a restart), and they move by
    /// themselves once the ports are free.
    @Test func aMoveToTakenPortsKeepsServingAndRetries() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.3, rescanSeconds: 0.5)
        let (oldStatus, oldTracker) = (a.statusPort, a.trackerPort)
        var holders = [BackgroundProcess.holdFreePort(), BackgroundProcess.holdFreePort()].compactMap { $0 }
        defer { holders.forEach { close($0.fd) } }
        try #require(holders.count == 2)
        let (newStatus, newTracker) = (holders[0].port, holders[1].port)
        // A connection to the old tracker: it stays open while the tracker
        // stays (a failed move does not restart it).
        let client = try #require(BackgroundProcess.connectLoopback(port: oldTracker))
        defer { close(client) }
        a.statusPort = newStatus
        a.trackerPort = newTracker
        try a.writeConfig()
        #expect(a.waitForEvent("status.failed", timeout: 20) != nil, "\(a.log)")
        #expect(a.waitForEvent("tracker.failed", timeout: 20) != nil, "\(a.log)")
        let oldStatusReply = try ProcessRunner.run("/usr/bin/curl", ["-s", "--max-time", "10", "http://127.0.0.1:\(oldStatus)/status"])
        #expect(oldStatusReply.status == 0 && oldStatusReply.stdout.contains("\"torrents\""), "\(oldStatusReply.stderr)")
        // Retried at rescans, with back-off (told by each attempt, so no
        // count against the clock): one rescan, then twice as long each time.
        func retryWaits() -> [Double] {
            a.events("config.retry_scheduled").compactMap { Double("\($0["retry_in_s"] ?? "")") }
        }
        #expect(eventually(timeout: 20) { retryWaits().count >= 3 }, "\(a.log.suffix(3000))")
        #expect(Array(retryWaits().prefix(3)) == [0.5, 1, 2])
        #expect(a.events("config.retry_scheduled").first?["sections"] as? [String] == ["tracker.embedded", "status"])
        #expect(BackgroundProcess.secondsUntilClosed(client, limit: 0.5) == nil, "the old tracker was restarted")
        // A broken edit meanwhile is logged and counts as an attempt: the
        // back-off goes on, the file is not read again at every rescan.
        let before = retryWaits().count
        try a.writeConfig(a.yaml + "limits: [\n")
        #expect(a.waitForEvent("config.rejected", timeout: 20) != nil)
        #expect(eventually(timeout: 10) { retryWaits().count > before })
        let waits = retryWaits()
        #expect(zip(waits, waits.dropFirst()).allSatisfy { $1 == min($0 * 2, 600) }, "\(waits)")
        let beforeRestore = retryWaits().count
        try a.writeConfig()
        #expect(eventually(timeout: 10) { retryWaits().count > beforeRestore }, "the valid edit failed again")

        // Freed: moved by the next retry, no edit (back-off ~16 s by now).
        holders.forEach { close($0.fd) }
        holders = []
        #expect(BackgroundProcess.waitForPort(newStatus, timeout: 40), "\(a.log.suffix(3000))")
        #expect(BackgroundProcess.waitForPort(newTracker, timeout: 10))
        #expect(BackgroundProcess.secondsUntilClosed(client, limit: 2) != nil, "the old tracker is closed once it moved")
        #expect(try a.status()["torrents"] != nil)
        #expect(BackgroundProcess.connectLoopback(port: oldStatus).map { close($0) } == nil)
        #expect(BackgroundProcess.connectLoopback(port: oldTracker).map { close($0) } == nil)
        #expect(a.stop().status == 0)
    }

    /// An edit that moves the tracker and `torrent_dir` while an entry is
    /// being hashed: its torrent announces to the new tracker and is
    /// written into the new folder (before, it kept the settings of when
    /// its hashing began).
    @Test func anEntryHashedDuringAnEditFollowsTheNewSettings() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.3)
        try a.shareSparseFileWhileHashed("big.bin", size: 3 << 30)
        a.trackerPort = BackgroundProcess.freePort()
        let newTorrents = "\(a.root)/torrents2"
        try a.writeConfig(a.yaml.replacingOccurrences(of: "torrent_dir: \(a.torrents)", with: "torrent_dir: \(newTorrents)"))
        #expect(a.waitForEvent("config.reloaded", timeout: 20) != nil, "\(a.log)")
        let created = try #require(a.waitForEvent("torrent.created", timeout: 60), "\(a.log.suffix(3000))")
        // The edit landed while hashing (else this test proves nothing).
        let lines = a.log.split(separator: "\n")
        let reloadedLine = try #require(lines.firstIndex { $0.contains("\"config.reloaded\"") })
        let createdLine = try #require(lines.firstIndex { $0.contains("\"torrent.created\"") })
        try #require(reloadedLine < createdLine, "hashing ended before the edit")
        #expect(created["path"] as? String == "\(newTorrents)/big.bin.mtorrent")
        #expect(DaemonFixture.waitForFile("\(newTorrents)/big.bin.mtorrent", timeout: 10))
        let info = try jsonObject(try ProcessRunner.microtorr(["info", "--json", "\(newTorrents)/big.bin.mtorrent"]).stdout)
        #expect(info["announce"] as? String == "http://127.0.0.1:\(a.trackerPort)/announce")
        #expect(info["info_hash"] as? String == created["info_hash"] as? String)
        #expect(a.waitForEvent("tracker.announced", timeout: 20) {
            ($0["url"] as? String)?.contains(":\(a.trackerPort)/") == true && $0["info_hash"] as? String == created["info_hash"] as? String
        } != nil, "\(a.log.suffix(3000))")
        #expect(a.stop().status == 0)
    }

    /// `share_dir` and `inbox_dir` moved by an edit: what only the old
    /// share had stops being shared and its `.mtorrent` goes (as when a
    /// shared file is removed); what the new share has is shared, an entry
    /// it has unchanged (the same file, hard-linked) from the hashing cache;
    /// files dropped into the old folders are left alone, the new ones are
    /// watched.
    @Test func shareAndInboxMovedByAnEditFollowTheNewFolders() throws {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.3)
        try DaemonFixture.drop(pseudoRandomBytes(count: 50_000, seed: 21), at: "\(a.share)/gone.bin")
        try DaemonFixture.drop(pseudoRandomBytes(count: 60_000, seed: 22), at: "\(a.share)/kept.bin")
        for name in ["gone.bin", "kept.bin"] { #expect(try a.waitForState(name, "seeding"), "\(a.log)") }
        let share2 = "\(a.root)/share2", inbox2 = "\(a.root)/inbox2"
        for folder in [share2, inbox2] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        #expect(link("\(a.share)/kept.bin", "\(share2)/kept.bin") == 0)
        try DaemonFixture.drop(pseudoRandomBytes(count: 70_000, seed: 23), at: "\(share2)/fresh.bin")
        try a.writeConfig(a.yaml
            .replacingOccurrences(of: "share_dir: \(a.share)\n", with: "share_dir: \(share2)\n")
            .replacingOccurrences(of: "inbox_dir: \(a.inbox)\n", with: "inbox_dir: \(inbox2)\n"))
        let reloaded = try #require(a.waitForEvent("config.reloaded", timeout: 20), "\(a.log)")
        #expect(Set(reloaded["changed"] as? [String] ?? []).isSuperset(of: ["share_dir", "inbox_dir"]))

        #expect(try a.waitForState("fresh.bin", "seeding"), "\(a.log)")
        #expect(try a.waitForState("kept.bin", "seeding"), "\(a.log)")
        #expect(try a.torrentStatus(named: "gone.bin") == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(a.torrents)/gone.bin.mtorrent"))
        // Not hashed again: its cache entry and `.mtorrent` outlived the move.
        #expect(a.events("share.cached").contains { $0["torrent"] as? String == "kept.bin" }, "\(a.log)")
        #expect(a.events("torrent.created").filter { $0["torrent"] as? String == "kept.bin" }.count == 1)

        // The new inbox is watched, the old one no longer.
        try DaemonFixture.drop(Array("not bencode".utf8), at: "\(a.inbox)/old.mtorrent")
        try DaemonFixture.drop(Array("not bencode".utf8), at: "\(inbox2)/new.mtorrent")
        #expect(DaemonFixture.waitForFile("\(inbox2)/.failed/new.mtorrent.error", timeout: 30), "\(a.log)")
        // Nor the old share: a file there is not shared, while one in the
        // new share well after it (past the settle time) is.
        try DaemonFixture.drop(pseudoRandomBytes(count: 10_000, seed: 24), at: "\(a.share)/late.bin")
        Thread.sleep(forTimeInterval: 1)
        try DaemonFixture.drop(pseudoRandomBytes(count: 10_000, seed: 25), at: "\(share2)/marker.bin")
        #expect(a.waitForEvent("torrent.created") { $0["torrent"] as? String == "marker.bin" } != nil, "\(a.log)")
        #expect(a.events("torrent.created").allSatisfy { $0["torrent"] as? String != "late.bin" })
        #expect(FileManager.default.fileExists(atPath: "\(a.inbox)/old.mtorrent"))
        #expect(!FileManager.default.fileExists(atPath: "\(a.inbox)/.failed"))
        #expect(a.stop().status == 0)
    }

    /// A finished download whose record cannot be saved (here the state
    /// folder for records is a plain file) keeps its `.mtorrent` in the
    /// inbox: a restart finds it, checks the data in place and seeds it,
    /// without fetching it again. Before, the `.mtorrent` went to `.done/`
    /// all the same, and after a restart the download was not seeded.
    @Test func aDownloadThatCannotBeRecordedKeepsItsTorrentInTheInbox() throws {
        let (a, b) = try DaemonFixture.startedPair()
        try? FileManager.default.removeItem(atPath: "\(b.root)/state/seeding")
        try Data([1]).write(to: URL(fileURLWithPath: "\(b.root)/state/seeding"))
        let content = pseudoRandomBytes(count: 300_000, seed: 31)
        let torrent = try a.share(content, as: "kept.bin")
        try FileManager.default.copyItem(atPath: torrent, toPath: "\(b.inbox)/kept.bin.mtorrent")
        #expect(b.waitForEvent("download.unrecorded", timeout: 60) != nil, "\(b.log.suffix(3000))")
        #expect(FileManager.default.fileExists(atPath: "\(b.inbox)/kept.bin.mtorrent"))
        #expect(!FileManager.default.fileExists(atPath: "\(b.inbox)/.done/kept.bin.mtorrent"))
        #expect(b.stop().status == 0)

        try FileManager.default.removeItem(atPath: "\(b.root)/state/seeding")
        try b.start(settleSeconds: 0.3)
        #expect(b.waitForEvent("download.finished", timeout: 60) != nil, "\(b.log.suffix(3000))")
        #expect(try b.waitForState("kept.bin", "seeding", timeout: 10))
        #expect(DaemonFixture.waitForFile("\(b.inbox)/.done/kept.bin.mtorrent", timeout: 10))
        #expect(FileManager.default.fileExists(atPath: "\(b.root)/state/seeding/\(try #require(a.events("torrent.created").first?["info_hash"] as? String)).state"))
        #expect((try b.torrentStatus(named: "kept.bin")?["downloaded"] as? Int) == 0, "checked in place, not fetched")
        #expect(FileManager.default.contents(atPath: "\(b.downloads)/kept.bin") == Data(content))
        #expect(b.stop().status == 0)
        #expect(a.stop().status == 0)
    }

    /// State saved before a reboot that numbered the disk differently (a
    /// btrfs volume, a USB disk) is still trusted: SPEC keys it by path,
    /// size, mtime and inode. Neither the share nor the finished download
    /// is read again.
    @Test func stateSurvivesTheDiskBeingRenumbered() throws {
        let a = try Self.daemonSeedingAShareAndAFinishedDownload()
        #expect(a.stop().status == 0)

        let state = "\(a.root)/state"
        let records = try FileManager.default.contentsOfDirectory(atPath: "\(state)/seeding").filter { $0.hasSuffix(".state") }
        #expect(records.count == 1)
        try Self.renumberDevices(inFile: "\(state)/shares.state")
        for record in records {
            try Self.renumberDevices(inFile: "\(state)/seeding/\(record)", nestedIn: "resume")
        }
        try a.start(settleSeconds: 0.3)
        #expect(try a.waitForState("shared.bin", "seeding", timeout: 20))
        #expect(try a.waitForState("data.bin", "seeding", timeout: 20))
        #expect(a.events("share.cached").map { $0["torrent"] as? String } == ["shared.bin"], "\(a.log)")
        #expect(a.events("torrent.created").isEmpty)
        #expect(a.events("data.verified").isEmpty, "\(a.log)")
        #expect(a.stop().status == 0)
    }

    /// `state_dir` moved by an edit: the next start, which reads only the
    /// new folder, still seeds the finished download without checking it
    /// and the share from the hashing cache (before, the download's record
    /// stayed in the old folder and it was no longer seeded).
    @Test func stateMovedByAnEditIsFoundAtTheNextStart() throws {
        let a = try Self.daemonSeedingAShareAndAFinishedDownload()
        try a.writeConfig(a.yaml.replacingOccurrences(of: "state_dir: \(a.root)/state", with: "state_dir: \(a.root)/state2"))
        let reloaded = try #require(a.waitForEvent("config.reloaded", timeout: 20), "\(a.log)")
        #expect((reloaded["changed"] as? [String])?.contains("state_dir") == true)
        #expect(a.stop().status == 0)

        try a.start(settleSeconds: 0.3)
        #expect(try a.waitForState("data.bin", "seeding", timeout: 20), "\(a.log)")
        #expect(try a.waitForState("shared.bin", "seeding", timeout: 20))
        #expect(a.events("data.verified").isEmpty, "\(a.log)")
        #expect(a.events("share.cached").map { $0["torrent"] as? String } == ["shared.bin"])
        #expect(a.stop().status == 0)
    }

    /// A daemon seeding `shared.bin` from its share and `data.bin`, a
    /// finished download (data found in place, its `.mtorrent` filed under
    /// `.done/`): state for a restart of each kind.
    private static func daemonSeedingAShareAndAFinishedDownload() throws -> DaemonFixture {
        let a = DaemonFixture(embeddedTracker: true)
        try a.start(settleSeconds: 0.3)
        _ = try a.share(pseudoRandomBytes(count: 400_000, seed: 41), as: "shared.bin")
        let (scratch, torrent) = try Fixtures.seedData(size: 300_000, tracker: "http://127.0.0.1:\(a.trackerPort)/announce")
        try FileManager.default.copyItem(atPath: "\(scratch.path)/seed/data.bin", toPath: "\(a.downloads)/data.bin")
        try FileManager.default.copyItem(atPath: "\(scratch.path)/\(torrent)", toPath: "\(a.inbox)/data.mtorrent")
        #expect(a.waitForEvent("download.finished", timeout: 30) != nil, "\(a.log)")
        #expect(try a.waitForState("data.bin", "seeding"))
        #expect(DaemonFixture.waitForFile("\(a.inbox)/.done/data.mtorrent", timeout: 10))
        return a
    }

    /// Adds one to the device number of every file stamp (a list of four
    /// integers: device, inode, size, mtime) in a bencoded state file, or
    /// in the bencoded value under `key` inside it.
    private static func renumberDevices(inFile path: String, nestedIn key: String? = nil) throws {
        func renumbered(_ value: Bencode) -> Bencode {
            switch value {
            case .list(let items):
                if items.count == 4, case .integer(let device) = items[0], items.allSatisfy({ $0.integerValue != nil }) {
                    return .list([.integer(device &+ 1)] + items.dropFirst())
                }
                return .list(items.map(renumbered))
            case .dictionary(let entries): return .dictionary(entries.mapValues(renumbered))
            default: return value
            }
        }
        var root = try BencodeDecoder().decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        if let key, case .dictionary(var entries) = root, let inner = entries[Array(key.utf8)]?.bytesValue {
            entries[Array(key.utf8)] = .bytes(renumbered(try BencodeDecoder().decode(inner)).encoded())
            root = .dictionary(entries)
        } else {
            root = renumbered(root)
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        try Data(root.encoded()).write(to: URL(fileURLWithPath: path))
        #expect(before != Data(root.encoded()), "no file stamp found in \(path)")
    }

    /// A finished download deleted by hand, its `.mtorrent` dropped again
    /// at once: fetched again, not filed as "already here" (before, until a
    /// rescan noticed the data gone, up to 30 s later).
    @Test func aDeletedDownloadDroppedAgainIsFetchedAgain() throws {
        // No rescan during the test: only the re-drop can notice the deletion.
        let (a, b) = try DaemonFixture.startedPair(rescanSeconds: 3600)
        let content = pseudoRandomBytes(count: 300_000, seed: 47)
        let torrent = try a.share(content, as: "again.bin")
        try FileManager.default.copyItem(atPath: torrent, toPath: "\(b.inbox)/again.mtorrent")
        #expect(b.waitForEvent("download.finished", timeout: 60) != nil, "\(b.log.suffix(3000))")
        #expect(DaemonFixture.waitForFile("\(b.inbox)/.done/again.mtorrent", timeout: 10))

        try FileManager.default.removeItem(atPath: "\(b.downloads)/again.bin")
        try FileManager.default.copyItem(atPath: torrent, toPath: "\(b.inbox)/again-2.mtorrent")
        #expect(eventually(timeout: 20, every: 0.05) { b.events("download.finished").count == 2 }, "\(b.log.suffix(3000))")
        #expect(b.events("inbox.duplicate").isEmpty)
        #expect(FileManager.default.contents(atPath: "\(b.downloads)/again.bin") == Data(content))
        #expect(try b.waitForState("again.bin", "seeding", timeout: 10))
        #expect(b.stop().status == 0)
        #expect(a.stop().status == 0)
    }

    /// A download interrupted by a restart of the daemon resumes: it does
    /// not fetch again what it had verified.
    @Test func interruptedDownloadResumesAfterRestart() throws {
        let (a, b) = try DaemonFixture.startedPair(uploadKBps: 1000)
        let content = pseudoRandomBytes(count: 5_000_000, seed: 12)
        let torrent = try a.share(content, as: "series.bin")
        try FileManager.default.copyItem(atPath: torrent, toPath: "\(b.inbox)/series.bin.mtorrent")
        #expect(try eventually(timeout: 30) { (try b.torrentStatus(named: "series.bin")?["downloaded"] as? Int ?? 0) > 1_500_000 })
        #expect(b.stop().status == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(b.downloads)/series.bin"))

        try b.start(settleSeconds: 0.3)
        let resumed = try #require(b.waitForEvent("download.resumed", timeout: 20), "\(b.log)")
        #expect((resumed["pieces"] as? Int ?? 0) > 0)
        #expect(b.waitForEvent("download.finished", timeout: 60) != nil, "\(b.log)")
        #expect(FileManager.default.contents(atPath: "\(b.downloads)/series.bin") == Data(content))
        let again = try #require(try b.torrentStatus(named: "series.bin")?["downloaded"] as? Int)
        #expect(again < content.count - 1_000_000, "fetched \(again) bytes again")
        #expect(b.stop().status == 0)
        #expect(a.stop().status == 0)
    }
}
