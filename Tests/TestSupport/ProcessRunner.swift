import Foundation

/// Runs a real process for integration tests to completion, with a
/// deadline (see `BackgroundProcess` for how it is started and stopped).
public struct ProcessResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

public enum ProcessRunner {
    /// The repository root, found from this file's path.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The `microtorr` executable built next to the test bundle.
    public static let microtorr: String = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("microtorr").path
    }()

    /// Runs to completion within `timeout` (then it is killed and this
    /// throws), capturing stdout and stderr.
    public static func run(
        _ executable: String, _ arguments: [String], in directory: String? = nil, timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        let child = try BackgroundProcess(executable, arguments, in: directory)
        guard child.waitForExit(timeout: timeout) else {
            child.stop(signal: SIGKILL)
            throw TimeoutError(command: ([executable] + arguments).joined(separator: " "))
        }
        return ProcessResult(status: child.process.terminationStatus, stdout: child.stdout, stderr: child.stderr)
    }

    public static func microtorr(_ arguments: [String], in directory: String? = nil) throws -> ProcessResult {
        try run(microtorr, arguments, in: directory)
    }

    /// python3-libtorrent imports only under the system interpreter.
    public static func libtorrentTool(_ arguments: [String], in directory: String? = nil) throws -> ProcessResult {
        try run("/usr/bin/python3", ["\(repositoryRoot)/Tests/Interop/libtorrent_tool.py"] + arguments, in: directory)
    }

    public struct TimeoutError: Error, CustomStringConvertible {
        let command: String
        public var description: String { "timed out: \(command)" }
    }
}
