import Crypto
import Dispatch
import Metainfo
import PeerWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where a torrent's data is on disk.
public enum StorageLocation: Sendable, Hashable {
    /// Downloading into `directory`: data goes to `NAME.part` (a file, or a
    /// directory for multi-file torrents) and is renamed to `NAME` only when
    /// every piece is verified, so unverified data never has the final name.
    case download(directory: String)
    /// Downloading into `staging` (a file or directory path kept apart, e.g.
    /// the daemon's hidden incoming folder), renamed to `finalPath` once
    /// verified. Both must be on one filesystem.
    case staged(staging: String, finalPath: String)
    /// Existing, complete data at `path` (`-s PATH`): read only.
    case existing(path: String)

    var isDownload: Bool {
        if case .existing = self { return false }
        return true
    }
}

/// Positioned reads and writes of a torrent's byte stream across its files.
///
/// Blocking I/O: call it from a thread pool, never from an event loop.
/// Files are opened lazily and kept open (one descriptor per file, shared
/// by threads: `pread`/`pwrite` need no locking); they are created sparse.
public final class TorrentStorage: Sendable {
    public let info: InfoDictionary
    public let location: StorageLocation
    private let state: Mutex<State>
    /// Writes bypassing the page cache (nil: all writes buffered). A lock
    /// of its own: reads for seeding must not wait behind a write.
    private let directWriter: Mutex<DirectFileWriter>?

    private struct State {
        var root: String
        var finished: Bool
        var descriptors: [Int: Int32] = [:]
        /// Files whose descriptor was opened read-write.
        var writable: Set<Int> = []
    }

    public enum StorageError: Error, CustomStringConvertible, Equatable {
        case io(FileIOError)
        case finalNameTaken(String)
        case shortData(String)

        public var description: String {
            switch self {
            case .io(let error): return error.description
            case .finalNameTaken(let path): return "\(path) already exists and is not this torrent's data; move it away"
            case .shortData(let path): return "\(path) is shorter than the torrent says"
            }
        }

        /// Worth retrying later (a full disk), rather than a fault of the
        /// paths themselves (a planted link, a file where a folder goes).
        public var isTransient: Bool {
            if case .io(let error) = self { return error.isTransient }
            return false
        }
    }

    /// `directWrites`: aligned writes bypass the page cache where the
    /// filesystem allows (see `DirectFileWriter`).
    public init(info: InfoDictionary, location: StorageLocation, directWrites: Bool = true) {
        self.info = info
        self.location = location
        directWriter = directWrites && location.isDownload ? Mutex(DirectFileWriter()) : nil
        switch location {
        case .download(let directory):
            state = Mutex(State(root: "\(directory)/\(info.name).part", finished: false))
        case .staged(let staging, _):
            state = Mutex(State(root: staging, finished: false))
        case .existing(let path):
            state = Mutex(State(root: path, finished: true))
        }
    }

    deinit {
        state.withLock { state in
            for fd in state.descriptors.values { close(fd) }
        }
    }

    /// The final path of the data (where it is once complete).
    public var finalPath: String {
        switch location {
        case .download(let directory): return "\(directory)/\(info.name)"
        case .staged(_, let finalPath): return finalPath
        case .existing(let path): return path
        }
    }

    /// The path data is read from and written to now.
    public var currentRoot: String { state.withLock { $0.root } }

    /// Whether the data is under its final name.
    public var isFinished: Bool { state.withLock { $0.finished } }

    /// For a download whose final name already exists (a previous run
    /// completed): use it in place, read only. The caller must verify it.
    public func adoptExistingFinalData() -> Bool {
        guard location.isDownload, FileIO.entryExists(atPath: finalPath) else { return false }
        directWriter?.withLock { $0.closeAll() }
        state.withLock { state in
            for fd in state.descriptors.values { close(fd) }
            state.descriptors = [:]
            state.writable = []
            state.root = finalPath
            state.finished = true
        }
        return true
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        try write([bytes], at: offset)
    }

