/// One file of a torrent's content.
public struct FileEntry: Hashable, Sendable {
    /// Path below the torrent's root directory; empty for a single-file
    /// torrent, whose only file is named by `InfoDictionary.name`.
    public let path: [String]
    public let length: Int64

    public init(path: [String], length: Int64) {
        self.path = path
        self.length = length
    }
}
