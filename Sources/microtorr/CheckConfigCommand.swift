import Appliance
import ArgumentParser
import FoundationEssentials

/// `microtorr check-config`: validates a configuration file and prints
/// every problem as `FILE:LINE:COLUMN: message`.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate an appliance configuration file; print every error with its line and column.")

    static let defaultPath = "/etc/microtorr/microtorr.yaml"

    @Option(name: .customLong("config"), help: "The YAML file (default: \(CheckConfigCommand.defaultPath)).",
            completion: .file(extensions: ["yaml", "yml"]))
    var config: String = CheckConfigCommand.defaultPath

    func run() throws {
        let result = ConfigurationLoader.load(path: config)
        guard result.issues.isEmpty else {
            for issue in result.issues { print(issue.description) }
            throw ExitCode.failure
        }
        print("\(config): ok")
    }
}
