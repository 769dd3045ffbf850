import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What happened to a path under a watched directory.
public struct FileEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Written to (the writer may still have it open).
        case modified
        /// Closed after writing: the writer is done with it.
        case closedAfterWrite
        /// Appeared: created, or moved in.
        case appeared
        /// Removed or moved away.
        case disappeared
        /// Attributes changed (`touch`, `chmod`).
        case attributes
        /// The kernel dropped events (queue overflow): rescan everything.
        case overflow
    }

    public let path: String
    public let kind: Kind
}

/// inotify over Glibc: watches directories (optionally with every
/// subdirectory, added as they appear) and turns the kernel's events into
/// `FileEvent`s on an `AsyncStream`. A thread blocks in `poll` on the
/// inotify descriptor (with a timeout, so `close()` ends it promptly).
///
/// It is a trigger, not a source of truth: callers rescan what an event
/// names, and rescan everything periodically and on `.overflow`.
public final class DirectoryWatcher: Sendable {
    public let events: AsyncStream<FileEvent>
    private let continuation: AsyncStream<FileEvent>.Continuation
    private let fd: Int32
    private let state = Mutex(State())
    private let onProblem: @Sendable (String) -> Void

    private struct State {
        var paths: [Int32: Watched] = [:]
        var stopped = false
        var thread: pthread_t?
    }

    private struct Watched {
        let path: String
        let recursive: Bool
    }

    private static let mask = UInt32(
        IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB
            | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_EXCL_UNLINK)

    /// - Parameter onProblem: told of watches that cannot be added (in
    ///   words: "out of inotify watches …"), so they reach the log.
    public init(onProblem: @escaping @Sendable (String) -> Void) throws(ApplianceError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw ApplianceError("inotify_init1: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.onProblem = onProblem
        (events, continuation) = AsyncStream.makeStream(of: FileEvent.self, bufferingPolicy: .bufferingNewest(65_536))
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let watcher = Unmanaged<DirectoryWatcher>.fromOpaque(argument!).takeRetainedValue()
            watcher.readLoop()
            return nil
        }, box.toOpaque())
        if created != 0 {
            box.release()
            Glibc.close(fd)
            throw ApplianceError("cannot start the inotify thread")
        }
        state.withLock { $0.thread = thread }
    }

    /// Watches `path` (and, if `recursive`, every directory below it).
    /// `unlessWatched`: nothing to do while `path` itself is still watched
    /// (a periodic check that the directory was not removed and made
    /// again costs no walk of the tree).
    public func watch(_ path: String, recursive: Bool, unlessWatched: Bool = false) {
        if unlessWatched, state.withLock({ $0.paths.values.contains { $0.path == path } }) { return }
        add(path, recursive: recursive)
    }

    /// Stops watching `path` and everything below it.
    public func unwatch(_ path: String) {
        let below = path + "/"
        let removed = state.withLock { state in
            let descriptors = state.paths.filter { $0.value.path == path || $0.value.path.hasPrefix(below) }.map(\.key)
            for descriptor in descriptors { state.paths[descriptor] = nil }
            return descriptors
        }
        for descriptor in removed { inotify_rm_watch(fd, descriptor) }
    }

    /// Ends the stream and the thread.
    public func close() {
        let thread = state.withLock { state -> pthread_t? in
            state.stopped = true
            defer { state.thread = nil }
            return state.thread
        }
        if let thread { pthread_join(thread, nil) }
        continuation.finish()
    }

    private func add(_ path: String, recursive: Bool) {
        let descriptor = inotify_add_watch(fd, path, Self.mask)
        guard descriptor >= 0 else {
            let code = errno
            switch code {
            case ENOSPC:
                onProblem("out of inotify watches adding \(path) (raise fs.inotify.max_user_watches); the periodic rescan still sees changes")
            case ENOENT, ENOTDIR:
                break  // gone meanwhile, or a file
            default:
                onProblem("cannot watch \(path): \(String(cString: strerror(code)))")
            }
            return
        }
        state.withLock { $0.paths[descriptor] = Watched(path: path, recursive: recursive) }
        guard recursive else { return }
        for entry in DirectoryEntries.read(path) where entry.isDirectory {
            add("\(path)/\(entry.name)", recursive: true)
        }
    }

    private func readLoop() {
        let alignment = MemoryLayout<inotify_event>.alignment
        let capacity = 64 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: alignment)
        defer {
            buffer.deallocate()
            Glibc.close(fd)
        }
        while !state.withLock({ $0.stopped }) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            let count = read(fd, buffer, capacity)
            guard count > 0 else { continue }
            var offset = 0
            while offset + 16 <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameLength = Int(event.len)
                var name = ""
                if nameLength > 0 {
                    let bytes = UnsafeRawBufferPointer(start: buffer + offset + 16, count: nameLength)
                    name = String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                offset += 16 + nameLength
                handle(descriptor: event.wd, mask: event.mask, name: name)
            }
        }
    }

    /// Hands an event on; if the buffer was full (an old event dropped),
    /// an overflow follows so the supervisor rescans.
    private func emit(_ event: FileEvent) {
        if case .dropped = continuation.yield(event) {
            continuation.yield(FileEvent(path: "", kind: .overflow))
        }
    }

    private func handle(descriptor: Int32, mask: UInt32, name: String) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            emit(FileEvent(path: "", kind: .overflow))
            return
        }
        if mask & UInt32(IN_IGNORED) != 0 {
            state.withLock { _ = $0.paths.removeValue(forKey: descriptor) }
            return
        }
        guard let watched = state.withLock({ $0.paths[descriptor] }) else { return }
        let isDirectory = mask & UInt32(IN_ISDIR) != 0
        if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
            // Gone from this path: whatever is made there later is another
            // directory, to be watched afresh. A moved one takes its
            // subtree along (those watches would follow it elsewhere, so
            // they go too). A deleted one was emptied first, each folder
            // below reporting its own deletion; the kernel then drops its
            // watch and says so (IN_IGNORED, above): no subtree scan per
            // folder of a large deleted tree.
            if mask & UInt32(IN_MOVE_SELF) != 0 { unwatch(watched.path) }
            emit(FileEvent(path: watched.path, kind: .disappeared))
            return
        }
        let path = name.isEmpty ? watched.path : "\(watched.path)/\(name)"
        // A directory renamed within the tree: the kernel reports "moved
        // from", "moved to", then "moved self" on the directory. Its old
        // watches go now, so "moved to" adds fresh ones under the new name
        // (re-adding would return the same watch, which "moved self" would
        // then remove, leaving the renamed directory unwatched).
        if isDirectory, mask & UInt32(IN_MOVED_FROM) != 0 { unwatch(path) }
        let kind: FileEvent.Kind
        if mask & UInt32(IN_CLOSE_WRITE) != 0 {
            kind = .closedAfterWrite
        } else if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
            kind = .appeared
            if isDirectory, watched.recursive { add(path, recursive: true) }
        } else if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
            kind = .disappeared
        } else if mask & UInt32(IN_MODIFY) != 0 {
            kind = .modified
        } else {
            kind = .attributes
        }
        emit(FileEvent(path: path, kind: kind))
    }
}
