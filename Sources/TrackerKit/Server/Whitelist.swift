import FoundationEssentials
import Metainfo
import Synchronization

/// The info-hashes of the metainfo files in a directory: a tracker in
/// whitelist mode tracks only those.
///
/// `reload()` reads the directory (blocking I/O: call it off the event
/// loop); lookups are lock-protected reads. Files are parsed again only
/// when their size or modification time changed.
public final class Whitelist: Sendable {
    public let directory: String
    private struct Entry: Sendable {
        let file: FileSnapshot
        let hash: InfoHash?
    }
    private let state = Mutex<(entries: [String: Entry], hashes: Set<InfoHash>)>(([:], []))

    public init(directory: String) {
        self.directory = directory
    }

    public func contains(_ hash: InfoHash) -> Bool {
        state.withLock { $0.hashes.contains(hash) }
    }

    /// Rescans the directory; returns the files that could not be loaded.
    @discardableResult
    public func reload() -> [String: String] {
        let previous = state.withLock { $0.entries }
        var entries: [String: Entry] = [:]
        var failures: [String: String] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".mtorrent") || name.hasSuffix(".torrent") {
            let path = "\(directory)/\(name)"
            guard let file = FileSnapshot(atPath: path, followingLinks: true) else { continue }
            if let known = previous[name], known.file == file {
                entries[name] = known
                continue
            }
            do {
                entries[name] = Entry(file: file, hash: try Metainfo(contentsOfFile: path).infoHash)
            } catch {
                entries[name] = Entry(file: file, hash: nil)
                failures[name] = String(describing: error)
            }
        }
        let hashes = Set(entries.values.compactMap(\.hash))
        state.withLock { $0 = (entries, hashes) }
        return failures
    }
}
