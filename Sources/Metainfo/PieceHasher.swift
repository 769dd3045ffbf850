import Crypto
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Hashes a torrent's content from disk: every piece's SHA-1 on all cores,
/// and optionally the SHA-1 of the whole content (the original's `id_hash`).
///
/// The whole-content hash is inherently serial, so it runs on its own
/// thread with its own sequential reader, while piece workers run in
/// parallel. Piece workers stay at most `readAheadWindow` ahead of it, so
/// both read the same region at about the same time and the second read
/// comes from the page cache, never from the disk again.
///
/// Memory is bounded by a fixed buffer budget whatever the content size:
/// each reader owns one buffer of at most 4 MiB and streams through it.
/// `run` blocks its thread: call it from a dedicated thread or queue, never
/// from an event loop or the Swift concurrency pool.
public struct PieceHasher: Sendable {
    public struct Result: Sendable {
        /// Concatenated 20-byte piece hashes.
        public let pieces: [UInt8]
        public let contentHash: SHA1Hash?
    }

    /// Total bytes of read buffers across piece workers.
    static let bufferBudget = 32 << 20
    /// How far piece workers may run ahead of the whole-content reader.
    static let readAheadWindow: Int64 = 256 << 20

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
        // The content hash takes one of the threads for itself: it is the
        // serial tail, so it must not be starved by piece workers.
        let pieceThreads = computesContentHash ? max(1, threads - 1) : threads
        let plan = Plan(pieceCount: pieceCount, pieceLength: pieceLength, totalLength: layout.totalLength, threads: pieceThreads)
        let output = DigestSlots(count: pieceCount)
        defer { output.deallocate() }
        let nextUnit = Atomic<Int>(0)
        let failure = FirstFailure()
        let contentHasher = computesContentHash ? ContentHasher(layout: layout, paths: diskPaths, failure: failure, progress: progress) : nil
        contentHasher?.start()

        DispatchQueue.concurrentPerform(iterations: plan.workerCount) { _ in
            let reader = FileSpanReader(layout: layout, paths: diskPaths)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: plan.bufferSize, alignment: 64)
            defer { buffer.deallocate() }
            while !failure.hasFailed {
                let unit = nextUnit.wrappingAdd(1, ordering: .relaxed).oldValue
                guard unit < plan.unitCount else { break }
                let unitStart = Int64(unit * plan.piecesPerUnit) * Int64(pieceLength)
                contentHasher?.waitUntilWithin(PieceHasher.readAheadWindow, of: unitStart)
                do throws(CreationError) {
                    try hash(unit: unit, plan: plan, reader: reader, buffer: buffer, output: output, progress: progress)
                } catch {
                    failure.record(error)
                    break
                }
            }
        }
        let contentHash = contentHasher?.finish()
        if let error = failure.error { throw error }
        return Result(pieces: output.bytes, contentHash: contentHash)
    }

    private func hash(
        unit: Int, plan: Plan, reader: FileSpanReader, buffer: UnsafeMutableRawBufferPointer,
        output: DigestSlots, progress: HashProgress?
    ) throws(CreationError) {
        let firstPiece = unit * plan.piecesPerUnit
        let endPiece = min(plan.pieceCount, firstPiece + plan.piecesPerUnit)
        let start = Int64(firstPiece) * Int64(pieceLength)
        let end = min(layout.totalLength, Int64(endPiece) * Int64(pieceLength))
        if Int64(plan.bufferSize) >= end - start {
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

/// The whole-content SHA-1 on a thread of its own: reads the stream in
/// order and hashes it, stopping early if a piece worker failed.
private final class ContentHasher: @unchecked Sendable {
    private let layout: FileLayout
    private let paths: [String]
    private let failure: FirstFailure
    private let progress: HashProgress?
    private let done = DispatchSemaphore(value: 0)
    /// Stream offset hashed so far (or `Int64.max` once stopped).
    private let hashedOffset = Atomic<Int64>(0)
    // Written by the thread before it signals `done`, read after `finish`
    // has waited for that signal.
    private var digest: SHA1Hash?

    init(layout: FileLayout, paths: [String], failure: FirstFailure, progress: HashProgress?) {
        self.layout = layout
        self.paths = paths
        self.failure = failure
        self.progress = progress
    }

    func start() {
        // A queue of its own: not one of the piece workers' threads.
        DispatchQueue(label: "microtorr.content-hash").async { [self] in
            digest = compute()
            hashedOffset.store(.max, ordering: .releasing)
            done.signal()
        }
    }

    /// Blocks a piece worker while `offset` is more than `window` ahead of
    /// the content reader (short sleeps: waits are rare and brief).
    func waitUntilWithin(_ window: Int64, of offset: Int64) {
        while offset - window > hashedOffset.load(ordering: .acquiring), !failure.hasFailed {
            usleep(200)
        }
    }

    /// Waits for the thread; nil if hashing stopped on an error.
    func finish() -> SHA1Hash? {
        done.wait()
        return digest
    }

    private func compute() -> SHA1Hash? {
        let reader = FileSpanReader(layout: layout, paths: paths)
        let chunk = Int(min(Int64(4 << 20), layout.totalLength))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var hasher = Insecure.SHA1()
        var offset: Int64 = 0
        while offset < layout.totalLength {
            if failure.hasFailed { return nil }
            let count = Int(min(Int64(chunk), layout.totalLength - offset))
            let region = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            do throws(CreationError) {
                try reader.read(into: region, at: offset)
            } catch {
                failure.record(error)
                return nil
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(region))
            progress?.add(count)
            offset += Int64(count)
            hashedOffset.store(offset, ordering: .releasing)
        }
        return SHA1Hash(bytes: Array(hasher.finalize()))
    }
}

/// The first error any hashing thread hit; the others stop when they see it.
private final class FirstFailure: Sendable {
    private let state = Mutex<CreationError?>(nil)

    var hasFailed: Bool { state.withLock { $0 != nil } }
    var error: CreationError? { state.withLock { $0 } }

    func record(_ error: CreationError) {
        state.withLock { if $0 == nil { $0 = error } }
    }
}
