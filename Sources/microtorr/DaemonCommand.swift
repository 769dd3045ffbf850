import Appliance
import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MicroTorrLogging

/// `microtorr daemon` (alias `serve`): the appliance service of SPEC
/// section 5, driven by a YAML file.
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the appliance: share dropped files, download dropped .mtorrent files, as the YAML config says.",
        aliases: ["serve"])

    @Option(name: .customLong("config"),
            help: "The YAML file (default: \(CheckConfigCommand.defaultPath) if it exists, else a local default under ./microtorr-data).",
            completion: .file(extensions: ["yaml", "yml"]))
    var config: String?

    /// For tests and benchmarks: how long a dropped file must stay unchanged.
    @Option(name: .customLong("settle-seconds"), help: .hidden)
    var settleSeconds = 1.0

    /// For tests: seconds between full rescans behind inotify.
    @Option(name: .customLong("rescan-seconds"), help: .hidden)
    var rescanSeconds = 30.0

    func validate() throws {
        guard settleSeconds >= 0, rescanSeconds > 0 else { throw ValidationError("times must be positive") }
    }

    func run() async throws {
        // Until the reload handler is installed, a SIGHUP must not end us.
        signal(SIGHUP, SIG_IGN)
        let (configuration, path) = try loadConfiguration()
        LoggingSetup.bootstrap(level: ApplianceSupervisor.level(configuration.logging.level),
                               format: configuration.logging.format == .json ? .json : .text, sink: .standardOutput)
        let logger = Logger(label: "microtorr.daemon")
        logger.info("configuration loaded", metadata: [
            "event": "config.loaded", "path": .string(path ?? "built-in local default"),
        ])
        var options = ApplianceSupervisor.Options()
        options.settleSeconds = settleSeconds
        options.rescanSeconds = rescanSeconds
        let supervisor = ApplianceSupervisor(configuration: configuration, configurationPath: path, options: options, logger: logger)
        do {
            try await ApplianceService.run(supervisor: supervisor, logger: logger)
        } catch let error as ApplianceError {
            throw CommandFailure(error.description)
        }
    }

    /// `--config`, else the packaged path if present, else the local default.
    private func loadConfiguration() throws -> (ApplianceConfiguration, String?) {
        let path: String
        if let config {
            // Absolute, so the file's change events match it.
            path = config.hasPrefix("/") ? config : FileManager.default.currentDirectoryPath + "/" + config
        } else if FileManager.default.fileExists(atPath: CheckConfigCommand.defaultPath) {
            path = CheckConfigCommand.defaultPath
        } else {
            return (ApplianceConfiguration.localDefault(root: FileManager.default.currentDirectoryPath), nil)
        }
        let result = ConfigurationLoader.load(path: path)
        guard let configuration = result.configuration, result.issues.isEmpty else {
            throw CommandFailure(result.issues.map(\.description).joined(separator: "\n"))
        }
        return (configuration, path)
    }
}
