import Bencode
import Engine
import Metainfo

/// A finished download the daemon keeps seeding from `download_dir`: the
/// torrent, where its data is, and the data's file stamps when it was
/// verified. One file per torrent in `state_dir/seeding/`, so a restart
/// seeds it again without re-hashing while the stamps still match.
struct SeedingRecord: Sendable {
    let metainfoBytes: [UInt8]
    let dataPath: String
    let resume: ResumeState

    static let directoryName = "seeding"
    private static let format = "microtorr-seeding-1"

    init(metainfoBytes: [UInt8], dataPath: String, resume: ResumeState) {
        self.metainfoBytes = metainfoBytes
        self.dataPath = dataPath
        self.resume = resume
    }

    func encoded() -> [UInt8] {
        let root: Bencode = [
            "format": .string(Self.format), "metainfo": .bytes(metainfoBytes), "path": .string(dataPath),
            "resume": .bytes(resume.encoded()),
        ]
        return root.encoded()
    }

    /// The record with its parsed torrent; nil if damaged.
    static func decode(_ bytes: [UInt8]) -> (SeedingRecord, Metainfo)? {
        guard let root = try? BencodeDecoder().decode(bytes), root["format"]?.stringValue == format,
              let metainfoBytes = root["metainfo"]?.bytesValue, let path = root["path"]?.stringValue,
              let resumeBytes = root["resume"]?.bytesValue,
              let metainfo = try? Metainfo(bencoded: metainfoBytes),
              let resume = ResumeState(encoded: resumeBytes, infoHash: metainfo.infoHash, pieceCount: metainfo.info.pieceCount,
                                       fileCount: metainfo.info.files.count) else { return nil }
        return (SeedingRecord(metainfoBytes: metainfoBytes, dataPath: path, resume: resume), metainfo)
    }

    static func path(for infoHash: InfoHash, stateDirectory: String) -> String {
        "\(stateDirectory)/\(directoryName)/\(infoHash.hex).state"
    }
}
