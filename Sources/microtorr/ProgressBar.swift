import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import MicroTorrLogging
import Metainfo

/// A one-line progress bar redrawn on stderr: percent, rate and ETA.
///
/// Only shown on a terminal; in a pipe or a log file it would be noise.
struct ProgressBar {
    let total: Int64
    let label: String
    let width = 30

    /// The line for `done` bytes after `elapsed` seconds.
    func render(done: Int64, elapsed: Double) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
            + String(repeating: " ", count: max(0, width - filled - 1))
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let percent = NumberText.padded(String(Int(fraction * 100)), width: 3, right: true)
        return "\(label) [\(bar)] \(percent)%  \(ByteCount.format(Int64(rate)))/s  ETA \(Self.duration(eta))"
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole >= 3600 { return "\(whole / 3600)h\(NumberText.zeroPadded(whole % 3600 / 60, width: 2))m" }
        if whole >= 60 { return "\(whole / 60)m\(NumberText.zeroPadded(whole % 60, width: 2))s" }
        return "\(whole)s"
    }
}

/// Redraws a progress bar every 200 ms from a background timer until
/// stopped, reading progress through a thread-safe closure.
final class ProgressDisplay: @unchecked Sendable {
    private let bar: ProgressBar
    private let read: @Sendable () -> Int64
    private let suffix: @Sendable () -> String
    private let timer: DispatchSourceTimer
    private let start = Date()
    // Touched only on `queue`.
    private let queue = DispatchQueue(label: "microtorr.progress")

    /// Returns nil when stderr is not a terminal.
    init?(bar: ProgressBar, read: @escaping @Sendable () -> Int64, suffix: @escaping @Sendable () -> String = { "" }) {
        guard LogSink.standardError.isTerminal else { return nil }
        self.bar = bar
        self.read = read
        self.suffix = suffix
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: .milliseconds(200))
        timer.setEventHandler { [unowned self] in self.draw(final: false) }
        timer.resume()
    }

    func finish() {
        timer.cancel()
        queue.sync { draw(final: true) }
    }

    private func draw(final: Bool) {
        let line = "\r" + bar.render(done: read(), elapsed: Date().timeIntervalSince(start)) + suffix() + "\u{1B}[K" + (final ? "\n" : "")
        try? FileIO.writeFully(fd: STDERR_FILENO, bytes: Array(line.utf8), path: "standard error")
    }
}

/// Byte counts as people read them (1 kB = 1000 bytes, as the rate flags).
enum ByteCount {
    static func format(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(NumberText.fixed(value, decimals: 1)) \(units[unit])"
    }
}
