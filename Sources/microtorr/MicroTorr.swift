import ArgumentParser
import Metainfo

/// The `microtorr` executable: one subcommand per file in this folder.
@main
struct MicroTorr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "microtorr",
        abstract: "Peer-to-peer file sharing on the BitTorrent v1 protocol.",
        version: MicroTorrVersion.string,
        subcommands: [CreateCommand.self, InfoCommand.self, TrackerCommand.self, DownloadCommand.self, DemoCommand.self, DaemonCommand.self, CheckConfigCommand.self, CompletionCommand.self]
    )

    static func main() async {
        MallocTuning.keepFreedMemory()
        await main(nil)
    }
}
