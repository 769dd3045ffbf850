/// Back-off while the disk refuses writes (full, read-only, failing): the
/// session stops requesting blocks it could not store, tries again after
/// 1, 2, 4 … 16 s, and resumes as soon as a write begun after the latest
/// failure succeeds. One log line per pause rather than one per block, and
/// a full disk is a wait, not the end of the download. A pure value with
/// the clock passed in.
struct StoragePause: Equatable {
    static let longest = 16.0

    /// Requests stay off until then; nil once a write succeeded again.
    private(set) var until: Double?
    private(set) var backoff = 0.0
    /// Bumped at each new pause: only a write begun after it proves the
    /// disk takes data again (writes begun earlier may finish later).
    private(set) var epoch = 0

    /// A write failed and no write succeeded since.
    var isActive: Bool { until != nil }

    func isPaused(now: Double) -> Bool {
        until.map { now < $0 } ?? false
    }

    /// A write failed. The new pause's length when this starts one (worth a
    /// log line), nil while one is already running.
    mutating func writeFailed(now: Double) -> Double? {
        guard !isPaused(now: now) else { return nil }
        backoff = min(Self.longest, max(1, backoff * 2))
        until = now + backoff
        epoch += 1
        return backoff
    }

    /// A write begun in `epoch` succeeded: true when that ends the pause.
    mutating func writeSucceeded(epoch: Int) -> Bool {
        guard until != nil, epoch == self.epoch else { return false }
        until = nil
        backoff = 0
        return true
    }
}
