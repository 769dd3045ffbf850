import Bencode
import Metainfo

/// The hashing cache: for each shared entry (by name in the share
/// directory), the fingerprint its `.mtorrent` was made from. A restart
/// finds an unchanged entry here and seeds its existing `.mtorrent` without
/// reading the data again. Kept in `state_dir/shares.state`, rewritten
/// crash-safely; a damaged file only costs a rehash.
struct ShareCatalog: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var fingerprint: ShareProbe.Fingerprint
        var infoHash: InfoHash
    }

    private(set) var entries: [String: Entry] = [:]

    static let fileName = "shares.state"
    private static let format = "microtorr-shares-1"

    init() {}

    subscript(name: String) -> Entry? {
        get { entries[name] }
        set { entries[name] = newValue }
    }

    func encoded() -> [UInt8] {
        var list: [[UInt8]: Bencode] = [:]
        for (name, entry) in entries {
            var files: [[UInt8]: Bencode] = [:]
            for (path, snapshot) in entry.fingerprint {
                files[Array(path.utf8)] = .list([
                    .integer(Int64(bitPattern: snapshot.device)), .integer(Int64(bitPattern: snapshot.inode)),
                    .integer(snapshot.size), .integer(snapshot.modifiedNanoseconds),
                ])
            }
            list[Array(name.utf8)] = ["info_hash": .bytes(entry.infoHash.bytes), "files": .dictionary(files)]
        }
        let root: Bencode = ["format": .string(Self.format), "entries": .dictionary(list)]
        return root.encoded()
    }

    /// Nil for anything that is not a catalog this version wrote.
    init?(encoded bytes: [UInt8]) {
        let decoder = BencodeDecoder(limits: .init(maxValues: 50_000_000))
        guard let root = try? decoder.decode(bytes), root["format"]?.stringValue == Self.format,
              let list = root["entries"]?.dictionaryValue else { return nil }
        for (nameBytes, value) in list {
            guard let name = String(validating: nameBytes, as: UTF8.self),
                  let hashBytes = value["info_hash"]?.bytesValue, let infoHash = SHA1Hash(bytes: hashBytes),
                  let files = value["files"]?.dictionaryValue else { return nil }
            var fingerprint: ShareProbe.Fingerprint = [:]
            for (pathBytes, stamp) in files {
                guard let path = String(validating: pathBytes, as: UTF8.self),
                      let fields = stamp.listValue?.compactMap(\.integerValue), fields.count == 4 else { return nil }
                fingerprint[path] = FileSnapshot(device: UInt64(bitPattern: fields[0]), inode: UInt64(bitPattern: fields[1]),
                                                 size: fields[2], modifiedNanoseconds: fields[3])
            }
            entries[name] = Entry(fingerprint: fingerprint, infoHash: infoHash)
        }
    }

    /// The catalog in `directory`, or an empty one.
    static func load(fromDirectory directory: String) -> ShareCatalog {
        guard let bytes = try? FileIO.readWholeFile(atPath: "\(directory)/\(fileName)", maxBytes: 1 << 30),
              let catalog = ShareCatalog(encoded: bytes) else { return ShareCatalog() }
        return catalog
    }
}
