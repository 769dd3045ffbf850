import ArgumentParser
import FoundationEssentials
import Logging
import Metainfo

/// `microtorr create PATH`: writes `NAME.mtorrent` for a file or directory.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a .mtorrent (BitTorrent v1 metainfo) for a file or a directory.",
        aliases: ["createMtorr"])

    @Argument(help: "The file or directory to share.", completion: .file())
    var path: String

    @Option(name: [.customShort("t"), .customLong("tracker")],
            help: "Tracker announce URL; repeat for more (the first is 'announce'; each is a tier of 'announce-list').")
    var trackers: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")],
            help: "Where to write the metainfo file (default: ./NAME.mtorrent).", completion: .file())
    var output: String?

    @Option(name: .customLong("piece-length"),
            help: "Piece length in bytes (262144, 256K, 1M) or 'auto' (about 1000-2000 pieces).")
    var pieceLength: String = "auto"

    @Option(name: .customLong("comment"), help: "A comment stored in the file.")
    var comment: String?

    @Flag(name: .customLong("private"), help: "Mark the torrent private (BEP 27): peers only from its trackers.")
    var isPrivate = false

    @Option(name: .customLong("threads"), help: "Hashing threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .customLong("no-id-hash"),
          help: "Leave out the original MicroTorr's id_hash (a whole-content SHA-1 that costs a second serial pass).")
    var noIDHash = false

    @Flag(name: .customLong("no-date"), help: "Leave out the creation date, so the same input gives the same file.")
    var noDate = false

    @Flag(name: [.customShort("f"), .customLong("force")], help: "Replace the output file if it exists.")
    var force = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard let choice = PieceLength(argument: pieceLength) else {
            throw ValidationError("--piece-length must be 'auto', a byte count, or a count with K/KiB/M/MiB")
        }
        if let problem = choice.problem { throw ValidationError(problem) }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        for url in trackers where !(url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("udp://")) {
            throw ValidationError("tracker URL '\(url)' must start with http://, https:// or udp://")
        }
    }

    func run() throws {
        logging.bootstrap()
        let logger = Logger(label: "microtorr.create")
        var options = MetainfoCreator.Options()
        options.trackers = trackers
        options.pieceLength = PieceLength(argument: pieceLength)!
        options.comment = comment
        options.isPrivate = isPrivate
        options.threads = threads
        options.includesIDHash = !noIDHash
        if noDate { options.creationDate = nil }

        let metainfo: Metainfo
        let destination: String
        do {
            let source = try ContentSource(scanning: path)
            destination = output ?? "\(source.name).mtorrent"
            // Never replace the data being shared, even with --force.
            if source.includes(fileAt: destination) {
                throw CommandFailure("\(destination) is one of the files being shared; choose another output")
            }
            if !force, FileManager.default.fileExists(atPath: destination) {
                throw CommandFailure("\(destination) exists (use --force to replace it)")
            }
            for skippedPath in source.skipped {
                logger.warning("not a regular file, left out", metadata: ["event": "create.skipped", "path": .string(skippedPath)])
            }
            let creator = MetainfoCreator(options: options)
            let progress = HashProgress()
            let display = source.totalLength >= 64 << 20
                ? ProgressDisplay(bar: ProgressBar(total: creator.workBytes(for: source), label: "hashing"), read: { progress.bytesHashed })
                : nil
            let started = Date()
            defer { display?.finish() }
            metainfo = try creator.create(from: source, progress: progress)
            logger.debug("hashed content", metadata: [
                "event": "content.hashed", "bytes": .stringConvertible(source.totalLength),
                "seconds": .stringConvertible(Date().timeIntervalSince(started)),
            ])
            try FileIO.writeAtomically(metainfo.encoded(), toPath: destination)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure("cannot create torrent: \(error)")
        }
        logger.info("torrent created", metadata: [
            "event": "torrent.created", "torrent": .string(metainfo.info.name),
            "info_hash": .string(metainfo.infoHash.hex), "path": .string(destination),
        ])
        print("\(destination): \(metainfo.info.pieceCount) pieces of \(metainfo.info.pieceLength) bytes, info_hash \(metainfo.infoHash.hex)")
    }
}
