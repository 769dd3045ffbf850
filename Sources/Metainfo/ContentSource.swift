#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files a new torrent will describe, found on disk.
public struct ContentSource: Hashable, Sendable {
    /// Torrent name: the shared file's or directory's own name.
    public let name: String
    public let isMultiFile: Bool
    /// Files in torrent order (sorted by path bytes for a directory).
    public let files: [FileEntry]
    /// Where each file of `files` is on disk.
    public let diskPaths: [String]
    /// Each file as scanned; hashing checks them again after, so a file
    /// modified meanwhile is reported instead of mis-hashed.
    public let snapshots: [FileSnapshot]
    /// Entries left out: symbolic links and special files.
    public let skipped: [String]

    public var totalLength: Int64 { files.reduce(0) { $0 + $1.length } }
    public var layout: FileLayout { FileLayout(lengths: files.map(\.length)) }

    /// Scans a file or a directory. In a directory, regular files are taken
    /// recursively; symbolic links are not followed (they could point
    /// outside the shared tree or loop) and are listed in `skipped`.
    /// - Parameter excluding: names (at any depth inside a directory) left
    ///   out and listed in `skipped`, e.g. the daemon's hidden and
    ///   in-progress names.
    public init(scanning path: String, excluding: (String) -> Bool = { _ in false }) throws(CreationError) {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        var info = stat()
        guard stat(trimmed, &info) == 0 else { throw .io(.system("cannot read", path: trimmed)) }
        var name = String(trimmed.split(separator: "/").last ?? "")
        if name == "." || name == ".." || name.isEmpty {
            // `create .` names the torrent after the directory itself.
            var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if realpath(trimmed, &resolved) != nil {
                let absolute = String(decoding: resolved.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                name = String(absolute.split(separator: "/").last ?? "")
            }
        }
        if let problem = PathComponent.problem(with: name) {
            throw .unsupportedPath(trimmed, "its name \(problem)")
        }
        self.name = name
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            isMultiFile = false
            files = [FileEntry(path: [], length: Int64(info.st_size))]
            diskPaths = [trimmed]
            snapshots = [FileSnapshot(info)]
            skipped = []
        case S_IFDIR:
            var found: [(path: [String], info: stat)] = []
            var skipped: [String] = []
            try Self.walk(directory: trimmed, prefix: [], into: &found, skipped: &skipped, excluding: excluding)
            found.sort { lhs, rhs in
                lhs.path.lexicographicallyPrecedes(rhs.path) { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            }
            isMultiFile = true
            files = found.map { FileEntry(path: $0.path, length: Int64($0.info.st_size)) }
            diskPaths = found.map { ([trimmed] + $0.path).joined(separator: "/") }
            snapshots = found.map { FileSnapshot($0.info) }
            self.skipped = skipped
        default:
            throw .unsupportedPath(trimmed, "it is neither a regular file nor a directory")
        }
        guard totalLength > 0 else { throw .emptyContent(trimmed) }
    }

    /// Whether any shared file is the file at `path` (same device and inode).
    public func includes(fileAt path: String) -> Bool {
        guard let file = FileSnapshot(atPath: path, followingLinks: true) else { return false }
        return snapshots.contains { $0.device == file.device && $0.inode == file.inode }
    }

    /// Fails if a file changed since the scan (size or modification time).
    public func checkUnchanged() throws(CreationError) {
        for (path, snapshot) in zip(diskPaths, snapshots) {
            guard FileSnapshot(atPath: path, followingLinks: true) == snapshot else { throw .fileChanged(path) }
        }
    }

    private static func walk(
        directory: String, prefix: [String], into found: inout [(path: [String], info: stat)], skipped: inout [String],
        excluding: (String) -> Bool
    ) throws(CreationError) {
        // Names are collected and the directory closed before descending, so
        // a deep tree holds one directory descriptor at a time.
        var names: [String] = []
        guard let handle = opendir(directory) else { throw .io(.system("cannot list", path: directory)) }
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                let code = errno
                closedir(handle)
                if code != 0 { throw .io(.system("cannot list", path: directory, errno: code)) }
                break
            }
            let rawName = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            let name = String(decoding: rawName, as: UTF8.self)
            if name == "." || name == ".." { continue }
            guard String(validating: rawName, as: UTF8.self) != nil else {
                closedir(handle)
                throw .unsupportedPath(directory, "it holds a file name that is not valid UTF-8")
            }
            names.append(name)
        }
        for name in names {
            let fullPath = "\(directory)/\(name)"
            if excluding(name) {
                skipped.append(fullPath)
                continue
            }
            var info = stat()
            guard lstat(fullPath, &info) == 0 else { throw .io(.system("cannot read", path: fullPath)) }
            let kind = info.st_mode & S_IFMT
            guard kind == S_IFREG || kind == S_IFDIR else {
                skipped.append(fullPath)
                continue
            }
            if let problem = PathComponent.problem(with: name) {
                throw .unsupportedPath(fullPath, "its name \(problem)")
            }
            if kind == S_IFDIR {
                try walk(directory: fullPath, prefix: prefix + [name], into: &found, skipped: &skipped, excluding: excluding)
            } else {
                found.append((prefix + [name], info))
            }
        }
    }
}

/// Why a torrent could not be made.
public enum CreationError: Error, Hashable, Sendable, CustomStringConvertible {
    case emptyContent(String)
    case unsupportedPath(String, String)
    case fileChanged(String)
    case invalidOption(String)
    case io(FileIOError)

    public var description: String {
        switch self {
        case .emptyContent(let path): return "\(path): nothing to share (no data)"
        case .unsupportedPath(let path, let reason): return "\(path): cannot be shared: \(reason)"
        case .fileChanged(let path): return "\(path): file changed while it was being hashed"
        case .invalidOption(let message): return message
        case .io(let error): return error.description
        }
    }
}
