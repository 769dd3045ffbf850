import Metainfo
#if canImport(Glibc)
import Glibc
#endif

/// Reads a configuration file: YAML syntax, then every key and value, then
/// the directories on disk. Never writes the file (it is the admin's).
public enum ConfigurationLoader {
    public struct Result: Sendable {
        /// Nil when there were issues: a bad file is never half applied.
        public var configuration: ApplianceConfiguration?
        public var issues: [ConfigurationIssue]
    }

    public static func load(path: String, checkDirectories: Bool = true) -> Result {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readWholeFile(atPath: path, maxBytes: 1 << 20)
        } catch {
            return Result(configuration: nil, issues: [ConfigurationIssue(file: path, mark: YAMLMark(line: 1, column: 1),
                                                                          message: "cannot read: \(error)")])
        }
        return load(text: String(decoding: bytes, as: UTF8.self), file: path, checkDirectories: checkDirectories)
    }

    public static func load(text: String, file: String, checkDirectories: Bool = true) -> Result {
        let root: YAMLNode
        do throws(YAMLParser.Failure) {
            root = try YAMLParser.parse(text)
        } catch {
            return Result(configuration: nil, issues: [ConfigurationIssue(file: file, mark: error.mark, message: error.message)])
        }
        var decoder = ConfigurationDecoder(file: file)
        let configuration = decoder.decode(root)
        var issues = decoder.issues
        let directories = [
            ("share_dir", configuration.shareDirectory), ("inbox_dir", configuration.inboxDirectory),
            ("download_dir", configuration.downloadDirectory), ("torrent_dir", configuration.torrentDirectory),
            ("state_dir", configuration.stateDirectory),
        ]
        // The daemon writes into torrent_dir, state_dir and download_dir: one
        // inside the share would be shared (and rehashed at every write),
        // one inside the inbox taken for dropped files.
        for (index, (key, path)) in directories.enumerated() {
            for (otherKey, otherPath) in directories[(index + 1)...] where overlap(path, otherPath) {
                let mark = decoder.directoryMarks[otherKey] ?? decoder.directoryMarks[key] ?? YAMLMark(line: 1, column: 1)
                issues.append(ConfigurationIssue(
                    file: file, mark: mark, message: "\(otherKey) \(otherPath) and \(key) \(path) must be separate directories, neither inside the other"))
            }
        }
        if checkDirectories {
            for (key, path) in directories {
                if let problem = directoryProblem(path) {
                    let mark = decoder.directoryMarks[key] ?? YAMLMark(line: 1, column: 1)
                    issues.append(ConfigurationIssue(file: file, mark: mark, message: "\(key) \(path): \(problem)"))
                }
            }
        }
        return Result(configuration: issues.isEmpty ? configuration : nil, issues: issues)
    }

    /// `path` without trailing slashes (`/` stays `/`): how directories
    /// are compared and how the daemon names them in events.
    static func trimmedPath(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// Whether one path is the other or inside it (as written; the decoder
    /// has trimmed trailing slashes).
    static func overlap(_ a: String, _ b: String) -> Bool {
        a == b || a.hasPrefix(b == "/" ? "/" : b + "/") || b.hasPrefix(a == "/" ? "/" : a + "/")
    }

    /// Why `path` cannot serve as a working directory (nil if it can): it
    /// exists and is not a writable directory, or it is missing and its
    /// nearest existing parent does not let us create it.
    static func directoryProblem(_ path: String) -> String? {
        var status = stat()
        if stat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else { return "exists and is not a directory" }
            return access(path, W_OK | X_OK) == 0 ? nil : "is not writable"
        }
        var parent = FileIO.directoryName(of: path)
        while stat(parent, &status) != 0 {
            let next = FileIO.directoryName(of: parent)
            if next == parent { break }
            parent = next
        }
        guard (status.st_mode & S_IFMT) == S_IFDIR else { return "cannot be created (\(parent) is not a directory)" }
        return access(parent, W_OK | X_OK) == 0 ? nil : "does not exist and cannot be created (\(parent) is not writable)"
    }
}
