import Logging
import Synchronization

/// The process-wide log level, changeable while running (the daemon's
/// config reload sets `logging.level`). Handlers read it on every check
/// unless a logger set its own level.
public final class LogLevelControl: Sendable {
    public static let shared = LogLevelControl()
    private let raw = Atomic<UInt8>(2)
    private static let levels = Logger.Level.allCases

    public var level: Logger.Level {
        get { Self.levels[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(UInt8(Self.levels.firstIndex(of: newValue) ?? 2), ordering: .relaxed) }
    }
}
