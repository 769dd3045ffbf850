import ArgumentParser
import FoundationEssentials
import Metainfo

/// `microtorr info FILE`: shows a `.mtorrent` or any v1 `.torrent`.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what a .mtorrent or .torrent file describes.",
        aliases: ["loadMtorr"])

    @Argument(help: "The metainfo file.", completion: .file(extensions: ["mtorrent", "torrent"]))
    var file: String

    @Flag(name: .customLong("json"), help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let metainfo: Metainfo
        do {
            metainfo = try Metainfo(contentsOfFile: file)
        } catch {
            throw CommandFailure("cannot load \(file): \(error)")
        }
        let summary = MetainfoSummary(metainfo)
        print(json ? try summary.json() : summary.text())
    }
}