    /// Writes `chunks`, which are contiguous in the torrent's byte stream
    /// from `offset`: one `pwritev` per file they cover, so a run of received
    /// blocks costs one system call rather than one each.
    public func write(_ chunks: [UnsafeRawBufferPointer], at offset: Int64) throws(StorageError) {
        let total = chunks.reduce(0) { $0 + $1.count }
        var chunk = 0
        var usedOfChunk = 0
        for segment in info.layout.segments(offset: offset, length: total) {
            var vectors: [iovec] = []
            var needed = segment.length
            while needed > 0 {
                let bytes = chunks[chunk]
                let take = min(needed, bytes.count - usedOfChunk)
                if take > 0 {
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + usedOfChunk), iov_len: take))
                }
                needed -= take
                usedOfChunk += take
                if usedOfChunk == bytes.count {
                    chunk += 1
                    usedOfChunk = 0
                }
            }
            if info.files[segment.fileIndex].isPadding { continue }
            let fd = try descriptor(for: segment.fileIndex, writable: true)
            let path = path(of: segment.fileIndex)
            do {
                // Blocks sit on 16 KiB boundaries of the stream: aligned in a
                // file only if the file starts on one (else only its first
                // block would be, and it would cost a second descriptor).
                let aligned = info.layout.starts[segment.fileIndex] % Int64(DirectFileWriter.alignment) == 0
                let direct = !aligned ? 0 : try directWriter?.withLock { (writer) throws(FileIOError) -> Int in
                    try writer.write(&vectors, length: segment.length, toFile: segment.fileIndex, at: segment.offsetInFile,
                                     bufferedFD: fd, path: path)
                } ?? 0
                guard direct < segment.length else { continue }
                let buffered = segment.offsetInFile + Int64(direct)
                try FileIO.writeFully(fd: fd, vectors: &vectors, at: buffered, path: path)
                // What went through the cache is handed to the device now,
                // without waiting, so the flush at completion finds little
                // left (it took 0.3 s of a 2.5 s loopback download when all
                // of 1 GiB was still dirty). Best effort.
                _ = Self.syncFileRange?(fd, buffered, Int64(segment.length - direct), 2)  // SYNC_FILE_RANGE_WRITE
            } catch {
                throw .io(error)
            }
        }
    }

    /// Fills `buffer` from stream `offset`; padding files read as zeros, and
    /// a missing or short file is an error (the data is not there).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) {
        var done = 0
        for segment in info.layout.segments(offset: offset, length: buffer.count) {
            defer { done += segment.length }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + segment.length])
            if info.files[segment.fileIndex].isPadding {
                target.initializeMemory(as: UInt8.self, repeating: 0)
                continue
            }
            let fd = try descriptor(for: segment.fileIndex, writable: false)
            let count: Int
            do {
                count = try FileIO.readFully(fd: fd, into: target, at: segment.offsetInFile, path: path(of: segment.fileIndex))
            } catch {
                throw .io(error)
            }
            guard count == segment.length else { throw .shortData(path(of: segment.fileIndex)) }
        }
    }

    public func read(piece: Int, offset: Int, length: Int) throws(StorageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        let start = Int64(piece) * Int64(info.pieceLength) + Int64(offset)
        let result = bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(StorageError) in try read(into: buffer, at: start) }
        }
        try result.get()
        return bytes
    }

    /// Whether piece `index` on disk matches its hash.
    /// Read and hashed 64 KiB at a time: a piece-sized buffer (up to 16 MiB)
    /// per check would be mapped and unmapped by malloc each time, or kept
    /// per thread, and would add its size to the memory of every thread
    /// checking a piece.
    public func pieceMatches(_ index: Int) -> Bool {
        let length = info.length(ofPiece: index)
        let start = Int64(index) * Int64(info.pieceLength)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(length, Self.hashChunk), alignment: 16)
        defer { buffer.deallocate() }
        var hasher = Insecure.SHA1()
        var done = 0
        while done < length {
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(buffer.count, length - done)])
            do throws(StorageError) {
                try read(into: chunk, at: start + Int64(done))
            } catch {
                return false
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(chunk))
            done += chunk.count
        }
        return Array(hasher.finalize()) == info.pieceHash(at: index).bytes
    }

    /// Below glibc's 128 KiB mmap threshold: the buffer is reused from the heap.
    static let hashChunk = 64 << 10

    /// Whether file `index` is written around the page cache (its aligned
    /// parts, which is all but a last piece's tail).
    func writesDirectly(file index: Int) -> Bool {
        directWriter?.withLock { $0.writesDirectly(file: index) } ?? false
    }

    /// Whether writes through the cache start their write-back (for tests).
    static var startsWriteback: Bool { syncFileRange != nil }

    /// glibc's `sync_file_range`, which Swift's Glibc module does not export.
    private static let syncFileRange = lookUpCFunction(
        "sync_file_range", as: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)

    /// Checks every piece on disk on `threads` threads (blocking); returns
    /// which match. Progress counts checked bytes.
    public func verifyAll(threads: Int, progress: HashProgress? = nil) -> Bitfield {
        let count = info.pieceCount
        let results = Mutex(Bitfield(count: count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                let matches = pieceMatches(index)
                progress?.add(info.length(ofPiece: index))
                if matches { results.withLock { $0[index] = true } }
            }
        }
        return results.withLock { $0 }
    }

    /// Makes written data durable: "every piece verified" is not "file
    /// written" until this returns.
    public func flush() throws(StorageError) {
        let descriptors = state.withLock { Array($0.descriptors) }
        for (index, fd) in descriptors where fsync(fd) != 0 {
            throw .io(.system("fsync failed", path: path(of: index)))
        }
    }

    /// Flushes, then renames `NAME.part` to `NAME`. Refuses to replace
    /// anything already at the final name.
    public func finish() throws(StorageError) {
        guard location.isDownload else { return }
        // (fsync of the buffered descriptor covers the direct writes too:
        // one file, and the device's cache is flushed either way.)
        try flush()
        directWriter?.withLock { $0.closeAll() }
        try state.withLock { (state) throws(StorageError) in
            guard !state.finished else { return }
            // Files not yet created (all-zero or padding-only) must exist at the end.
            for index in info.files.indices where !info.files[index].isPadding && !state.writable.contains(index) {
                _ = try openFile(index, root: state.root, writable: true, into: &state)
            }
            // Not even a dangling link is replaced: the final name must be free.
            guard !FileIO.entryExists(atPath: finalPath) else { throw .finalNameTaken(finalPath) }
            guard rename(state.root, finalPath) == 0 else { throw .io(.system("cannot rename into place", path: finalPath)) }
            // Read only from now on; the same files (renamed, not reopened
            // by name, which could now be something else), the same numbers.
            // (Without /proc a descriptor stays as it is: closing it is the
            // race this avoids, and nothing writes after the finish.)
            for fd in state.descriptors.values {
                let readOnly = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
                if readOnly >= 0, !Self.repoint(fd, to: readOnly) { close(readOnly) }
            }
            state.writable = []
            let directory = FileIO.directoryName(of: finalPath)
            let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directoryFD >= 0 {
                fsync(directoryFD)
                close(directoryFD)
            }
            state.root = finalPath
            state.finished = true
        }
    }

    /// Where file `index` is now.
    func path(of index: Int) -> String {
        path(of: index, root: state.withLock { $0.root })
    }

    private func path(of index: Int, root: String) -> String {
        info.isMultiFile ? ([root] + info.files[index].path).joined(separator: "/") : root
    }

    func descriptor(for index: Int, writable: Bool) throws(StorageError) -> Int32 {
        try state.withLock { (state) throws(StorageError) -> Int32 in
            let needsWrite = writable && !state.finished
            // A descriptor opened for reading (verifying a `.part` file on
            // restart) cannot take writes: reopen it read-write.
            if let fd = state.descriptors[index], !needsWrite || state.writable.contains(index) { return fd }
            return try openFile(index, root: state.root, writable: needsWrite, into: &state)
        }
    }

    /// Makes descriptor `fd` refer to `replacement`'s open file and closes
    /// `replacement`, in one step: a read on another thread that took `fd`
    /// under the lock a moment ago then reads the same file either way.
    /// Closing `fd` instead would free its number for any `open` meanwhile,
    /// and that read would send another file's bytes to a peer. False (and
    /// nothing changed) if the kernel refused.
    private static func repoint(_ fd: Int32, to replacement: Int32) -> Bool {
        // (dup2 clears close-on-exec, which Glibc's module offers no dup3 to keep.)
        guard dup2(replacement, fd) >= 0 else { return false }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        close(replacement)
        return true
    }

    /// Opens (creating parents and the file when writable) without following
    /// symbolic links, so a link planted in the output cannot redirect writes
    /// or reads: every folder below the output directory must be a real one,
    /// and the file itself is opened with O_NOFOLLOW.
    private func openFile(_ index: Int, root: String, writable: Bool, into state: inout State) throws(StorageError) -> Int32 {
        let path = path(of: index, root: root)
        try prepareFolders(for: path, creating: writable)
        let flags = writable ? (O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW) : (O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        var fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw .io(.system("cannot open", path: path)) }
        if let previous = state.descriptors[index] {
            if Self.repoint(previous, to: fd) { fd = previous } else { close(previous) }
        }
        state.descriptors[index] = fd
        if writable { state.writable.insert(index) } else { state.writable.remove(index) }
        return fd
    }

    /// Every folder from the output directory down to `path`'s own: each
    /// must be a real folder, not a link (O_NOFOLLOW covers only the file's
    /// name), and missing ones are made when `creating`. The output
    /// directory itself may be a link (the admin's choice).
    private func prepareFolders(for path: String, creating: Bool) throws(StorageError) {
        let base = FileIO.directoryName(of: finalPath)
        if creating {
            do { try FileIO.makeDirectories(atPath: base) } catch { throw .io(error) }
        }
        let directory = FileIO.directoryName(of: path)
        guard directory.hasPrefix(base + "/") else { return }
        var current = base
        for component in directory.dropFirst(base.count + 1).split(separator: "/") {
            current += "/\(component)"
            var info = stat()
            if lstat(current, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw .io(FileIOError(path: current, message: "is a symbolic link or not a directory; not followed"))
                }
            } else if !creating {
                return  // missing: the open fails
            } else if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw .io(.system("cannot create directory", path: current))
            }
        }
    }
}
