import Bencode

extension InfoDictionary {
    /// The canonical `info` dictionary; `private` only when set, `id_hash`
    /// only when known.
    public var bencodeValue: Bencode {
        var dictionary: Bencode = [
            "name": .string(name),
            "piece length": .integer(Int64(pieceLength)),
            "pieces": .bytes(pieces),
        ]
        guard case .dictionary(var fields) = dictionary else { fatalError("unreachable") }
        if isMultiFile {
            fields[Array("files".utf8)] = .list(files.map { file in
                var entry: Bencode = ["length": .integer(file.length), "path": .list(file.path.map { .string($0) })]
                if file.isPadding, case .dictionary(var padded) = entry {
                    padded[Array("attr".utf8)] = "p"
                    entry = .dictionary(padded)
                }
                return entry
            })
        } else {
            fields[Array("length".utf8)] = .integer(files[0].length)
        }
        if isPrivate { fields[Array("private".utf8)] = 1 }
        if let idHash { fields[Array("id_hash".utf8)] = .bytes(idHash.bytes) }
        dictionary = .dictionary(fields)
        return dictionary
    }
}

extension Metainfo {
    /// The metainfo file's bytes. The `info` dictionary is spliced in as the
    /// bytes it was loaded or created from, so the info-hash never changes.
    public func encoded() -> [UInt8] {
        var fields: [([UInt8], [UInt8])] = [(Array("info".utf8), infoBytes)]
        func add(_ key: String, _ value: Bencode) { fields.append((Array(key.utf8), value.encoded())) }
        if let announce { add("announce", .string(announce)) }
        if !announceList.isEmpty {
            add("announce-list", .list(announceList.map { .list($0.map { .string($0) }) }))
        }
        if let comment { add("comment", .string(comment)) }
        if let createdBy { add("created by", .string(createdBy)) }
        if let creationDate { add("creation date", .integer(creationDate)) }
        fields.sort { $0.0.lexicographicallyPrecedes($1.0) }
        var output: [UInt8] = [UInt8(ascii: "d")]
        for (key, value) in fields {
            Bencode.bytes(key).encode(into: &output)
            output.append(contentsOf: value)
        }
        output.append(UInt8(ascii: "e"))
        return output
    }
}
