import Synchronization

/// Bytes hashed so far, written by hashing threads and polled by a progress
/// display on another thread.
public final class HashProgress: Sendable {
    private let hashed = Atomic<Int64>(0)

    public init() {}

    public var bytesHashed: Int64 { hashed.load(ordering: .relaxed) }

    public func add(_ count: Int) {
        hashed.add(Int64(count), ordering: .relaxed)
    }
}
