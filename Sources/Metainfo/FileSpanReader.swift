#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads ranges of a torrent's byte stream from its files on disk.
///
/// One reader belongs to one thread. It keeps the last file open, since
/// reads mostly move forward through the same file, and opens files lazily
/// so a torrent of 100 000 files never holds 100 000 descriptors.
final class FileSpanReader {
    private let layout: FileLayout
    private let paths: [String]
    private var openIndex = -1
    private var openFD: Int32 = -1

    init(layout: FileLayout, paths: [String]) {
        self.layout = layout
        self.paths = paths
    }

    deinit {
        if openFD >= 0 { close(openFD) }
    }

    /// Fills `buffer` with the stream bytes from `offset`. A file shorter
    /// than the layout says is an error: the data changed under us.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(CreationError) {
        var done = 0
        for segment in layout.segments(offset: offset, length: buffer.count) {
            let fd = try descriptor(for: segment.fileIndex)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + segment.length])
            let count: Int
            do {
                count = try FileIO.readFully(fd: fd, into: target, at: segment.offsetInFile, path: paths[segment.fileIndex])
            } catch {
                throw .io(error)
            }
            guard count == segment.length else { throw .fileChanged(paths[segment.fileIndex]) }
            done += segment.length
        }
    }

    private func descriptor(for index: Int) throws(CreationError) -> Int32 {
        if index == openIndex { return openFD }
        if openFD >= 0 { close(openFD) }
        openIndex = -1
        openFD = open(paths[index], O_RDONLY | O_CLOEXEC)
        guard openFD >= 0 else { throw .io(.system("cannot open", path: paths[index])) }
        openIndex = index
        return openFD
    }
}
