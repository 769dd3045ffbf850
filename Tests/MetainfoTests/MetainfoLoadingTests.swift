import Bencode
import Crypto
import Metainfo
import Testing

@Suite("Loading metainfo")
struct MetainfoLoadingTests {
    static let hash20 = [UInt8](repeating: 0xAB, count: 20)

    /// A valid single-file torrent of 40 000 bytes in 3 pieces of 16 KiB.
    static func singleFile(_ edit: (inout [[UInt8]: Bencode]) -> Void = { _ in }) -> Bencode {
        var info: [[UInt8]: Bencode] = [
            Array("name".utf8): "file.bin",
            Array("piece length".utf8): 16384,
            Array("pieces".utf8): .bytes(Array(repeating: hash20, count: 3).flatMap { $0 }),
            Array("length".utf8): 40000,
        ]
        edit(&info)
        return ["announce": "http://tracker.lan/announce", "info": .dictionary(info)]
    }

    static func multiFile(paths: [[String]]) -> Bencode {
        let files: [Bencode] = paths.map { ["length": 10, "path": .list($0.map { .string($0) })] }
        let count = (paths.count * 10 + 16383) / 16384
        return ["info": [
            "name": "dir", "piece length": 16384,
            "pieces": .bytes(Array(repeating: hash20, count: count).flatMap { $0 }),
            "files": .list(files),
        ]]
    }

    private func load(_ value: Bencode) throws -> Metainfo {
        try Metainfo(bencoded: value.encoded())
    }

    private func failure(_ value: Bencode) -> String? {
        failure(value.encoded())
    }

