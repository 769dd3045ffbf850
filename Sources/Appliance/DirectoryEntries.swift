#if canImport(Glibc)
import Glibc
#endif

/// The names in a directory (without `.` and `..`), with whether the entry
/// says it is a directory: one `readdir` loop for the watcher, the probes
/// and the scans.
enum DirectoryEntries {
    struct Entry {
        let name: String
        /// From `d_type`: reliable on local filesystems; callers that must
        /// know for sure `lstat` the entry.
        let isDirectory: Bool
    }

    /// Empty if the directory cannot be read.
    static func read(_ path: String) -> [Entry] {
        guard let handle = opendir(path) else { return [] }
        defer { closedir(handle) }
        var entries: [Entry] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            entries.append(Entry(name: name, isDirectory: entry.pointee.d_type == UInt8(DT_DIR)))
        }
        return entries
    }
}
