#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Writes one JSON object per line: `ts`, `level`, `msg`, then every
/// metadata key (`event`, `torrent`, `info_hash`, `peer`, `bytes`, `error`…)
/// as a top-level field, so `jq 'select(.event == "torrent.created")'` works.
public struct JSONLogHandler: LogHandler {
    /// A level set on one logger wins over the process-wide one.
    private var ownLevel: Logger.Level?
    public var logLevel: Logger.Level {
        get { ownLevel ?? LogLevelControl.shared.level }
        set { ownLevel = newValue }
    }
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink

    /// - Parameter level: nil follows `LogLevelControl.shared`.
    public init(level: Logger.Level?, sink: LogSink) {
        ownLevel = level
        self.sink = sink
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

        var line = "{\"ts\":"
        JSONText.appendString(Self.timestamp(), to: &line)
        line += ",\"level\":"
        JSONText.appendString(event.level.rawValue, to: &line)
        line += ",\"msg\":"
        JSONText.appendString(event.message.description, to: &line)
        for key in fields.keys.sorted() where !["ts", "level", "msg"].contains(key) {
            line += ","
            JSONText.appendString(key, to: &line)
            line += ":"
            JSONText.appendValue(fields[key]!, to: &line)
        }
        line += "}"
        sink.write(line: line)
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { NumberText.zeroPadded(Int(value), width: 2) }
        let date = "\(NumberText.zeroPadded(Int(parts.tm_year) + 1900, width: 4))-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
        let time = "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        return "\(date)T\(time).\(NumberText.zeroPadded(now.tv_nsec / 1_000_000, width: 3))Z"
    }
}

/// JSON text building without Foundation's encoder (log lines are hot, and
/// the daemon's `/status` lists thousands of torrents).
public enum JSONText {
    public static func appendString(_ string: String, to output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let control where control.value < 0x20:
                output += "\\u" + NumberText.hex(control.value, width: 4)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    /// Numbers and booleans stay JSON numbers and booleans, so `bytes` can
    /// be summed with `jq`.
    public static func appendValue(_ value: Logger.Metadata.Value, to output: inout String) {
        switch value {
        case .string(let string):
            appendString(string, to: &output)
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as any BinaryInteger: output += "\(number)"
            case let number as Double where number.isFinite: output += "\(number)"
            case let flag as Bool: output += flag ? "true" : "false"
            default: appendString(convertible.description, to: &output)
            }
        case .array(let values):
            output += "["
            for (index, element) in values.enumerated() {
                if index > 0 { output += "," }
                appendValue(element, to: &output)
            }
            output += "]"
        case .dictionary(let dictionary):
            output += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                appendString(key, to: &output)
                output += ":"
                appendValue(dictionary[key]!, to: &output)
            }
            output += "}"
        }
    }
}
