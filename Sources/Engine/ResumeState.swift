import Bencode
import Metainfo
import PeerWire
#if canImport(Glibc)
import Glibc
#endif

/// The verified pieces of a download, saved so a restart does not fetch or
/// hash them again. Trusted only while every data file still has the size
/// and modification time recorded with it; otherwise the caller re-verifies.
public struct ResumeState: Sendable, Equatable {
    /// Size and modification time of one data file (nil: not on disk).
    public struct FileStamp: Sendable, Equatable {
        public var size: Int64
        public var modifiedNanoseconds: Int64
    }

    public var infoHash: SHA1Hash
    public var have: Bitfield
    public var files: [FileStamp?]

    public init(infoHash: SHA1Hash, have: Bitfield, files: [FileStamp?]) {
        self.infoHash = infoHash
        self.have = have
        self.files = files
    }

    public func encoded() -> [UInt8] {
        let stamps: [Bencode] = files.map { stamp in
            guard let stamp else { return .list([]) }
            return .list([.integer(stamp.size), .integer(stamp.modifiedNanoseconds)])
        }
        let dictionary: Bencode = [
            "format": "microtorr-resume-1",
            "info_hash": .bytes(infoHash.bytes),
            "piece_count": .integer(Int64(have.count)),
            "pieces": .bytes(have.bytes),
            "files": .list(stamps),
        ]
        return dictionary.encoded()
    }

    /// Nil for anything that is not a resume file for `infoHash` with
    /// `pieceCount` pieces: a damaged state file means "verify", not "fail".
    public init?(encoded bytes: [UInt8], infoHash: SHA1Hash, pieceCount: Int, fileCount: Int) {
        guard let value = try? BencodeDecoder().decode(bytes),
              value["format"]?.stringValue == "microtorr-resume-1",
              value["info_hash"]?.bytesValue == infoHash.bytes,
              value["piece_count"]?.integerValue == Int64(pieceCount),
              let pieceBytes = value["pieces"]?.bytesValue, let have = Bitfield(bytes: pieceBytes, count: pieceCount),
              let list = value["files"]?.listValue, list.count == fileCount else { return nil }
        var files: [FileStamp?] = []
        for entry in list {
            guard let pair = entry.listValue else { return nil }
            if pair.isEmpty {
                files.append(nil)
            } else if pair.count == 2, let size = pair[0].integerValue, let time = pair[1].integerValue {
                files.append(FileStamp(size: size, modifiedNanoseconds: time))
            } else {
                return nil
            }
        }
        self.init(infoHash: infoHash, have: have, files: files)
    }

    /// Reads the state at `path` if it applies to `storage`'s data as it is
    /// now on disk (same sizes and times); nil otherwise.
    public static func load(fromPath path: String, for storage: TorrentStorage, infoHash: SHA1Hash) -> ResumeState? {
        guard let bytes = try? FileIO.readWholeFile(atPath: path, maxBytes: 64 << 20),
              let state = ResumeState(encoded: bytes, infoHash: infoHash, pieceCount: storage.info.pieceCount,
                                      fileCount: storage.info.files.count),
              state.files == storage.fileStamps() else { return nil }
        return state
    }

    /// Writes crash-safely (temp file, fsync, rename).
    public func save(toPath path: String) throws(FileIOError) {
        try FileIO.writeAtomically(encoded(), toPath: path, mode: 0o600)
    }
}

extension TorrentStorage {
    /// Size and modification time of each data file where it is now.
    public func fileStamps() -> [ResumeState.FileStamp?] {
        info.files.indices.map { index in
            guard !info.files[index].isPadding else { return nil }
            var status = stat()
            guard lstat(path(of: index), &status) == 0 else { return nil }
            return ResumeState.FileStamp(
                size: Int64(status.st_size),
                modifiedNanoseconds: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec))
        }
    }
}
