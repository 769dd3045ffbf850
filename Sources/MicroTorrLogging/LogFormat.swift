/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, for journald, `jq` and log shippers.
    case json
    /// Human-readable lines, coloured on a terminal.
    case text
}

/// The `-v N` scale of the original MicroTorr mapped onto swift-log levels.
public enum Verbosity {
    /// 0 quiet (errors only), 1 info, 2 debug, 3 trace.
    public static func level(for verbosity: Int) -> LoggerLevel {
        switch verbosity {
        case ..<1: return .error
        case 1: return .info
        case 2: return .debug
        default: return .trace
        }
    }
}

import Logging

public typealias LoggerLevel = Logger.Level
