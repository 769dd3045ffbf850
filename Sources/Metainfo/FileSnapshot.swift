#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a file looked like at one moment: device, inode, size and
/// modification time. Equal snapshots mean "very likely unchanged" — what
/// creation checks after hashing, and what resume data and the hashing
/// cache are trusted on.
///
/// Equality leaves the device number out: saved snapshots are compared
/// with the next boot's, and a btrfs volume or a USB disk may be numbered
/// differently then (SPEC: state keyed by path, size, mtime, inode). A
/// file's identity across filesystems compares `device` itself.
public struct FileSnapshot: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64
    public let size: Int64
    /// Modification time in nanoseconds since the epoch.
    public let modifiedNanoseconds: Int64

    public init(device: UInt64, inode: UInt64, size: Int64, modifiedNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modifiedNanoseconds = modifiedNanoseconds
    }

    public init(_ info: stat) {
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                  modifiedNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    public static func == (lhs: FileSnapshot, rhs: FileSnapshot) -> Bool {
        lhs.inode == rhs.inode && lhs.size == rhs.size && lhs.modifiedNanoseconds == rhs.modifiedNanoseconds
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(inode)
        hasher.combine(size)
        hasher.combine(modifiedNanoseconds)
    }

    /// The file at `path` now (a symbolic link itself, not its target,
    /// unless `followingLinks`); nil if it cannot be read.
    public init?(atPath path: String, followingLinks: Bool = false) {
        var info = stat()
        guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        self.init(info)
    }
}
