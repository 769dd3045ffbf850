#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit. Servers take the hard limit instead of
/// the usual soft 1024: the daemon keeps a descriptor per shared file, and
/// a tracker's connection cap means nothing if the kernel refuses sockets
/// first.
public enum DescriptorLimit {
    /// Raises the soft limit to the hard one; returns the soft limit now
    /// in force (nil if it cannot be read).
    @discardableResult
    public static func raiseToMaximum() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY (all ones) clamps to Int.max
    }
}
