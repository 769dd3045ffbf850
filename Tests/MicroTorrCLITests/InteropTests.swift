import Foundation
import TestSupport
import Testing

/// Metainfo files exchanged with real tools from Debian: mktorrent and
/// python3-libtorrent. `scripts/test` installs both.
@Suite("Interoperability with mktorrent and libtorrent")
struct InteropTests {
    private func ourInfoHash(_ torrent: String, in directory: String) throws -> String {
        let result = try ProcessRunner.microtorr(["info", torrent, "--json"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        return try jsonObject(result.stdout)["info_hash"] as? String ?? ""
    }

    private func libtorrentReport(_ torrent: String, data: String, in directory: String) throws -> [String: Any] {
        let result = try ProcessRunner.libtorrentTool(["inspect", torrent, data], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        return try jsonObject(result.stdout)
    }

    @Test(arguments: [false, true])
    func mktorrentFilesLoadWithTheSameInfoHash(multiFile: Bool) throws {
        let directory = TemporaryDirectory()
        let target = multiFile ? "tree" : "single.bin"
        if multiFile {
            try directory.randomFile("tree/a.bin", size: 700_000)
            try directory.randomFile("tree/sub/b.bin", size: 123_457)
            try directory.randomFile("tree/sub/c.txt", size: 10)
        } else {
            try directory.randomFile("single.bin", size: 1_234_567)
        }
        let made = try ProcessRunner.run(
            "/usr/bin/mktorrent", ["-d", "-l", "18", "-a", "http://127.0.0.1:6969/announce", "-o", "mk.torrent", target],
            in: directory.path)
        #expect(made.status == 0, "\(made.stderr)")
        let reference = try libtorrentReport("mk.torrent", data: ".", in: directory.path)["info_hash"] as? String
        #expect(try ourInfoHash("mk.torrent", in: directory.path) == reference)

        // Without our id_hash and date, we make the very same info
        // dictionary as mktorrent: same pieces, same info-hash.
        let ours = try ProcessRunner.microtorr(
            ["create", target, "--no-id-hash", "--no-date", "--piece-length", "256K", "-t", "http://127.0.0.1:6969/announce",
             "-o", "ours.mtorrent"], in: directory.path)
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(try ourInfoHash("ours.mtorrent", in: directory.path) == reference)
    }

    @Test(arguments: [false, true])
    func libtorrentFilesLoadWithTheSameInfoHash(multiFile: Bool) throws {
        let directory = TemporaryDirectory()
        let target = multiFile ? "tree" : "single.bin"
        if multiFile {
            try directory.randomFile("tree/x/1.bin", size: 99_999)
            try directory.randomFile("tree/2.bin", size: 500_000)
        } else {
            try directory.randomFile("single.bin", size: 777_777)
        }
        let made = try ProcessRunner.libtorrentTool(["make", target, "lt.torrent", "32768"], in: directory.path)
        #expect(made.status == 0, "\(made.stderr)")
        let reported = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(reported.count == 40)
        #expect(try ourInfoHash("lt.torrent", in: directory.path) == reported)
    }

    @Test(arguments: [false, true])
    func ourFilesLoadInLibtorrentWithEveryPieceVerifiable(multiFile: Bool) throws {
        let directory = TemporaryDirectory()
        let target = multiFile ? "tree" : "single.bin"
        if multiFile {
            try directory.randomFile("tree/a.bin", size: 1_000_001)
            try directory.randomFile("tree/empty.txt", size: 0)
            try directory.randomFile("tree/z/deep/b.bin", size: 65_536)
        } else {
            try directory.randomFile("single.bin", size: 2_500_000)
        }
        let created = try ProcessRunner.microtorr(
            ["create", target, "-o", "ours.mtorrent", "--piece-length", "32K", "-t", "http://127.0.0.1:6969/announce"],
            in: directory.path)
        #expect(created.status == 0, "\(created.stderr)")
        let report = try libtorrentReport("ours.mtorrent", data: ".", in: directory.path)
        #expect(report["info_hash"] as? String == (try ourInfoHash("ours.mtorrent", in: directory.path)))
        let pieces = try #require(report["num_pieces"] as? Int)
        #expect(pieces > 1)
        #expect(report["pieces_verified"] as? Int == pieces)
        #expect(report["trackers"] as? [String] == ["http://127.0.0.1:6969/announce"])
        #expect(report["name"] as? String == target)
        // libtorrent's own hashing accepts every piece of the data.
        let recheck = try ProcessRunner.libtorrentTool(["recheck", "ours.mtorrent", "."], in: directory.path)
        #expect(recheck.status == 0, "\(recheck.stderr)")
        let verified = try jsonObject(recheck.stdout)
        #expect(verified["verified"] as? Int == pieces)
    }
}
