#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A file descriptor that receives whole log lines.
///
/// Each line goes out in one `write(2)` under a lock, so lines from
/// concurrent tasks never interleave.
public final class LogSink: Sendable {
    public static let standardOutput = LogSink(fd: STDOUT_FILENO)
    public static let standardError = LogSink(fd: STDERR_FILENO)

    private let fd: Int32
    private let lock = Mutex<Void>(())

    public init(fd: Int32) {
        self.fd = fd
    }

    /// Whether the sink is a terminal (colours and progress bars only then).
    public var isTerminal: Bool { isatty(fd) == 1 }

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var done = 0
                while done < buffer.count {
                    let result = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
                    if result < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    done += result
                }
            }
        }
    }
}
