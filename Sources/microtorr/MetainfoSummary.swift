import FoundationEssentials
import MicroTorrLogging
import Metainfo

/// What `info` shows about a metainfo file, as text or as JSON.
struct MetainfoSummary: Encodable {
    struct File: Encodable {
        /// Where the file lands below the output directory.
        let path: String
        let length: Int64
    }

    let name: String
    let length: Int64
    let pieceLength: Int
    let pieceCount: Int
    let infoHash: String
    let idHash: String?
    let announce: String?
    let announceList: [[String]]
    let files: [File]
    let isPrivate: Bool
    let comment: String?
    let createdBy: String?
    let creationDate: Int64?

    init(_ metainfo: Metainfo) {
        let info = metainfo.info
        name = info.name
        length = info.totalLength
        pieceLength = info.pieceLength
        pieceCount = info.pieceCount
        infoHash = metainfo.infoHash.hex
        idHash = info.idHash?.hex
        announce = metainfo.announce
        announceList = metainfo.announceList
        files = zip(info.outputPaths, info.files).map { File(path: $0.joined(separator: "/"), length: $1.length) }
        isPrivate = info.isPrivate
        comment = metainfo.comment
        createdBy = metainfo.createdBy
        creationDate = metainfo.creationDate
    }

    enum CodingKeys: String, CodingKey {
        case name, length, files, announce, comment
        case pieceLength = "piece_length"
        case pieceCount = "piece_count"
        case infoHash = "info_hash"
        case idHash = "id_hash"
        case announceList = "announce_list"
        case isPrivate = "private"
        case createdBy = "created_by"
        case creationDate = "creation_date"
    }

    /// Absent optional fields are written as `null`, so scripts always find
    /// every key.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(length, forKey: .length)
        try container.encode(pieceLength, forKey: .pieceLength)
        try container.encode(pieceCount, forKey: .pieceCount)
        try container.encode(infoHash, forKey: .infoHash)
        try container.encode(idHash, forKey: .idHash)
        try container.encode(announce, forKey: .announce)
        try container.encode(announceList, forKey: .announceList)
        try container.encode(files, forKey: .files)
        try container.encode(isPrivate, forKey: .isPrivate)
        try container.encode(comment, forKey: .comment)
        try container.encode(createdBy, forKey: .createdBy)
        try container.encode(creationDate, forKey: .creationDate)
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func text() -> String {
        // Everything here came from the file: escape control characters.
        var lines: [(String, String)] = [
            ("name", name),
            ("size", "\(length) bytes (\(ByteCount.format(length)))"),
            ("piece length", "\(pieceLength) bytes"),
            ("pieces", "\(pieceCount)"),
            ("info hash", infoHash),
            ("id hash", idHash ?? "-"),
            ("announce", announce ?? "-"),
        ]
        for (index, tier) in announceList.enumerated() {
            lines.append(("tier \(index + 1)", tier.joined(separator: " ")))
        }
        lines.append(("private", isPrivate ? "yes" : "no"))
        lines.append(("comment", comment ?? "-"))
        lines.append(("created by", createdBy ?? "-"))
        if let creationDate, (0...253_402_300_799).contains(creationDate) {
            let date = Date(timeIntervalSince1970: TimeInterval(creationDate))
            lines.append(("creation date", date.formatted(Date.ISO8601FormatStyle())))
        } else {
            lines.append(("creation date", creationDate.map { "\($0) (out of range)" } ?? "-"))
        }
        var output = lines.map { NumberText.padded($0.0, width: 15) + $0.1.escapingControlCharacters }
        output.append("files (\(files.count)):")
        let width = String(files.map(\.length).max() ?? 0).count
        for file in files {
            output.append("  " + NumberText.padded(String(file.length), width: width, right: true) + "  \(file.path.escapingControlCharacters)")
        }
        return output.joined(separator: "\n")
    }
}
