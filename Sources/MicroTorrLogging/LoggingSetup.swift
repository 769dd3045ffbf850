import Logging

/// Installs the process-wide log handler once, from the common `-v` and
/// `--log-format` options.
public enum LoggingSetup {
    /// - Parameters:
    ///   - format: nil picks text when stdout is a terminal and JSON
    ///     otherwise (SPEC: the session's output decides, not the log's).
    ///   - sink: where lines go; commands whose stdout is data use stderr.
    public static func bootstrap(verbosity: Int, format: LogFormat?, sink: LogSink) {
        bootstrap(level: Verbosity.level(for: verbosity), format: format, sink: sink)
    }

    /// With a swift-log level; change it later through `LogLevelControl`.
    public static func bootstrap(level: LoggerLevel, format: LogFormat?, sink: LogSink) {
        let chosen = format ?? (LogSink.standardOutput.isTerminal ? .text : .json)
        let colours = sink.isTerminal
        LogLevelControl.shared.level = level
        LoggingSystem.bootstrap { _ in
            switch chosen {
            case .json: return JSONLogHandler(level: nil, sink: sink)
            case .text: return TextLogHandler(level: nil, sink: sink, colours: colours)
            }
        }
    }
}
