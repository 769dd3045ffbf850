import Foundation

/// Runs a real process for integration tests, with a deadline: output goes
/// to temporary files (no pipe can fill up and stall the child), and a
/// process that overstays is killed by its PID.
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

    public static func run(
        _ executable: String, _ arguments: [String], in directory: String? = nil, timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("microtorr-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out")
        let errURL = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TimeoutError(command: ([executable] + arguments).joined(separator: " "))
        }
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
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