    private func failure(_ bytes: [UInt8]) -> String? {
        do {
            _ = try Metainfo(bencoded: bytes)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func loadsSingleFileTorrent() throws {
        let metainfo = try load(Self.singleFile())
        #expect(metainfo.info.name == "file.bin")
        #expect(metainfo.info.totalLength == 40000)
        #expect(metainfo.info.pieceCount == 3)
        #expect(metainfo.info.length(ofPiece: 2) == 40000 - 2 * 16384)
        #expect(!metainfo.info.isMultiFile)
        #expect(metainfo.announce == "http://tracker.lan/announce")
        #expect(metainfo.info.idHash == nil)
    }

    @Test func loadsMultiFileTorrentWithOutputPaths() throws {
        let metainfo = try load(Self.multiFile(paths: [["a.txt"], ["sub", "b.txt"]]))
        #expect(metainfo.info.isMultiFile)
        #expect(metainfo.info.outputPaths == [["dir", "a.txt"], ["dir", "sub", "b.txt"]])
        #expect(metainfo.info.totalLength == 20)
    }

    @Test func infoHashIsTakenOverTheBytesAsWritten() throws {
        // Unsorted keys in `info`: a re-encoding would sort them and change
        // the hash; every other client hashes the bytes as they stand.
        let info = "d6:lengthi5e4:name1:f12:piece lengthi16384e6:pieces20:" + String(repeating: "x", count: 20) + "e"
        let unsorted = "d6:lengthi5e12:piece lengthi16384e4:name1:f6:pieces20:" + String(repeating: "x", count: 20) + "e"
        for infoText in [info, unsorted] {
            let file = Array("d4:info\(infoText)e".utf8)
            let metainfo = try Metainfo(bencoded: file)
            let expected = Array(Insecure.SHA1.hash(data: Array(infoText.utf8)))
            #expect(metainfo.infoHash.bytes == expected)
            #expect(metainfo.encoded() == file)
        }
    }

    @Test func readsAnnounceListTiersAndOptionalFields() throws {
        var value = Self.singleFile { $0[Array("private".utf8)] = 1; $0[Array("id_hash".utf8)] = .bytes(Self.hash20) }
        var top = try #require(value.dictionaryValue)
        top[Array("announce-list".utf8)] = [["http://a/announce", "http://b/announce"], ["http://c/announce"]]
        top[Array("comment".utf8)] = "hello"
        top[Array("created by".utf8)] = "tool 1.0"
        top[Array("creation date".utf8)] = 1_700_000_000
        value = .dictionary(top)
        let metainfo = try load(value)
        #expect(metainfo.announceList == [["http://a/announce", "http://b/announce"], ["http://c/announce"]])
        #expect(metainfo.trackerTiers == [["http://a/announce", "http://b/announce"], ["http://c/announce"]])
        #expect(try load(Self.singleFile()).trackerTiers == [["http://tracker.lan/announce"]])
        #expect(metainfo.info.isPrivate)
        #expect(metainfo.info.idHash?.bytes == Self.hash20)
        #expect(metainfo.comment == "hello")
        #expect(metainfo.createdBy == "tool 1.0")
        #expect(metainfo.creationDate == 1_700_000_000)
    }

    @Test("hostile names are refused with the field named", arguments: [
        ("..", "field 'info.name' is '..'"),
        (".", "field 'info.name' is '.'"),
        ("", "field 'info.name' is empty"),
        ("/etc/passwd", "field 'info.name' is an absolute path"),
        ("../../etc", "field 'info.name' contains '/'"),
        ("a\\..\\b", "field 'info.name' contains '\\'"),
        ("a\u{0}b", "field 'info.name' contains a NUL byte"),
    ])
    func refusesHostileName(name: String, message: String) {
        #expect(failure(Self.singleFile { $0[Array("name".utf8)] = .string(name) }) == message)
    }

    @Test("hostile file paths are refused with the element named", arguments: [
        (["..", "etc", "passwd"], "field 'info.files[1].path[0]' is '..'"),
        (["/etc", "passwd"], "field 'info.files[1].path[0]' is an absolute path"),
        (["ok", "../x"], "field 'info.files[1].path[1]' contains '/'"),
        (["ok", ""], "field 'info.files[1].path[1]' is empty"),
        (["a\u{0}"], "field 'info.files[1].path[0]' contains a NUL byte"),
        (["c:\\windows"], "field 'info.files[1].path[0]' contains '\\'"),
    ])
    func refusesHostilePath(path: [String], message: String) {
        #expect(failure(Self.multiFile(paths: [["fine"], path])) == message)
    }

    /// `/` or `\` followed by a combining mark is one Swift `Character`
    /// that is not `/`, but the file system still sees the separator.
    @Test("separators hidden behind combining marks are still refused", arguments: [
        ("../\u{301}x", "field 'info.name' contains '/'"),
        ("/\u{301}etc", "field 'info.name' is an absolute path"),
        ("a\\\u{301}b", "field 'info.name' contains '\\'"),
        ("..\u{301}/x", "field 'info.name' contains '/'"),
    ])
    func refusesSeparatorsHiddenInGraphemes(name: String, message: String) {
        #expect(failure(Self.singleFile { $0[Array("name".utf8)] = .string(name) }) == message)
        #expect(failure(Self.multiFile(paths: [["ok"], ["d", name]]))?.hasPrefix("field 'info.files[1].path[1]'") == true)
    }

    @Test func refusesOverlongAndAbsurdlyDeepPaths() {
        let long = String(repeating: "n", count: 256)
        #expect(failure(Self.singleFile { $0[Array("name".utf8)] = .string(long) }) == "field 'info.name' is longer than 255 bytes")
        // 20 000 elements: refused as one overlong path, in linear time.
        let deep = Array(repeating: "a", count: 20_000)
        #expect(failure(Self.multiFile(paths: [deep])) == "field 'info.files[0].path' is longer than 4096 bytes")
    }

    @Test func prefersUTF8VariantsAndRepairsInvalidNames() throws {
        let variant = try load(Self.singleFile {
            $0[Array("name".utf8)] = .bytes([0xE9, 0x74, 0xE9])  // Latin-1 "été"
            $0[Array("name.utf-8".utf8)] = "été"
        })
        #expect(variant.info.name == "été")
        let repaired = try load(Self.singleFile { $0[Array("name".utf8)] = .bytes([0x61, 0xFF, 0x62]) })
        #expect(repaired.info.name == "a\u{FFFD}b")
        // The repaired name is what gets checked.
        #expect(failure(Self.singleFile { $0[Array("name".utf8)] = .bytes([0x2E, 0x2E, 0x2F, 0xFF]) }) == "field 'info.name' contains '/'")
    }

    @Test func canonicallyEquivalentNamesAreDistinctFiles() throws {
        // Linux compares names as bytes: "é" and "e" + U+0301 are two files.
        let metainfo = try load(Self.multiFile(paths: [["\u{E9}"], ["e\u{301}"]]))
        #expect(metainfo.info.files.count == 2)
    }

    @Test func paddingFilesAreMarked() throws {
        var top = try #require(Self.multiFile(paths: [["a"], [".pad", "0"]]).dictionaryValue)
        var info = try #require(top[Array("info".utf8)]?.dictionaryValue)
        info[Array("files".utf8)] = [["length": 10, "path": ["a"]], ["length": 10, "path": [".pad", "0"], "attr": "p"]]
        top[Array("info".utf8)] = .dictionary(info)
        let metainfo = try load(.dictionary(top))
        #expect(metainfo.info.files.map(\.isPadding) == [false, true])
        // Re-encoding the info dictionary keeps the attribute.
        #expect(try Metainfo(bencoded: (["info": metainfo.info.bencodeValue] as Bencode).encoded()).info.files[1].isPadding)
    }

    @Test func valueFloodIsRefusedAtTheValueLimit() {
        let flood = Array("d1:xl".utf8) + Array(repeating: Array("le".utf8), count: 1_100_000).flatMap { $0 } + Array("ee".utf8)
        #expect(failure(flood)?.hasSuffix("more than 1000000 values") == true)
    }

    @Test func collisionMessagesEscapeControlCharacters() {
        let message = failure(Self.multiFile(paths: [["a\nb\u{1B}c"], ["a\nb\u{1B}c"]]))
        #expect(message == "field 'info.files[1].path' collides with another file (a\\u{A}b\\u{1B}c)")
        #expect(BencodeError(offset: 3, reason: .duplicateKey(Array("a\nb\u{1B}".utf8))).description
                == "invalid bencode at byte 3: duplicate dictionary key \"a\\xab\\x1b\"")
    }

    @Test func refusesColldingPaths() {
        #expect(failure(Self.multiFile(paths: [["a"], ["a"]])) == "field 'info.files[1].path' collides with another file (a)")
        #expect(failure(Self.multiFile(paths: [["a"], ["a", "b"]])) == "field 'info.files[1].path' places a file below another file (a)")
        #expect(failure(Self.multiFile(paths: [["a", "b"], ["a"]])) == "field 'info.files[1].path' collides with another file (a)")
        #expect(failure(["info": ["name": "d", "piece length": 16384, "pieces": "", "files": []]]) == "field 'info.files' is empty")
    }

    @Test func refusesPieceCountThatDoesNotMatchTheLength() {
        let tooFew = Self.singleFile { $0[Array("pieces".utf8)] = .bytes(Self.hash20) }
        #expect(failure(tooFew) == "field 'info.pieces' holds 1 piece hashes but 40000 bytes at piece length 16384 need 3")
        let notMultiple = Self.singleFile { $0[Array("pieces".utf8)] = .bytes([1, 2, 3]) }
        #expect(failure(notMultiple) == "field 'info.pieces' has 3 bytes, not a multiple of 20")
    }

    /// A tiny file claiming a terabyte: refused on the piece count, without
    /// allocating anything for the claimed size.
    @Test func refusesOneByteFileClaimingTwoToTheForty() throws {
        let hostile = Self.singleFile {
            $0[Array("length".utf8)] = .integer(1 << 40)
            $0[Array("pieces".utf8)] = .bytes(Self.hash20)
        }
        #expect(failure(hostile) == "field 'info.pieces' holds 1 piece hashes but 1099511627776 bytes at piece length 16384 need 67108864")
        var top = try #require(Self.multiFile(paths: [["a"], ["b"]]).dictionaryValue)
        var info = try #require(top[Array("info".utf8)]?.dictionaryValue)
        info[Array("files".utf8)] = [["length": .integer(.max), "path": ["a"]], ["length": .integer(.max), "path": ["b"]]]
        top[Array("info".utf8)] = .dictionary(info)
        #expect(failure(.dictionary(top)) == "field 'info' total length does not fit in 64 bits")
    }

    @Test func refusesMissingAndMistypedFields() {
        #expect(failure(["announce": "x"]) == "missing field 'info'")
        #expect(failure(["info": "x"]) == "field 'info' must be a dictionary")
        #expect(failure(Self.singleFile { $0[Array("name".utf8)] = nil }) == "missing field 'info.name'")
        #expect(failure(Self.singleFile { $0[Array("name".utf8)] = 5 }) == "field 'info.name' must be a byte string")
        #expect(failure(Self.singleFile { $0[Array("piece length".utf8)] = "16384" }) == "field 'info.piece length' must be an integer")
        #expect(failure(Self.singleFile { $0[Array("piece length".utf8)] = 0 }) == "field 'info.piece length' is 0; it must be between 1 and 268435456")
        #expect(failure(Self.singleFile { $0[Array("length".utf8)] = -1 }) == "field 'info.length' is negative (-1)")
        #expect(failure(Self.singleFile { $0[Array("length".utf8)] = nil }) == "missing field 'info.length or info.files'")
        #expect(failure(Self.singleFile { $0[Array("files".utf8)] = [] }) == "field 'info' has both 'length' and 'files'")
        #expect(failure(Self.singleFile { $0[Array("id_hash".utf8)] = "short" }) == "field 'info.id_hash' has 5 bytes, not 20")
        #expect(failure(Self.singleFile { $0[Array("length".utf8)] = 0; $0[Array("pieces".utf8)] = "" }) == "field 'info' describes no data (total length 0)")
        #expect(failure(["info": Self.singleFile()["info"]!, "announce-list": ["notalist"]]) == "field 'announce-list[0]' must be a list")
        #expect(failure(.list([])) == "field '(top level)' must be a dictionary")
    }

    @Test func badBencodeReportsTheByteOffset() {
        var bytes = Self.singleFile().encoded()
        bytes.removeLast()
        #expect(failure(bytes) == "invalid bencode at byte \(bytes.count): unexpected end of data")
        #expect(failure(Array("d4:infoi01ee".utf8)) == "invalid bencode at byte 8: leading zero in a number")
    }
}
