/// Maps the torrent's single byte stream onto its files.
///
/// BitTorrent hashes the concatenation of all files; a piece may start in
/// one file and end in another. Creation, verification and storage all need
/// the same mapping, so it lives here as plain data.
public struct FileLayout: Hashable, Sendable {
    /// A contiguous part of one file.
    public struct Segment: Hashable, Sendable {
        public let fileIndex: Int
        public let offsetInFile: Int64
        public let length: Int

        public init(fileIndex: Int, offsetInFile: Int64, length: Int) {
            self.fileIndex = fileIndex
            self.offsetInFile = offsetInFile
            self.length = length
        }
    }

    public let lengths: [Int64]
    /// `starts[i]` is the stream offset of file `i`'s first byte.
    public let starts: [Int64]
    public let totalLength: Int64

    public init(lengths: [Int64]) {
        var starts: [Int64] = []
        starts.reserveCapacity(lengths.count)
        var offset: Int64 = 0
        for length in lengths {
            starts.append(offset)
            offset += length
        }
        self.lengths = lengths
        self.starts = starts
        self.totalLength = offset
    }

    /// The file parts covering `length` bytes from stream `offset`, in order;
    /// empty files are skipped. The range must lie within the stream.
    public func segments(offset: Int64, length: Int) -> [Segment] {
        precondition(offset >= 0 && length >= 0 && offset + Int64(length) <= totalLength, "range outside the content")
        var segments: [Segment] = []
        var position = offset
        let end = offset + Int64(length)
        var index = firstFile(containing: offset)
        while position < end {
            let fileEnd = starts[index] + lengths[index]
            if fileEnd > position {
                let take = min(end, fileEnd) - position
                segments.append(Segment(fileIndex: index, offsetInFile: position - starts[index], length: Int(take)))
                position += take
            }
            index += 1
        }
        return segments
    }

    /// Index of the first file whose end lies beyond `offset` (binary search).
    private func firstFile(containing offset: Int64) -> Int {
        var low = 0
        var high = lengths.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] + lengths[middle] <= offset {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
