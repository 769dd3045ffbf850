/// Back-off while the disk refuses writes (full, read-only, failing): the
/// session stops requesting blocks it could not store, tries again after
/// 1, 2, 4 … 16 s, and resumes as soon as a write begun after the latest
/// failure succeeds. One log line per pause rather than one per block, and
/// a full disk is a wait, not the end of the download. A pure value with
/// the clock passed in.
struct StoragePause: Equatable {
    static let longest = 16.0
    /// The back-off starts again from 1 s only after this long without a
    /// failure: on a full disk, writes into space a file already has (a
    /// piece fetched again) succeed while new space still fails, and must
    /// not reset the back-off each time.
    static let forgetAfter = 60.0

    /// Requests stay off until then; nil once a write succeeded again.
    private(set) var until: Double?
    private(set) var backoff = 0.0
    private var lastFailure = -Double.infinity
    /// Bumped at each new pause: only a write begun after it proves the
    /// disk takes data again (writes begun earlier may finish later), and a
    /// failure of a write begun before it is old news.
    private(set) var epoch = 0
    /// A failure that waiting cannot cure (a planted link, a file where a
    /// folder must go): kept, so that other files' good writes do not hide it.
    private(set) var permanentFailure: String?

    /// A write failed and no write succeeded since.
    var isActive: Bool { until != nil }

    func isPaused(now: Double) -> Bool {
        until.map { now < $0 } ?? false
    }

    /// A write begun in `epoch` failed (`transient`: a full disk rather than
    /// a wrong path). The new pause's length when this starts one (worth a
    /// log line), nil while one is running or for a write begun before it.
    mutating func writeFailed(epoch: Int, transient: Bool, reason: String, now: Double) -> Double? {
        if !transient, permanentFailure == nil { permanentFailure = reason }
        guard epoch == self.epoch, !isPaused(now: now) else { return nil }
        backoff = now - lastFailure < Self.forgetAfter ? min(Self.longest, max(1, backoff * 2)) : 1
        lastFailure = now
        until = now + backoff
        self.epoch += 1
        return backoff
    }

    /// A write begun in `epoch` succeeded: true when that ends the pause.
    mutating func writeSucceeded(epoch: Int) -> Bool {
        guard until != nil, epoch == self.epoch else { return false }
        until = nil
        return true
    }
}
