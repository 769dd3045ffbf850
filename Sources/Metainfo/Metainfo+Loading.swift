import Bencode

extension Metainfo {
    /// Longest accepted piece: 256 MiB (mktorrent's maximum, 2^28).
    public static let maxPieceLength = 1 << 28
    /// Largest metainfo file read from disk.
    public static let maxFileSize = 160 << 20

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
        let name = try reader.requiredString("name")
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
            files = try Self.validatedFiles(list)
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

    private static func validatedFiles(_ list: [BencodeNode]) throws(MetainfoError) -> [FileEntry] {
        guard !list.isEmpty else {
            throw .invalidField(field: "info.files", reason: "is empty")
        }
        var files: [FileEntry] = []
        var filePaths = Set<String>()
        var directoryPaths = Set<String>()
        for (index, node) in list.enumerated() {
            let field = "info.files[\(index)]"
            let entry = try FieldReader(node: node, path: field)
            let length = try entry.requiredInteger("length")
            guard length >= 0 else {
                throw .invalidField(field: "\(field).length", reason: "is negative (\(length))")
            }
            let elements = try entry.requiredList("path")
            guard !elements.isEmpty else {
                throw .invalidField(field: "\(field).path", reason: "is empty")
            }
            var path: [String] = []
            for (elementIndex, element) in elements.enumerated() {
                let elementField = "\(field).path[\(elementIndex)]"
                let component = try FieldReader.string(element, field: elementField)
                if let problem = PathComponent.problem(with: component) {
                    throw .invalidField(field: elementField, reason: problem)
                }
                path.append(component)
            }
            // NUL never occurs in a valid component, so it is a safe separator.
            let joined = path.joined(separator: "\0")
            guard !directoryPaths.contains(joined), filePaths.insert(joined).inserted else {
                throw .invalidField(field: "\(field).path", reason: "collides with another file (\(path.joined(separator: "/")))")
            }
            for depth in 1..<path.count {
                let prefix = path[..<depth].joined(separator: "\0")
                guard !filePaths.contains(prefix) else {
                    throw .invalidField(field: "\(field).path", reason: "places a file below another file (\(path[..<depth].joined(separator: "/")))")
                }
                directoryPaths.insert(prefix)
            }
            files.append(FileEntry(path: path, length: length))
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

    func requiredString(_ key: String) throws(MetainfoError) -> String {
        try Self.string(try required(key), field: field(key))
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

    /// A byte string that must be valid UTF-8 (names, paths, URLs).
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
