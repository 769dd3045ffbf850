/// Checks one element of a torrent name or file path.
///
/// A torrent comes from the network: an element such as `..`, `/etc` or
/// `a/b` would let it write outside the directory the user chose, so such
/// names are refused both when loading and when creating. The checks work
/// on the UTF-8 bytes, because that is what the file system sees: comparing
/// Swift `Character`s would let `/` + a combining mark pass as one
/// grapheme that is not `/`.
public enum PathComponent {
    /// Longest element accepted (NAME_MAX on Linux).
    public static let maxLength = 255

    /// Why `component` cannot be used as a path element, or nil if it can.
    public static func problem(with component: String) -> String? {
        let bytes = Array(component.utf8)
        if bytes.isEmpty { return "is empty" }
        if bytes == [0x2E] || bytes == [0x2E, 0x2E] { return "is '\(component)'" }
        if bytes.first == 0x2F { return "is an absolute path" }
        if bytes.contains(0x2F) { return "contains '/'" }
        if bytes.contains(0x5C) { return "contains '\\'" }
        if bytes.contains(0) { return "contains a NUL byte" }
        if bytes.count > maxLength { return "is longer than \(maxLength) bytes" }
        return nil
    }
}

/// The files of a torrent as a tree, to find collisions in time linear in
/// the input: two files with one path, or a file where another file needs
/// a directory.
struct PathTrie {
    private var children: [[[UInt8]: Int]] = [[:]]
    private var isFile: [Bool] = [false]

    enum Collision: Equatable {
        case duplicate
        /// A file would sit below another file (at this depth).
        case belowFile(depth: Int)
    }

    /// Adds a file; returns the collision instead when there is one.
    mutating func insert(_ path: [String]) -> Collision? {
        var node = 0
        for (depth, component) in path.enumerated() {
            if isFile[node] { return .belowFile(depth: depth) }
            let key = Array(component.utf8)
            if let next = children[node][key] {
                node = next
            } else {
                children.append([:])
                isFile.append(false)
                children[node][key] = children.count - 1
                node = children.count - 1
            }
        }
        if isFile[node] || !children[node].isEmpty { return .duplicate }
        isFile[node] = true
        return nil
    }
}
