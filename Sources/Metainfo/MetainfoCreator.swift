import FoundationEssentials

/// Makes a new metainfo file for content on disk.
public struct MetainfoCreator: Sendable {
    public struct Options: Sendable {
        /// Tracker URLs: the first is `announce`, and each becomes its own
        /// BEP 12 tier of `announce-list`, in order.
        public var trackers: [String] = []
        public var pieceLength: PieceLength = .auto
        public var comment: String?
        public var isPrivate = false
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        /// Adds the original MicroTorr's `id_hash`; it costs a second SHA-1
        /// pass that cannot be parallelised.
        public var includesIDHash = true
        /// Seconds since 1970; nil leaves the field out (deterministic output).
        public var creationDate: Int64? = Int64(Date().timeIntervalSince1970)

        public init() {}
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Bytes a `HashProgress` passed to `create` counts up to (the content
    /// is read twice when the whole-content hash is computed).
    public func workBytes(for source: ContentSource) -> Int64 {
        source.totalLength * (options.includesIDHash ? 2 : 1)
    }

    /// Hashes the content (blocking: see `PieceHasher.run`) and builds the
    /// metainfo.
    public func create(from source: ContentSource, progress: HashProgress? = nil) throws(CreationError) -> Metainfo {
        if let problem = options.pieceLength.problem { throw .invalidOption(problem) }
        let pieceLength = options.pieceLength.resolved(forTotalLength: source.totalLength)
        let hasher = PieceHasher(
            layout: source.layout, diskPaths: source.diskPaths, pieceLength: pieceLength,
            threads: options.threads, computesContentHash: options.includesIDHash)
        let result = try hasher.run(progress: progress)
        try source.checkUnchanged()
        let info = InfoDictionary(
            name: source.name, pieceLength: pieceLength, pieces: result.pieces, files: source.files,
            isMultiFile: source.isMultiFile, isPrivate: options.isPrivate, idHash: result.contentHash)
        return Metainfo(
            info: info,
            infoBytes: info.bencodeValue.encoded(),
            announce: options.trackers.first,
            announceList: options.trackers.map { [$0] },
            comment: options.comment,
            createdBy: MicroTorrVersion.createdBy,
            creationDate: options.creationDate)
    }
}
