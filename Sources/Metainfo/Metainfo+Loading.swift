import Bencode

extension Metainfo {
    /// Longest accepted piece: 256 MiB (mktorrent's maximum, 2^28).
    public static let maxPieceLength = 1 << 28
    /// Largest metainfo file read from disk (a 1 TiB torrent at 256 KiB
    /// pieces has 80 MiB of hashes; at its auto piece length, 40 KiB).
    public static let maxFileSize = 64 << 20
    /// Longest path a file may get below the output directory (PATH_MAX).
    public static let maxPathLength = 4096

    /// Loads and validates a metainfo file.
    public init(contentsOfFile path: String) throws {
        let bytes = try FileIO.readWholeFile(atPath: path, maxBytes: Self.maxFileSize)
        try self.init(bencoded: bytes)
    }

    /// Parses and validates bencoded metainfo; the info-hash is taken over
    /// the `info` dictionary's bytes as they stand in `bytes`.
    public init(bencoded bytes: [UInt8]) throws(MetainfoError) {
        let root: BencodeNode
        do {
            root = try BencodeDecoder().decodeNode(bytes)
        } catch {
            throw .bencode(error)
        }
        let top = try FieldReader(node: root, path: "")
        let infoNode = try top.required("info")
        let info = try InfoDictionary(validating: FieldReader(node: infoNode, path: "info"))

        let announce = try top.optionalString("announce")
        var announceList: [[String]] = []
        if let tiers = try top.optionalList("announce-list") {
            for (tierIndex, tier) in tiers.enumerated() {
                let tierField = "announce-list[\(tierIndex)]"
                guard case .list(let urls) = tier.content else {
                    throw .wrongType(field: tierField, expected: "a list")
                }
                var tierURLs: [String] = []
                for (urlIndex, url) in urls.enumerated() {
                    tierURLs.append(try FieldReader.string(url, field: "\(tierField)[\(urlIndex)]"))
                }
                if !tierURLs.isEmpty { announceList.append(tierURLs) }
            }
        }
        self.init(
            info: info,
            infoBytes: Array(bytes[infoNode.range]),
            announce: announce,
            announceList: announceList,
            comment: try top.optionalText("comment"),
            createdBy: try top.optionalText("created by"),
            creationDate: try top.optionalInteger("creation date"))
    }
}

extension InfoDictionary {
    init(validating reader: FieldReader) throws(MetainfoError) {
        let name = try reader.pathElement("name")
        if let problem = PathComponent.problem(with: name) {
            throw .invalidField(field: "info.name", reason: problem)
        }
        let pieceLength = try reader.requiredInteger("piece length")
        guard pieceLength > 0, pieceLength <= Int64(Metainfo.maxPieceLength) else {
            throw .invalidField(
                field: "info.piece length",
                reason: "is \(pieceLength); it must be between 1 and \(Metainfo.maxPieceLength)")
        }
        let pieces = try reader.requiredBytes("pieces")
        guard pieces.count % SHA1Hash.byteCount == 0 else {
            throw .invalidField(
                field: "info.pieces", reason: "has \(pieces.count) bytes, not a multiple of 20")
        }

        let single = try reader.optionalInteger("length")
        let multi = try reader.optionalList("files")
        let files: [FileEntry]
        switch (single, multi) {
        case (nil, nil):
            throw .missingField("info.length or info.files")
        case (.some, .some):
            throw .invalidField(field: "info", reason: "has both 'length' and 'files'")
        case (let length?, nil):
            guard length >= 0 else {
                throw .invalidField(field: "info.length", reason: "is negative (\(length))")
            }
            files = [FileEntry(path: [], length: length)]
        case (nil, let list?):
            files = try Self.validatedFiles(list, name: name)
        }

        var total: Int64 = 0
        for file in files {
            let (sum, overflow) = total.addingReportingOverflow(file.length)
            guard !overflow else {
                throw .invalidField(field: "info", reason: "total length does not fit in 64 bits")
            }
            total = sum
        }
        guard total > 0 else {
            throw .invalidField(field: "info", reason: "describes no data (total length 0)")
        }
        let expectedPieces = (total - 1) / pieceLength + 1
        let pieceCount = Int64(pieces.count / SHA1Hash.byteCount)
        guard pieceCount == expectedPieces else {
            throw .invalidField(
                field: "info.pieces",
                reason: "holds \(pieceCount) piece hashes but \(total) bytes at piece length \(pieceLength) need \(expectedPieces)")
        }

        let isPrivate = try reader.optionalInteger("private")
        var idHash: SHA1Hash?
        if let raw = try reader.optionalBytes("id_hash") {
            guard let hash = SHA1Hash(bytes: raw) else {
                throw .invalidField(field: "info.id_hash", reason: "has \(raw.count) bytes, not 20")
            }
            idHash = hash
        }
        self.init(
            name: name, pieceLength: Int(pieceLength), pieces: pieces, files: files,
            isMultiFile: multi != nil, isPrivate: isPrivate == 1, idHash: idHash)
    }

