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
    /// Files in torrent order (sorted by path for a directory).
    public let files: [FileEntry]
    /// Where each file of `files` is on disk.
    public let diskPaths: [String]

    public var totalLength: Int64 { files.reduce(0) { $0 + $1.length } }
    public var layout: FileLayout { FileLayout(lengths: files.map(\.length)) }

    /// Scans a file or a directory. In a directory, regular files are taken
    /// recursively; symbolic links are not followed (they could point
    /// outside the shared tree or loop).
    public init(scanning path: String) throws(CreationError) {
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
        case S_IFDIR:
            var found: [(path: [String], length: Int64)] = []
            try Self.walk(directory: trimmed, prefix: [], into: &found)
            found.sort { lhs, rhs in
                lhs.path.lexicographicallyPrecedes(rhs.path) { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            }
            isMultiFile = true
            files = found.map { FileEntry(path: $0.path, length: $0.length) }
            diskPaths = found.map { ([trimmed] + $0.path).joined(separator: "/") }
        default:
            throw .unsupportedPath(trimmed, "it is neither a regular file nor a directory")
        }
        guard totalLength > 0 else { throw .emptyContent(trimmed) }
    }

    private static func walk(
        directory: String, prefix: [String], into found: inout [(path: [String], length: Int64)]
    ) throws(CreationError) {
        guard let handle = opendir(directory) else { throw .io(.system("cannot list", path: directory)) }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let rawName = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            guard let name = String(validating: rawName, as: UTF8.self) else {
                throw .unsupportedPath(directory, "it holds a file name that is not valid UTF-8")
            }
            if name == "." || name == ".." { continue }
            let fullPath = "\(directory)/\(name)"
            var info = stat()
            guard lstat(fullPath, &info) == 0 else { throw .io(.system("cannot read", path: fullPath)) }
            let kind = info.st_mode & S_IFMT
            guard kind == S_IFREG || kind == S_IFDIR else { continue }
            if let problem = PathComponent.problem(with: name) {
                throw .unsupportedPath(fullPath, "its name \(problem)")
            }
            if kind == S_IFDIR {
                try walk(directory: fullPath, prefix: prefix + [name], into: &found)
            } else {
                found.append((prefix + [name], Int64(info.st_size)))
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
