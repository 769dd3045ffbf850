import Metainfo
#if canImport(Glibc)
import Glibc
#endif

/// A top-level entry of the share directory as it is on disk now: its
/// files' snapshots (the fingerprint the hashing cache is keyed by) and when
/// anything in it last changed, to tell whether it has settled.
///
/// Cheap: only `lstat` calls, no reads, so the periodic rescan can probe
/// every shared entry.
struct ShareProbe: Sendable {
    /// Each regular file by its path relative to the entry ("" for a
    /// single file), as device, inode, size and modification time.
    typealias Fingerprint = [String: FileSnapshot]

    let name: String
    let path: String
    let fingerprint: Fingerprint
    /// Latest modification or status change (seconds since the epoch) of
    /// any file or directory in it. The status change time counts because
    /// `cp -p` and `mv` keep an old modification time.
    let lastChange: Double
    /// A file inside still being written (`.part`, `.tmp`, `~`), if any,
    /// and the latest change of such a file.
    let inProgressFile: String?
    let inProgressChange: Double?

    /// How long an in-progress name inside a folder must not change to
    /// count as left over (an editor's `notes.txt~`, a download given up):
    /// then it is ignored, like such names at the top level, instead of
    /// holding the folder back for good. 30 settle times, at least 5
    /// minutes: a download paused for a while is not taken for one given
    /// up (its folder would be shared without it, then again with it).
    static func abandonedAfter(settle: Double) -> Double {
        max(300, 30 * settle)
    }

    /// Nil when the entry is gone, is not a regular file or directory (a
    /// symbolic link at the top could share anything on the machine), or
    /// holds no data.
    init?(name: String, in directory: String) {
        self.name = name
        self.path = "\(directory)/\(name)"
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        var fingerprint: Fingerprint = [:]
        var lastChange = Self.changeTime(info)
        var inProgress: (name: String, change: Double)?
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            fingerprint[""] = FileSnapshot(info)
        case S_IFDIR:
            Self.walk(path, prefix: "", into: &fingerprint, lastChange: &lastChange, inProgress: &inProgress)
        default:
            return nil
        }
        guard fingerprint.values.contains(where: { $0.size > 0 }) else { return nil }
        self.fingerprint = fingerprint
        self.lastChange = lastChange
        self.inProgressFile = inProgress?.name
        self.inProgressChange = inProgress?.change
    }

    /// When it counts as complete: nothing in it changed for `settle`
    /// seconds, and no in-progress name in it for `abandonedAfter` (a
    /// browser still fetching into `x.part` keeps its folder back).
    func settledAt(settle: Double) -> Double {
        max(lastChange + settle, inProgressChange.map { $0 + Self.abandonedAfter(settle: settle) } ?? 0)
    }

    func isSettled(now: Double, settle: Double) -> Bool {
        now >= settledAt(settle: settle)
    }

    /// The later of modification and status change (wall clock, seconds).
    static func changeTime(_ info: stat) -> Double {
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        let changed = Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
        return max(modified, changed)
    }

    private static func walk(_ directory: String, prefix: String, into fingerprint: inout Fingerprint,
                             lastChange: inout Double, inProgress: inout (name: String, change: Double)?) {
        for name in DirectoryEntries.read(directory).map(\.name) {
            let path = "\(directory)/\(name)"
            let relative = prefix.isEmpty ? name : "\(prefix)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            // Hidden and in-progress names are not shared, but writing them
            // is activity (rsync writes `.name.XXXX`, then renames it).
            let changed = changeTime(info)
            lastChange = max(lastChange, changed)
            if DropRules.isInProgress(name) {
                inProgress = (inProgress?.name ?? relative, max(inProgress?.change ?? changed, changed))
            }
            if DropRules.isIgnored(name) { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG: fingerprint[relative] = FileSnapshot(info)
            case S_IFDIR: walk(path, prefix: relative, into: &fingerprint, lastChange: &lastChange, inProgress: &inProgress)
            default: continue  // links and special files are not shared
            }
        }
    }

    /// Wall-clock seconds since the epoch (file times are wall clock).
    static func now() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