    private static func validatedFiles(_ list: [BencodeNode], name: String) throws(MetainfoError) -> [FileEntry] {
        guard !list.isEmpty else {
            throw .invalidField(field: "info.files", reason: "is empty")
        }
        var files: [FileEntry] = []
        var tree = PathTrie()
        for (index, node) in list.enumerated() {
            let field = "info.files[\(index)]"
            let entry = try FieldReader(node: node, path: field)
            let length = try entry.requiredInteger("length")
            guard length >= 0 else {
                throw .invalidField(field: "\(field).length", reason: "is negative (\(length))")
            }
            let utf8Elements = try entry.optionalList("path.utf-8")
            let elements: [BencodeNode]
            if let utf8Elements { elements = utf8Elements } else { elements = try entry.requiredList("path") }
            let pathKey = utf8Elements == nil ? "path" : "path.utf-8"
            guard !elements.isEmpty else {
                throw .invalidField(field: "\(field).\(pathKey)", reason: "is empty")
            }
            var path: [String] = []
            var pathLength = name.utf8.count
            for (elementIndex, element) in elements.enumerated() {
                let elementField = "\(field).\(pathKey)[\(elementIndex)]"
                let component = try FieldReader.pathText(element, field: elementField)
                if let problem = PathComponent.problem(with: component) {
                    throw .invalidField(field: elementField, reason: problem)
                }
                pathLength += 1 + component.utf8.count
                guard pathLength <= Metainfo.maxPathLength else {
                    throw .invalidField(field: "\(field).\(pathKey)", reason: "is longer than \(Metainfo.maxPathLength) bytes")
                }
                path.append(component)
            }
            switch tree.insert(path) {
            case nil:
                break
            case .duplicate:
                throw .invalidField(field: "\(field).\(pathKey)",
                                    reason: "collides with another file (\(path.joined(separator: "/").escapingControlCharacters))")
            case .belowFile(let depth):
                throw .invalidField(field: "\(field).\(pathKey)",
                                    reason: "places a file below another file (\(path[..<depth].joined(separator: "/").escapingControlCharacters))")
            }
            let attributes = try entry.optionalBytes("attr") ?? []
            files.append(FileEntry(path: path, length: length, isPadding: attributes.contains(UInt8(ascii: "p"))))
        }
        return files
    }
}

/// Typed access to a dictionary's fields, with errors that name the field.
struct FieldReader {
    let entries: [BencodeNode.Entry]
    let path: String

    init(node: BencodeNode, path: String) throws(MetainfoError) {
        guard case .dictionary(let entries) = node.content else {
            throw .wrongType(field: path.isEmpty ? "(top level)" : path, expected: "a dictionary")
        }
        self.entries = entries
        self.path = path
    }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func optional(_ key: String) -> BencodeNode? {
        let wanted = Array(key.utf8)
        return entries.first(where: { $0.key == wanted })?.value
    }

    func required(_ key: String) throws(MetainfoError) -> BencodeNode {
        guard let node = optional(key) else { throw .missingField(field(key)) }
        return node
    }

    func optionalInteger(_ key: String) throws(MetainfoError) -> Int64? {
        guard let node = optional(key) else { return nil }
        guard case .integer(let value) = node.content else {
            throw .wrongType(field: field(key), expected: "an integer")
        }
        return value
    }

    func requiredInteger(_ key: String) throws(MetainfoError) -> Int64 {
        guard let value = try optionalInteger(key) else { throw .missingField(field(key)) }
        return value
    }

    func optionalBytes(_ key: String) throws(MetainfoError) -> [UInt8]? {
        guard let node = optional(key) else { return nil }
        guard case .bytes(let value) = node.content else {
            throw .wrongType(field: field(key), expected: "a byte string")
        }
        return value
    }

    func requiredBytes(_ key: String) throws(MetainfoError) -> [UInt8] {
        guard let value = try optionalBytes(key) else { throw .missingField(field(key)) }
        return value
    }

    func optionalString(_ key: String) throws(MetainfoError) -> String? {
        guard let node = optional(key) else { return nil }
        return try Self.string(node, field: field(key))
    }

    /// Free text shown to people (comment, created by): invalid UTF-8 is
    /// repaired rather than refused, since nothing is derived from it.
    func optionalText(_ key: String) throws(MetainfoError) -> String? {
        guard let bytes = try optionalBytes(key) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    func optionalList(_ key: String) throws(MetainfoError) -> [BencodeNode]? {
        guard let node = optional(key) else { return nil }
        guard case .list(let value) = node.content else {
            throw .wrongType(field: field(key), expected: "a list")
        }
        return value
    }

    func requiredList(_ key: String) throws(MetainfoError) -> [BencodeNode] {
        guard let value = try optionalList(key) else { throw .missingField(field(key)) }
        return value
    }

    /// A name or path element: the `KEY.utf-8` variant when present (some
    /// tools put the local encoding in `KEY` and UTF-8 beside it).
    func pathElement(_ key: String) throws(MetainfoError) -> String {
        if let variant = optional("\(key).utf-8") { return try Self.pathText(variant, field: field("\(key).utf-8")) }
        return try Self.pathText(try required(key), field: field(key))
    }

    /// File-name text: invalid UTF-8 (old torrents in a local encoding) is
    /// repaired with U+FFFD rather than refused, so such torrents still
    /// load; the safety checks run on the repaired name that is used.
    static func pathText(_ node: BencodeNode, field: String) throws(MetainfoError) -> String {
        guard case .bytes(let bytes) = node.content else {
            throw .wrongType(field: field, expected: "a byte string")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A byte string that must be valid UTF-8 (URLs).
    static func string(_ node: BencodeNode, field: String) throws(MetainfoError) -> String {
        guard case .bytes(let bytes) = node.content else {
            throw .wrongType(field: field, expected: "a byte string")
        }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw .invalidField(field: field, reason: "is not valid UTF-8")
        }
        return string
    }
}
