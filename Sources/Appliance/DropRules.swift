/// Which names in the share and inbox directories are someone's work in
/// progress or private, and so never taken (SPEC section 5): names starting
/// with `.` and names ending in `.part`, `.tmp` or `~`.
public enum DropRules {
    public static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || isInProgress(name)
    }

    /// Names still being written: a folder holding one is not complete.
    static func isInProgress(_ name: String) -> Bool {
        name.hasSuffix(".part") || name.hasSuffix(".tmp") || name.hasSuffix("~")
    }
}
