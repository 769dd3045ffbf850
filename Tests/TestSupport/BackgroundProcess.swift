import Foundation

/// A real process a test runs alongside itself (a tracker, opentracker, a
/// peer). Output goes to temporary files, so no pipe can fill up and stall
/// the child. It is always stopped by its PID: `stop()` sends SIGTERM and waits,
/// then SIGKILL; `deinit` kills it if the test forgot or failed early.
public final class BackgroundProcess: @unchecked Sendable {
    public let process = Process()
    private let outPath: String
    private let errPath: String

    public init(_ executable: String, _ arguments: [String], in directory: String? = nil) throws {
        let scratch = NSTemporaryDirectory() + "microtorr-bg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        outPath = scratch + "/out"
        errPath = scratch + "/err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try Self.withNoSignalsBlocked { try process.run() }
    }

    /// Runs `body` (a spawn) with this thread's signal mask empty. A child
    /// inherits its spawner's mask, and the test runner's threads block
    /// nearly every signal: children would start with SIGINT and SIGTERM
    /// blocked, so `stop()` could only ever end them by SIGKILL, and a tool
    /// that stops gracefully on a signal (flushing its data) never would.
    private static func withNoSignalsBlocked<T>(_ body: () throws -> T) rethrows -> T {
        var none = sigset_t()
        var saved = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        return try body()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: (outPath as NSString).deletingLastPathComponent)
    }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits up to `timeout` seconds for `text` to appear in its standard
    /// output (or error, with `inStderr`).
    public func waitForOutput(_ text: String, inStderr: Bool = false, timeout: TimeInterval = 60) -> Bool {
        eventually(timeout: timeout, every: 0.05) { (inStderr ? stderr : stdout).contains(text) }
    }

    /// Waits up to `timeout` seconds for the process to end by itself.
    public func waitForExit(timeout: TimeInterval) -> Bool {
        guard eventually(timeout: timeout, every: 0.01, { !process.isRunning }) else { return false }
        process.waitUntilExit()
        return true
    }

    /// `signal` (SIGTERM), then up to `grace` seconds, then SIGKILL. Returns
    /// the exit status and how long the process took to go.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: TimeInterval = 10) -> (status: Int32, seconds: TimeInterval) {
        let started = Date()
        if process.isRunning { kill(process.processIdentifier, signal) }
        _ = eventually(timeout: grace, every: 0.01) { !process.isRunning }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, Date().timeIntervalSince(started))
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port`.
    public static func waitForPort(_ port: Int, timeout: TimeInterval = 20) -> Bool {
        eventually(timeout: timeout, every: 0.05) {
            guard let fd = connectLoopback(port: port) else { return false }
            close(fd)
            return true
        }
    }

    /// Seconds until the other side closes `fd` (a read sees EOF or a
    /// reset), reading and discarding what it sends; nil if still open
    /// after `limit` seconds.
    public static func secondsUntilClosed(_ fd: Int32, limit: Double) -> Double? {
        let started = Date()
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(started) < limit {
            let count = read(fd, &buffer, buffer.count)
            if count == 0 || (count < 0 && errno == ECONNRESET) { return Date().timeIntervalSince(started) }
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { return nil }
        }
        return nil
    }

    /// A TCP connection to 127.0.0.1:`port`, or nil when refused.
    public static func connectLoopback(port: Int) -> Int32? {
        loopbackSocket(port: port) { fd, address, length in connect(fd, address, length) == 0 }
    }

    /// A socket listening on a free 127.0.0.1 port, holding it (never
    /// accepting), and the port; close it to free the port. (No gap for
    /// another test to take the port, as `freePort` then `bind` has.)
    public static func holdFreePort() -> (fd: Int32, port: Int)? {
        guard let fd = loopbackSocket(port: 0, { fd, address, length in bind(fd, address, length) == 0 && listen(fd, 1) == 0 })
        else { return nil }
        return (fd, boundPort(of: fd))
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() -> Int {
        guard let fd = loopbackSocket(port: 0, { fd, address, length in bind(fd, address, length) == 0 }) else { return 0 }
        defer { close(fd) }
        return boundPort(of: fd)
    }

    private static func boundPort(of fd: Int32) -> Int {
        var bound = sockaddr_in()
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        return Int(UInt16(bigEndian: bound.sin_port))
    }

    /// A TCP socket given 127.0.0.1:`port` to `use`; closed and nil if
    /// `use` fails.
    private static func loopbackSocket(port: Int, _ use: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let done = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { use(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard done else {
            close(fd)
            return nil
        }
        return fd
    }
}

extension BackgroundProcess {
    /// Open descriptors of process `pid` (from /proc); nil if unreadable.
    public static func descriptorCount(of pid: Int32) -> Int? {
        try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    /// Resident memory of process `pid` in KiB (VmRSS); nil if unreadable.
    public static func residentKiB(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
}
