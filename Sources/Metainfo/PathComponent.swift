/// Checks one element of a torrent name or file path.
///
/// A torrent comes from the network: an element such as `..`, `/etc` or
/// `a/b` would let it write outside the directory the user chose, so such
/// names are refused both when loading and when creating.
public enum PathComponent {
    /// Why `component` cannot be used as a path element, or nil if it can.
    public static func problem(with component: String) -> String? {
        if component.isEmpty { return "is empty" }
        if component == "." || component == ".." { return "is '\(component)'" }
        if component.hasPrefix("/") { return "is an absolute path" }
        if component.contains("/") { return "contains '/'" }
        if component.contains("\\") { return "contains '\\'" }
        if component.utf8.contains(0) { return "contains a NUL byte" }
        return nil
    }
}
