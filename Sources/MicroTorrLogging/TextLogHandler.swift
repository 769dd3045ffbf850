import Logging

/// Human-readable lines: `12:04:05 INFO  message key=value`, with the level
/// coloured when the sink is a terminal (the original's coloured verbosity).
public struct TextLogHandler: LogHandler {
    /// A level set on one logger wins over the process-wide one.
    private var ownLevel: Logger.Level?
    public var logLevel: Logger.Level {
        get { ownLevel ?? LogLevelControl.shared.level }
        set { ownLevel = newValue }
    }
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink
    private let colours: Bool

    /// - Parameter level: nil follows `LogLevelControl.shared`.
    public init(level: Logger.Level?, sink: LogSink, colours: Bool) {
        ownLevel = level
        self.sink = sink
        self.colours = colours
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        if let error = event.error { fields["error"] = .string(String(describing: error)) }

        let stamp = String(JSONLogHandler.timestamp().dropFirst(11).prefix(8))
        let label = NumberText.padded(event.level.rawValue.uppercased(), width: 8)
        var line = "\(stamp) " + (colours ? "\(Self.colour(for: event.level))\(label)\u{1B}[0m" : label)
        line += event.message.description
        for key in fields.keys.sorted() {
            line += " \(key)=\(fields[key]!)"
        }
        sink.write(line: line)
    }

    private static func colour(for level: Logger.Level) -> String {
        switch level {
        case .trace: return "\u{1B}[90m"
        case .debug: return "\u{1B}[36m"
        case .info: return "\u{1B}[32m"
        case .notice: return "\u{1B}[34m"
        case .warning: return "\u{1B}[33m"
        case .error: return "\u{1B}[31m"
        case .critical: return "\u{1B}[1;31m"
        }
    }
}
