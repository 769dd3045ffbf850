import Bencode
import Metainfo
import PeerWire

/// The verified pieces of a download, saved so a restart does not fetch or
/// hash them again. Trusted only while every data file is still the one
/// recorded with it (same inode, size and modification time); otherwise the
/// caller re-verifies.
public struct ResumeState: Sendable, Equatable {
    public var infoHash: SHA1Hash
    public var have: Bitfield
    /// Each file of the torrent as it was when the state was saved (nil: not
    /// on disk, or a padding file).
    public var files: [FileSnapshot?]

    public init(infoHash: SHA1Hash, have: Bitfield, files: [FileSnapshot?]) {
        self.infoHash = infoHash
        self.have = have
        self.files = files
    }

    public func encoded() -> [UInt8] {
        let stamps: [Bencode] = files.map { stamp in
            guard let stamp else { return .list([]) }
            return .list([.integer(Int64(bitPattern: stamp.device)), .integer(Int64(bitPattern: stamp.inode)),
                          .integer(stamp.size), .integer(stamp.modifiedNanoseconds)])
        }
        let dictionary: Bencode = [
            "format": "microtorr-resume-2",
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
              value["format"]?.stringValue == "microtorr-resume-2",
              value["info_hash"]?.bytesValue == infoHash.bytes,
              value["piece_count"]?.integerValue == Int64(pieceCount),
              let pieceBytes = value["pieces"]?.bytesValue, let have = Bitfield(bytes: pieceBytes, count: pieceCount),
              let list = value["files"]?.listValue, list.count == fileCount else { return nil }
        var files: [FileSnapshot?] = []
        for entry in list {
            guard let fields = entry.listValue?.compactMap(\.integerValue) else { return nil }
            switch fields.count {
            case 0: files.append(nil)
            case 4: files.append(FileSnapshot(device: UInt64(bitPattern: fields[0]), inode: UInt64(bitPattern: fields[1]),
                                              size: fields[2], modifiedNanoseconds: fields[3]))
            default: return nil
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
    /// Each data file where it is now.
    public func fileStamps() -> [FileSnapshot?] {
        info.files.indices.map { index in
            info.files[index].isPadding ? nil : FileSnapshot(atPath: path(of: index))
        }
    }
}
