import Foundation
import TestSupport
import Testing

/// The harness every process test stands on.
@Suite("Background processes")
struct BackgroundProcessTests {
    /// A child starts with no signal blocked, whatever the test runner's
    /// thread blocks, so `stop()`'s SIGTERM (or a SIGINT) reaches tools that
    /// stop gracefully on it; blocked, they could only be killed.
    @Test func childrenStartWithNoSignalBlocked() throws {
        // Blocked here as on the runner's threads (this one may not be):
        // the spawn must not pass that on.
        var blocking = sigset_t(), saved = sigset_t()
        sigemptyset(&blocking)
        sigaddset(&blocking, SIGTERM)
        sigaddset(&blocking, SIGINT)
        pthread_sigmask(SIG_BLOCK, &blocking, &saved)
        let spawned = Result { try BackgroundProcess("/bin/sleep", ["30"]) }
        pthread_sigmask(SIG_SETMASK, &saved, nil)
        let child = try spawned.get()
        defer { child.stop(signal: SIGKILL) }
        let blocked = try #require(firstValue(timeout: 5) { () -> String? in
            let status = (try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)) ?? ""
            // (Read once the child runs `sleep`, not while it is still ours.)
            guard status.contains("Name:\tsleep") else { return nil }
            return status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }.map(String.init)
        })
        #expect(blocked == "SigBlk:\t0000000000000000")
        #expect(child.stop(signal: SIGTERM, grace: 5).seconds < 4, "SIGTERM ended it")
    }
}
