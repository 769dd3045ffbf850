#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation, with the path and the system's reason.
public struct FileIOError: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String
    /// The `errno` behind it, when a system call failed.
    public let code: Int32?

    public init(path: String, message: String, code: Int32? = nil) {
        self.path = path
        self.message = message
        self.code = code
    }

    /// `operation` failed with the current `errno`.
    public static func system(_ operation: String, path: String, errno code: Int32 = errno) -> FileIOError {
        FileIOError(path: path, message: "\(operation): \(String(cString: strerror(code)))", code: code)
    }

    /// A condition that may clear by itself or by an admin freeing space
    /// (full disk, quota, I/O error, read-only remount, out of descriptors),
    /// unlike a wrong path.
    public var isTransient: Bool {
        guard let code else { return false }
        return [ENOSPC, EDQUOT, EIO, EROFS, ENOMEM, EAGAIN, EMFILE, ENFILE].contains(code)
    }

    public var description: String { "\(path): \(message)" }
}

/// Small POSIX file helpers: positioned reads that loop over short reads and
/// `EINTR`, bounded whole-file reads, and crash-safe replacement of a file.
public enum FileIO {
    /// Whether anything (a dangling symbolic link too) has this name.
    public static func entryExists(atPath path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is itself a symbolic link (not followed).
    public static func isSymbolicLink(atPath path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// Whether `path` is a real folder (a link to one is not).
    public static func isDirectory(atPath path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p`: `path` and its missing parents (links followed, as for
    /// any directory an admin names).
    public static func makeDirectories(atPath path: String) throws(FileIOError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw FileIOError(path: path, message: "exists and is not a directory") }
            return
        }
        let parent = directoryName(of: path)
        if parent != path { try makeDirectories(atPath: parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw .system("cannot create directory", path: path) }
    }

    /// Reads a whole file, refusing (before allocating) files larger than
    /// `maxBytes`.
    public static func readWholeFile(atPath path: String, maxBytes: Int) throws(FileIOError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not hang before the regular-file
        // check below refuses it (regular files ignore the flag).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .system("cannot open", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("cannot stat", path: path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FileIOError(path: path, message: "not a regular file")
        }
        guard info.st_size <= maxBytes else {
            throw FileIOError(path: path, message: "file of \(info.st_size) bytes exceeds the limit of \(maxBytes)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let result = bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(FileIOError) in try readFully(fd: fd, into: buffer, at: 0, path: path) }
        }
        bytes.removeSubrange(try result.get()...)
        return bytes
    }

    /// Fills `buffer` from `offset` unless end of file comes first; returns
    /// the number of bytes read.
    public static func readFully(
        fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String
    ) throws(FileIOError) -> Int {
        var done = 0
        while done < buffer.count {
            let result = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                throw .system("read failed", path: path)
            }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// Writes all of `vectors` (in order) at `offset`, in as few system calls
    /// as the kernel allows (`pwritev`, at most `IOV_MAX` (1024) pieces at once),
    /// resuming after partial writes. The vectors are consumed.
    public static func writeFully(fd: Int32, vectors: inout [iovec], at offset: Int64, path: String) throws(FileIOError) {
        var position = off_t(offset)
        var first = 0
        while true {
            while first < vectors.count, vectors[first].iov_len == 0 { first += 1 }
            guard first < vectors.count else { return }
            let count = min(vectors.count - first, 1024)  // IOV_MAX on Linux
            let result = vectors.withUnsafeBufferPointer { pwritev(fd, $0.baseAddress! + first, Int32(count), position) }
            if result < 0 {
                if errno == EINTR { continue }
                throw .system("write failed", path: path)
            }
            // (Zero bytes for a non-empty write would loop forever.)
            guard result > 0 else { throw FileIOError(path: path, message: "write failed: nothing written") }
            position += off_t(result)
            // Skip what was written; a vector written in part is advanced.
            var left = result
            while left > 0, first < vectors.count {
                let length = vectors[first].iov_len
                if left >= length {
                    left -= length
                    first += 1
                } else {
                    vectors[first].iov_base += left
                    vectors[first].iov_len -= left
                    left = 0
                }
            }
        }
    }

    /// Writes all of `buffer` at the current position.
    public static func writeFully(fd: Int32, from buffer: UnsafeRawBufferPointer, path: String) throws(FileIOError) {
        var done = 0
        while done < buffer.count {
            let result = write(fd, buffer.baseAddress! + done, buffer.count - done)
            if result < 0 {
                if errno == EINTR { continue }
                throw .system("write failed", path: path)
            }
            guard result > 0 else { throw FileIOError(path: path, message: "write failed: nothing written") }
            done += result
        }
    }

    /// Writes all of `bytes` at the current position.
    public static func writeFully(fd: Int32, bytes: [UInt8], path: String) throws(FileIOError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(FileIOError) in try writeFully(fd: fd, from: buffer, path: path) }
        }
        try result.get()
    }

    /// Creates `path` holding `bytes`, never over an existing entry (a link
    /// included: O_EXCL does not follow one), synced when `sync`. A failed
    /// write leaves no file.
    public static func writeNewFile(_ bytes: [UInt8], toPath path: String, mode: mode_t = 0o644, sync: Bool = false) throws(FileIOError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system("cannot create", path: path) }
        defer { close(fd) }
        do throws(FileIOError) {
            try writeFully(fd: fd, bytes: bytes, path: path)
            guard !sync || fsync(fd) == 0 else { throw .system("fsync failed", path: path) }
        } catch {
            unlink(path)
            throw error
        }
    }

    /// Replaces `path` with `bytes` so that a crash leaves either the old
    /// file or the complete new one: temp file in the same directory, fsync,
    /// rename, fsync of the directory.
    public static func writeAtomically(_ bytes: [UInt8], toPath path: String, mode: mode_t = 0o644) throws(FileIOError) {
        let directory = directoryName(of: path)
        // The name's first 100 bytes, for a leftover to say whose it was:
        // the whole name plus the suffix could pass the 255-byte limit.
        let base = String(decoding: (path.split(separator: "/").last ?? Substring(path)).utf8.prefix(100), as: UTF8.self)
        let temporary = "\(directory)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try writeNewFile(bytes, toPath: temporary, mode: mode, sync: true)
        guard rename(temporary, path) == 0 else {
            let error = FileIOError.system("cannot rename into place", path: path)
            unlink(temporary)
            throw error
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    public static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
