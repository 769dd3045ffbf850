import Logging

/// Installs the process-wide log handler once, from the common `-v` and
/// `--log-format` options.
public enum LoggingSetup {
    /// - Parameters:
    ///   - format: nil picks text on a terminal and JSON otherwise.
    ///   - sink: where lines go; commands whose stdout is data use stderr.
    public static func bootstrap(verbosity: Int, format: LogFormat?, sink: LogSink) {
        let level = Verbosity.level(for: verbosity)
        let chosen = format ?? (sink.isTerminal ? .text : .json)
        let colours = sink.isTerminal
        LoggingSystem.bootstrap { _ in
            switch chosen {
            case .json: return JSONLogHandler(level: level, sink: sink)
            case .text: return TextLogHandler(level: level, sink: sink, colours: colours)
            }
        }
    }
}
