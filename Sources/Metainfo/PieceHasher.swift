import Crypto
import Dispatch
import Foundation
import Synchronization

/// Hashes a torrent's content from disk: every piece's SHA-1 on all cores,
/// and optionally the SHA-1 of the whole content (the original's `id_hash`)
/// in the same pass, so the data is read once.
///
/// Memory is bounded by a fixed buffer budget whatever the content size:
/// each worker owns one buffer of at most 4 MiB and streams through it.
public struct PieceHasher: Sendable {
    public struct Result: Sendable {
        /// Concatenated 20-byte piece hashes.
        public let pieces: [UInt8]
        public let contentHash: SHA1Hash?
    }

    /// Total bytes of read buffers across workers.
    static let bufferBudget = 32 << 20

    public let layout: FileLayout
    public let diskPaths: [String]
    public let pieceLength: Int
    public let threads: Int
    public let computesContentHash: Bool

    public init(layout: FileLayout, diskPaths: [String], pieceLength: Int, threads: Int, computesContentHash: Bool) {
        precondition(layout.totalLength > 0 && pieceLength > 0)
        self.layout = layout
        self.diskPaths = diskPaths
        self.pieceLength = pieceLength
        self.threads = max(1, threads)
        self.computesContentHash = computesContentHash
    }

    public var pieceCount: Int { Int((layout.totalLength - 1) / Int64(pieceLength) + 1) }

    public func run(progress: HashProgress? = nil) throws(CreationError) -> Result {
        let plan = Plan(pieceCount: pieceCount, pieceLength: pieceLength, totalLength: layout.totalLength, threads: threads)
        let output = DigestSlots(count: pieceCount)
        defer { output.deallocate() }
        let sequencer = computesContentHash ? ContentHashSequencer() : nil
        let nextUnit = Atomic<Int>(0)
        let failure = Mutex<CreationError?>(nil)

        DispatchQueue.concurrentPerform(iterations: plan.workerCount) { _ in
            let reader = FileSpanReader(layout: layout, paths: diskPaths)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.bufferSize, alignment: 64)
            defer { buffer.deallocate() }
            while failure.withLock({ $0 == nil }) {
                let unit = nextUnit.wrappingAdd(1, ordering: .relaxed).oldValue
                guard unit < plan.unitCount else { break }
                do throws(CreationError) {
                    try hash(unit: unit, plan: plan, reader: reader, buffer: buffer, output: output, sequencer: sequencer, progress: progress)
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    sequencer?.abort()
                    break
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return Result(pieces: output.bytes, contentHash: sequencer?.finalize())
    }

    private func hash(
        unit: Int, plan: Plan, reader: FileSpanReader, buffer: UnsafeMutableRawBufferPointer,
        output: DigestSlots, sequencer: ContentHashSequencer?, progress: HashProgress?
    ) throws(CreationError) {
        let firstPiece = unit * plan.piecesPerUnit
        let endPiece = min(plan.pieceCount, firstPiece + plan.piecesPerUnit)
        let start = Int64(firstPiece) * Int64(pieceLength)
        let end = min(layout.totalLength, Int64(endPiece) * Int64(pieceLength))
        if plan.piecesPerUnit > 1 || pieceLength <= plan.bufferSize {
            // Whole pieces fit in the buffer: one read, then one digest each.
            let region = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(end - start)])
            try reader.read(into: region, at: start)
            for piece in firstPiece..<endPiece {
                let from = (piece - firstPiece) * pieceLength
                let to = min(region.count, from + pieceLength)
                var hasher = Insecure.SHA1()
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: region[from..<to]))
                output.store(hasher.finalize(), at: piece)
            }
            try sequencer?.feed(UnsafeRawBufferPointer(region), at: start)
            progress?.add(region.count)
        } else {
            // One piece larger than the buffer: stream it through.
            var hasher = Insecure.SHA1()
            var offset = start
            while offset < end {
                let count = Int(min(Int64(plan.bufferSize), end - offset))
                let region = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                try reader.read(into: region, at: offset)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(region))
                try sequencer?.feed(UnsafeRawBufferPointer(region), at: offset)
                progress?.add(count)
                offset += Int64(count)
            }
            output.store(hasher.finalize(), at: firstPiece)
        }
    }
}

extension PieceHasher {
    /// How the work is cut: units of whole pieces that fill a buffer, or
    /// single pieces streamed through it when a piece is bigger.
    struct Plan {
        let pieceCount: Int
        let workerCount: Int
        let bufferSize: Int
        let piecesPerUnit: Int
        let unitCount: Int

        init(pieceCount: Int, pieceLength: Int, totalLength: Int64, threads: Int) {
            self.pieceCount = pieceCount
            workerCount = max(1, min(threads, pieceCount))
            var size = 4 << 20
            while size > 256 << 10, size * workerCount > PieceHasher.bufferBudget { size >>= 1 }
            let piecesPerUnit = max(1, size / pieceLength)
            self.piecesPerUnit = piecesPerUnit
            // A buffer never needs to exceed the content or one unit.
            bufferSize = Int(min(Int64(piecesPerUnit == 1 ? min(size, pieceLength) : piecesPerUnit * pieceLength), totalLength))
            unitCount = (pieceCount + piecesPerUnit - 1) / piecesPerUnit
        }
    }
}

/// Output slots for piece digests. Workers write disjoint slots (one per
/// piece) and the buffer is read only after all workers have joined, so no
/// lock is needed.
private final class DigestSlots: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<UInt8>

    init(count: Int) {
        storage = .allocate(capacity: count * SHA1Hash.byteCount)
        storage.initialize(repeating: 0)
    }

    func store(_ digest: Insecure.SHA1Digest, at index: Int) {
        digest.withUnsafeBytes { bytes in
            for (offset, byte) in bytes.enumerated() { storage[index * SHA1Hash.byteCount + offset] = byte }
        }
    }

    var bytes: [UInt8] { Array(storage) }

    func deallocate() { storage.deallocate() }
}

/// Feeds chunks into one SHA-1 strictly in stream order, whichever worker
/// read them: a worker waits until the bytes before its chunk are in.
private final class ContentHashSequencer: @unchecked Sendable {
    private let condition = NSCondition()
    private var hasher = Insecure.SHA1()
    private var nextOffset: Int64 = 0
    private var aborted = false

    func feed(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(CreationError) {
        condition.lock()
        defer { condition.unlock() }
        while nextOffset != offset, !aborted { condition.wait() }
        guard !aborted else { throw .invalidOption("hashing aborted") }
        hasher.update(bufferPointer: bytes)
        nextOffset += Int64(bytes.count)
        condition.broadcast()
    }

    func abort() {
        condition.lock()
        aborted = true
        condition.broadcast()
        condition.unlock()
    }

    func finalize() -> SHA1Hash {
        condition.lock()
        defer { condition.unlock() }
        return SHA1Hash(bytes: Array(hasher.finalize()))!
    }
}
