import ArgumentParser
import MicroTorrLogging

extension LogFormat: ExpressibleByArgument {}

/// The options every command shares: the original's `-v N` verbosity and
/// the log format.
struct LoggingOptions: ParsableArguments {
    @Option(
        name: [.customShort("v"), .customLong("verbosity")],
        help: "Verbosity: 0 quiet, 1 info, 2 debug, 3 trace.")
    var verbosity: Int = 1

    @Option(
        name: .customLong("log-format"),
        help: "Log line format: text or json (default: text on a terminal, json otherwise).")
    var logFormat: LogFormat?

    func validate() throws {
        guard (0...3).contains(verbosity) else {
            throw ValidationError("verbosity must be 0, 1, 2 or 3")
        }
    }

    /// Logs go to stderr: stdout carries the command's own output.
    func bootstrap() {
        LoggingSetup.bootstrap(verbosity: verbosity, format: logFormat, sink: .standardError)
    }
}
