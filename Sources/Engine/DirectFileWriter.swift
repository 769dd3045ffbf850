#if canImport(Glibc)
import Glibc
#endif
import Metainfo

/// Writes that bypass the page cache (`O_DIRECT`).
///
/// A downloaded byte written through the cache is copied into it, written
/// back later by the kernel's flusher, and copied out again to check its
/// piece: on a 1 GiB loopback download the copy in alone was a quarter of
/// the leecher's CPU, on a 2-core machine where the seeder needs the other
/// core. Direct writes need position, length and memory aligned to the
/// device's blocks (4 KiB covers them), so data is first copied into an
/// aligned staging buffer (a plain memory copy, several times cheaper);
/// what is not aligned (a short last piece, a file that does not start on a
/// 4 KiB boundary of the torrent's stream) and files on filesystems that
/// refuse direct I/O (tmpfs on older kernels) go through the cache as before.
///
/// Owned by one `TorrentStorage`, under a lock of its own (one batch of
/// blocks is written at a time anyway); not copyable, as it owns descriptors
/// and memory.
struct DirectFileWriter: ~Copyable, @unchecked Sendable {  // owns its buffer alone; Mutex.withLock needs it Sendable
    static let alignment = 4096
    /// Copied and written at once: large enough that a write costs little
    /// per byte (a session gathers runs of 1 MiB and more), small enough to
    /// stay a fixed, modest part of memory.
    static let stagingCapacity = 2 << 20

    /// A second descriptor per file, opened with `O_DIRECT`; the storage's
    /// own descriptor stays buffered for reads (a seeding read needs no
    /// alignment) and for the unaligned rest.
    private var descriptors: [Int: Int32] = [:]
    /// Files whose filesystem refused direct I/O: not tried again.
    private var refused: Set<Int> = []
    private var staging: UnsafeMutableRawBufferPointer?

    /// Direct descriptors held at most (one per file being written): past
    /// that, further files go through the cache, so a torrent of many
    /// aligned files cannot double its descriptor use.
    static let maxDescriptors = 64

    deinit { release() }

    /// Writes the largest aligned part from the start of `vectors` (`length`
    /// bytes at `offset` of file `index`) directly and drops it from
    /// `vectors`; returns how many bytes that was (0: none could be), for
    /// the caller to write the rest through the cache. `bufferedFD` is the
    /// storage's descriptor of that file, reopened (not its path, which
    /// could be swapped meanwhile).
    mutating func write(
        _ vectors: inout [iovec], length: Int, toFile index: Int, at offset: Int64, bufferedFD: Int32, path: String
    ) throws(FileIOError) -> Int {
        let direct = length - length % Self.alignment
        guard offset % Int64(Self.alignment) == 0, direct > 0,
              let fd = descriptor(forFile: index, reopening: bufferedFD) else { return 0 }
        let staging = stagingBuffer()
        let part = Self.partLength(of: direct, capacity: staging.count)
        var position = offset
        var filled = 0
        var consumed = 0  // whole vectors copied
        var partial = 0   // bytes copied of vectors[consumed]
        while Int(position - offset) + filled < direct {
            let vector = vectors[consumed]
            let take = min(vector.iov_len - partial, part - filled, direct - Int(position - offset) - filled)
            (staging.baseAddress! + filled).copyMemory(from: vector.iov_base! + partial, byteCount: take)
            filled += take
            partial += take
            if partial == vector.iov_len {
                consumed += 1
                partial = 0
            }
            guard filled == part || Int(position - offset) + filled == direct else { continue }
            guard try writeStaged(filled, fd: fd, at: position, file: index, path: path) else { return 0 }
            position += Int64(filled)
            filled = 0
        }
        vectors.removeFirst(consumed)
        if partial > 0 {
            vectors[0].iov_base += partial
            vectors[0].iov_len -= partial
        }
        return direct
    }

    /// Bytes per write when `length` (aligned) is written through a staging
    /// buffer of `capacity`: in equal aligned parts, as a buffer and a bit
    /// would otherwise leave a small last write, which costs the device
    /// nearly as much as a full one.
    static func partLength(of length: Int, capacity: Int) -> Int {
        let parts = (length + capacity - 1) / capacity
        return (length / parts + alignment - 1) / alignment * alignment
    }

    /// Closes the direct descriptors and frees the staging buffer (a
    /// finished download keeps neither).
    mutating func closeAll() {
        release()
        descriptors = [:]
        staging = nil
    }

    private func release() {
        for fd in descriptors.values { close(fd) }
        staging?.deallocate()
    }

    /// Whether file `index` is being written directly (nothing of it waits
    /// in the cache to be written back).
    func writesDirectly(file index: Int) -> Bool { descriptors[index] != nil }

    /// Writes the first `count` staged bytes. A filesystem that accepts the
    /// flag at `open` but refuses the write (`EINVAL`) is remembered and
    /// false returned: nothing is taken from the caller's vectors until the
    /// end, so it writes the whole range through the cache (what was
    /// written directly before is written again, the same bytes).
    private mutating func writeStaged(
        _ count: Int, fd: Int32, at position: Int64, file index: Int, path: String
    ) throws(FileIOError) -> Bool {
        var vector = [iovec(iov_base: stagingBuffer().baseAddress, iov_len: count)]
        do {
            try FileIO.writeFully(fd: fd, vectors: &vector, at: position, path: path)
            return true
        } catch where error.code == EINVAL {
            refuse(file: index)
            return false
        }
    }

    private mutating func descriptor(forFile index: Int, reopening bufferedFD: Int32) -> Int32? {
        if let fd = descriptors[index] { return fd }
        guard !refused.contains(index), descriptors.count < Self.maxDescriptors, let flag = Self.directFlag else { return nil }
        // Never writable where the storage's own descriptor is not (finished
        // data is opened read only): the reopen would not inherit that.
        let mode = fcntl(bufferedFD, F_GETFL)
        guard mode >= 0, mode & O_ACCMODE != O_RDONLY else { return nil }
        // Through /proc: the same file the storage opened (and checked for
        // planted links), whatever its path names now.
        let fd = open("/proc/self/fd/\(bufferedFD)", O_WRONLY | O_CLOEXEC | flag)
        guard fd >= 0 else {
            // Out of descriptors: through the cache this time, try again
            // later. Anything else (no /proc, the flag refused): never.
            if errno != EMFILE, errno != ENFILE { refused.insert(index) }
            return nil
        }
        descriptors[index] = fd
        return fd
    }

    private mutating func refuse(file index: Int) {
        if let fd = descriptors.removeValue(forKey: index) { close(fd) }
        refused.insert(index)
    }

    private mutating func stagingBuffer() -> UnsafeMutableRawBufferPointer {
        if let staging { return staging }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.stagingCapacity, alignment: Self.alignment)
        staging = buffer
        return buffer
    }

    /// `O_DIRECT`, which Swift's Glibc module does not export; its value
    /// differs between architectures (nil: not used).
    static let directFlag: Int32? = {
        #if os(Linux) && (arch(x86_64) || arch(i386))
        return 0o40000
        #elseif os(Linux) && (arch(arm64) || arch(arm))
        return 0o200000
        #else
        return nil
        #endif
    }()
}
