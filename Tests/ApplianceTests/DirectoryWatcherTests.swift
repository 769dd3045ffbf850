import Appliance
import Foundation
import TestSupport
import Testing

@Suite("Directory watcher")
struct DirectoryWatcherTests {
    /// Waits up to `seconds` for an event about `path`.
    private static func event(about path: String, in watcher: DirectoryWatcher, seconds: Double = 5) async -> FileEvent? {
        await withTaskGroup(of: FileEvent?.self) { group in
            group.addTask {
                for await event in watcher.events where event.path == path { return event }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// "Copy to a temporary name, rename into place" is how folders are
    /// dropped into a share: the renamed folder, and folders inside it,
    /// must still be watched under their new names.
    @Test func aFolderRenamedInsideTheTreeIsStillWatched() async throws {
        let directory = TemporaryDirectory()
        let watcher = try DirectoryWatcher(onProblem: { _ in })
        defer { watcher.close() }
        try FileManager.default.createDirectory(atPath: "\(directory.path)/drop.tmp/inner", withIntermediateDirectories: true)
        watcher.watch(directory.path, recursive: true)
        #expect(rename("\(directory.path)/drop.tmp", "\(directory.path)/drop") == 0)
        #expect(await Self.event(about: "\(directory.path)/drop", in: watcher)?.kind == .appeared)
        // Let the rest of the rename's events ("moved self") be handled.
        try await Task.sleep(for: .milliseconds(300))
        for file in ["drop/top.bin", "drop/inner/deep.bin"] {
            FileManager.default.createFile(atPath: "\(directory.path)/\(file)", contents: Data([1, 2, 3]))
            let seen = await Self.event(about: "\(directory.path)/\(file)", in: watcher)
            #expect(seen != nil, "no event for \(file) written after its folder was renamed")
        }
    }
}
