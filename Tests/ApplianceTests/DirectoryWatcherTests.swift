import Appliance
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("Directory watcher")
struct DirectoryWatcherTests {
    /// Every event of a watcher, collected by one reader for the test to poll.
    private final class Collected: Sendable {
        private let events = Mutex<[FileEvent]>([])
        private let reader = Mutex<Task<Void, Never>?>(nil)

        init(_ watcher: DirectoryWatcher) {
            let task = Task { [weak self] in
                for await event in watcher.events { self?.events.withLock { $0.append(event) } }
            }
            reader.withLock { $0 = task }
        }

        deinit { reader.withLock { $0?.cancel() } }

        func saw(_ path: String, _ kind: FileEvent.Kind? = nil) -> Bool {
            events.withLock { $0.contains { $0.path == path && (kind == nil || $0.kind == kind) } }
        }

        func paths(under prefix: String) -> [String] {
            events.withLock { $0.map(\.path).filter { $0.hasPrefix(prefix) } }
        }
    }

    private static func write(_ path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
    }

    /// "Copy to a temporary name, rename into place" is how folders are
    /// dropped into a share: the renamed folder, and folders inside it,
    /// must still be watched under their new names.
    @Test func aFolderRenamedInsideTheTreeIsStillWatched() async throws {
        let directory = TemporaryDirectory()
        let watcher = try DirectoryWatcher(onProblem: { _ in })
        defer { watcher.close() }
        let events = Collected(watcher)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/drop.tmp/inner", withIntermediateDirectories: true)
        watcher.watch(directory.path, recursive: true)
        #expect(rename("\(directory.path)/drop.tmp", "\(directory.path)/drop") == 0)
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(directory.path)/drop", .appeared) })
        for file in ["drop/top.bin", "drop/inner/deep.bin"] {
            Self.write("\(directory.path)/\(file)")
            #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(directory.path)/\(file)") },
                    "no event for \(file) written after its folder was renamed")
        }
    }

    /// A folder moved out of the tree takes its watches along in the
    /// kernel: they must go, or writes at its new place would be reported
    /// under its old path inside the share.
    @Test func aFolderMovedOutOfTheTreeIsNoLongerWatched() async throws {
        let directory = TemporaryDirectory()
        let tree = "\(directory.path)/tree", outside = "\(directory.path)/outside"
        try FileManager.default.createDirectory(atPath: "\(tree)/album/disc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let watcher = try DirectoryWatcher(onProblem: { _ in })
        defer { watcher.close() }
        let events = Collected(watcher)
        watcher.watch(tree, recursive: true)
        #expect(rename("\(tree)/album", "\(outside)/album") == 0)
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(tree)/album", .disappeared) })
        Self.write("\(outside)/album/a.bin")
        Self.write("\(outside)/album/disc/b.bin")
        // Events come in order: once the marker's is in, theirs would be too.
        Self.write("\(tree)/marker.bin")
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(tree)/marker.bin") })
        #expect(events.paths(under: "\(tree)/album/").isEmpty, "\(events.paths(under: "\(tree)/album/"))")
    }

    /// The watched root itself moved away (or deleted and made again):
    /// writes at its new place are not reported under the old path.
    @Test func aWatchedRootMovedAwayIsNoLongerWatched() async throws {
        let directory = TemporaryDirectory()
        let tree = "\(directory.path)/tree", other = "\(directory.path)/other", moved = "\(directory.path)/moved"
        for folder in ["\(tree)/album", other] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let watcher = try DirectoryWatcher(onProblem: { _ in })
        defer { watcher.close() }
        let events = Collected(watcher)
        watcher.watch(tree, recursive: true)
        watcher.watch(other, recursive: false)
        #expect(rename(tree, moved) == 0)
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw(tree, .disappeared) })
        Self.write("\(moved)/a.bin")
        Self.write("\(moved)/album/b.bin")
        Self.write("\(other)/marker.bin")
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(other)/marker.bin") })
        #expect(events.paths(under: "\(tree)/").isEmpty, "\(events.paths(under: "\(tree)/"))")
    }

    /// A folder deleted with what is in it, then made again under the same
    /// name (a share emptied and refilled): the new folder and its new
    /// subfolders are watched.
    @Test func aDeletedFolderMadeAgainIsWatchedAgain() async throws {
        let directory = TemporaryDirectory()
        let tree = "\(directory.path)/tree"
        try FileManager.default.createDirectory(atPath: "\(tree)/album/disc", withIntermediateDirectories: true)
        Self.write("\(tree)/album/disc/old.bin")
        let watcher = try DirectoryWatcher(onProblem: { _ in })
        defer { watcher.close() }
        let events = Collected(watcher)
        watcher.watch(tree, recursive: true)
        try FileManager.default.removeItem(atPath: "\(tree)/album")
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(tree)/album", .disappeared) })
        try FileManager.default.createDirectory(atPath: "\(tree)/album", withIntermediateDirectories: false)
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(tree)/album", .appeared) })
        try FileManager.default.createDirectory(atPath: "\(tree)/album/disc", withIntermediateDirectories: false)
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(tree)/album/disc", .appeared) })
        Self.write("\(tree)/album/disc/new.bin")
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw("\(tree)/album/disc/new.bin", .closedAfterWrite) })
    }

    /// The watched root deleted and made again: the periodic check
    /// (`unlessWatched`) must see that its watch is gone and watch the new
    /// one; a stale entry for the deleted root would make it skip.
    @Test func aDeletedRootMadeAgainIsWatchedByThePeriodicCheck() async throws {
        let directory = TemporaryDirectory()
        let tree = "\(directory.path)/tree"
        try FileManager.default.createDirectory(atPath: "\(tree)/album", withIntermediateDirectories: true)
        let watcher = try DirectoryWatcher(onProblem: { _ in })
        defer { watcher.close() }
        let events = Collected(watcher)
        watcher.watch(tree, recursive: true)
        try FileManager.default.removeItem(atPath: tree)
        #expect(await eventually(timeout: 5, every: 0.02) { events.saw(tree, .disappeared) })
        try FileManager.default.createDirectory(atPath: "\(tree)/album", withIntermediateDirectories: true)
        // The kernel's IN_IGNORED for the old root follows its deletion
        // event; the check may come before it is read, as it may in the
        // supervisor, which runs it again later.
        #expect(await eventually(timeout: 5, every: 0.05) {
            watcher.watch(tree, recursive: true, unlessWatched: true)
            Self.write("\(tree)/album/probe.bin")
            return events.saw("\(tree)/album/probe.bin", .closedAfterWrite)
        })
    }
}
