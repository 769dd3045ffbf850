/// One file of a torrent's content.
public struct FileEntry: Hashable, Sendable {
    /// Path below the torrent's root directory; empty for a single-file
    /// torrent, whose only file is named by `InfoDictionary.name`.
    public let path: [String]
    public let length: Int64
    /// A BEP 47 padding file (`attr` contains `p`): zeros that align the next
    /// file to a piece boundary; never written to disk as a real file.
    public let isPadding: Bool

    public init(path: [String], length: Int64, isPadding: Bool = false) {
        self.path = path
        self.length = length
        self.isPadding = isPadding
    }
}
