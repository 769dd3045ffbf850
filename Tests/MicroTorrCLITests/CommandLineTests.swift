import Bencode
import Foundation
import TestSupport
import Testing

/// The `microtorr` executable as a user runs it.
@Suite("Command line")
struct CommandLineTests {
    @Test func createWritesNameDotMtorrentInTheCurrentDirectoryAndInfoReadsIt() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("freeware", size: 300_000)
        let created = try ProcessRunner.microtorr(["create", "freeware", "-t", "http://127.0.0.1:6969/announce"], in: directory.path)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(directory.path)/freeware.mtorrent"))
        let info = try ProcessRunner.microtorr(["info", "freeware.mtorrent"], in: directory.path)
        #expect(info.status == 0)
        #expect(info.stdout.contains("freeware"))
        #expect(info.stdout.contains("http://127.0.0.1:6969/announce"))
    }

    @Test func originalCommandNamesWorkAsAliases() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("f.bin", size: 40_000)
        let created = try ProcessRunner.microtorr(["createMtorr", "f.bin", "-o", "alias.mtorrent"], in: directory.path)
        #expect(created.status == 0, "\(created.stderr)")
        let loaded = try ProcessRunner.microtorr(["loadMtorr", "alias.mtorrent", "--json"], in: directory.path)
        #expect(loaded.status == 0)
        #expect(try jsonObject(loaded.stdout)["name"] as? String == "f.bin")
    }

    @Test func infoJSONHasEveryDocumentedKey() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("dir/a", size: 20_000)
        try directory.randomFile("dir/sub/b", size: 30_000)
        let created = try ProcessRunner.microtorr(
            ["create", "dir", "-t", "http://a/announce", "-t", "http://b/announce", "--comment", "hi", "--private",
             "--piece-length", "16K", "-o", "d.mtorrent"], in: directory.path)
        #expect(created.status == 0, "\(created.stderr)")
        let result = try ProcessRunner.microtorr(["info", "d.mtorrent", "--json"], in: directory.path)
        let json = try jsonObject(result.stdout)
        let keys = ["name", "length", "piece_length", "piece_count", "info_hash", "id_hash", "announce",
                    "announce_list", "files", "private", "comment", "created_by", "creation_date"]
        #expect(Set(json.keys).isSuperset(of: keys))
        #expect(json["length"] as? Int == 50_000)
        #expect(json["piece_length"] as? Int == 16384)
        #expect(json["piece_count"] as? Int == 4)
        #expect((json["info_hash"] as? String)?.count == 40)
        #expect((json["id_hash"] as? String)?.count == 40)
        #expect(json["announce"] as? String == "http://a/announce")
        #expect(json["announce_list"] as? [[String]] == [["http://a/announce"], ["http://b/announce"]])
        #expect(json["private"] as? Bool == true)
        #expect(json["comment"] as? String == "hi")
        #expect((json["created_by"] as? String)?.hasPrefix("MicroTorr/") == true)
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.map { $0["path"] as? String } == ["dir/a", "dir/sub/b"])
        #expect(files.map { $0["length"] as? Int } == [20_000, 30_000])
    }

    @Test func absentOptionalFieldsAreJSONNull() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("f", size: 1000)
        let created = try ProcessRunner.microtorr(["create", "f", "--no-id-hash", "--no-date"], in: directory.path)
        #expect(created.status == 0, "\(created.stderr)")
        let json = try ProcessRunner.microtorr(["info", "f.mtorrent", "--json"], in: directory.path).stdout
        for key in ["id_hash", "announce", "comment", "creation_date"] {
            #expect(json.contains("\"\(key)\":null"), "\(key) in \(json)")
        }
    }

    @Test func failuresAreOneLineOnStderrWithExitStatusOne() throws {
        let directory = TemporaryDirectory()
        let missing = try ProcessRunner.microtorr(["info", "nothing.mtorrent"], in: directory.path)
        #expect(missing.status == 1)
        #expect(missing.stdout.isEmpty)
        #expect(missing.stderr.split(separator: "\n").count == 1)
        #expect(missing.stderr.contains("nothing.mtorrent"))

        let hostile: Bencode = ["info": ["name": "../../etc/passwd", "length": 1, "piece length": 16384,
                                         "pieces": .bytes([UInt8](repeating: 0, count: 20))]]
        try directory.write(hostile.encoded(), to: "evil.torrent")
        let refused = try ProcessRunner.microtorr(["info", "evil.torrent"], in: directory.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(refused.stderr.contains("field 'info.name' contains '/'"))

        try directory.write(Array("d4:infoi5e".utf8), to: "truncated.torrent")
        let truncated = try ProcessRunner.microtorr(["info", "truncated.torrent"], in: directory.path)
        #expect(truncated.status == 1)
        #expect(truncated.stderr.contains("byte 10"))

        let empty = try ProcessRunner.microtorr(["create", "nothing-here"], in: directory.path)
        #expect(empty.status == 1)
        #expect(empty.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/nothing-here.mtorrent"))
    }

    @Test func neverOverwritesWithoutForceAndNeverTheSharedData() throws {
        let directory = TemporaryDirectory()
        let data = try directory.randomFile("data.bin", size: 50_000)
        let original = try Data(contentsOf: URL(fileURLWithPath: data))
        try directory.write(Array("keep me".utf8), to: "existing.mtorrent")
        let refused = try ProcessRunner.microtorr(["create", "data.bin", "-o", "existing.mtorrent"], in: directory.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("exists (use --force"))
        #expect(try String(contentsOfFile: "\(directory.path)/existing.mtorrent", encoding: .utf8) == "keep me")
        let forced = try ProcessRunner.microtorr(["create", "data.bin", "-o", "existing.mtorrent", "--force"], in: directory.path)
        #expect(forced.status == 0)
        #expect(try ProcessRunner.microtorr(["info", "existing.mtorrent"], in: directory.path).status == 0)
        for output in ["data.bin", "./data.bin"] {
            let clobber = try ProcessRunner.microtorr(["create", "data.bin", "-o", output, "--force"], in: directory.path)
            #expect(clobber.status == 1)
            #expect(clobber.stderr.contains("is one of the files being shared"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: data)) == original)
    }

    @Test func infoOnAFIFOFailsInsteadOfHanging() throws {
        let directory = TemporaryDirectory()
        #expect(mkfifo("\(directory.path)/pipe.torrent", 0o600) == 0)
        let result = try ProcessRunner.run(ProcessRunner.microtorr, ["info", "pipe.torrent"], in: directory.path, timeout: 10)
        #expect(result.status == 1)
        #expect(result.stderr.contains("not a regular file"))
    }

    @Test func textFromTheTorrentCannotInjectTerminalControls() throws {
        let directory = TemporaryDirectory()
        let torrent: Bencode = [
            "comment": "line\u{1B}]0;pwned\u{07}\nsecond",
            "info": ["name": "evil\u{1B}[2Jname", "length": 1, "piece length": 16384, "pieces": .bytes([UInt8](repeating: 0, count: 20))],
        ]
        try directory.write(torrent.encoded(), to: "t.torrent")
        let result = try ProcessRunner.microtorr(["info", "t.torrent"], in: directory.path)
        #expect(result.status == 0)
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(!result.stdout.contains("\u{07}"))
        #expect(result.stdout.contains("evil\\u{1B}[2Jname"))
    }

    @Test func badArgumentsAreRefusedBeforeAnyWork() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("f", size: 1000)
        let result = try ProcessRunner.microtorr(["create", "f", "--piece-length", "1000"], in: directory.path)
        #expect(result.status != 0)
        #expect(result.stderr.contains("power of two"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/f.mtorrent"))
        let verbosity = try ProcessRunner.microtorr(["info", "x", "-v", "9"], in: directory.path)
        #expect(verbosity.status != 0)
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptCoversTheCommands(shell: String) throws {
        let result = try ProcessRunner.microtorr(["completion", shell])
        #expect(result.status == 0)
        #expect(result.stdout.contains("create"))
        #expect(result.stdout.contains("info"))
        #expect(result.stdout.contains("microtorr"))
    }

    /// The packaged completion files must be what the binary prints, or the
    /// installed completions go stale as commands change.
    @Test(arguments: ["bash", "zsh", "fish"])
    func packagedCompletionScriptIsCurrent(shell: String) throws {
        let packaged = try String(contentsOfFile: "\(ProcessRunner.repositoryRoot)/packaging/completions/microtorr.\(shell)", encoding: .utf8)
        let printed = try ProcessRunner.microtorr(["completion", shell]).stdout
        #expect(packaged == printed, "regenerate with: microtorr completion \(shell) > packaging/completions/microtorr.\(shell)")
    }

    @Test func versionAndHelp() throws {
        #expect(try ProcessRunner.microtorr(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
        for command in ["create", "info", "completion"] {
            let help = try ProcessRunner.microtorr([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE"))
        }
    }

    @Test func logsAreJSONLinesWhenAskedAndSilentAtVerbosityZero() throws {
        let directory = TemporaryDirectory()
        try directory.randomFile("f", size: 5000)
        let logged = try ProcessRunner.microtorr(["create", "f", "--log-format", "json", "-v", "1"], in: directory.path)
        let line = try jsonObject(String(logged.stderr.split(separator: "\n").first ?? ""))
        #expect(line["event"] as? String == "torrent.created")
        #expect(line["level"] as? String == "info")
        #expect(line["msg"] != nil && line["ts"] != nil)
        #expect((line["info_hash"] as? String)?.count == 40)
        let quiet = try ProcessRunner.microtorr(["create", "f", "-o", "q.mtorrent", "-v", "0"], in: directory.path)
        #expect(quiet.status == 0)
        #expect(quiet.stderr.isEmpty)
        let text = try ProcessRunner.microtorr(["create", "f", "-o", "t.mtorrent", "--log-format", "text"], in: directory.path)
        #expect(text.stderr.contains("INFO"))
        #expect(!text.stderr.contains("\u{1B}["), "no colours when stderr is not a terminal")
    }
}
