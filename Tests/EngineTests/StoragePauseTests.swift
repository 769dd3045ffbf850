import Testing
@testable import Engine

@Suite("Storage pause on write failures")
struct StoragePauseTests {
    /// Fails a write begun now (in the current epoch).
    private func fail(_ pause: inout StoragePause, at now: Double, transient: Bool = true) -> Double? {
        pause.writeFailed(epoch: pause.epoch, transient: transient, reason: "full", now: now)
    }

    @Test func backsOffOneLogPerPauseAndCapsTheWait() {
        var pause = StoragePause()
        #expect(!pause.isPaused(now: 0))
        #expect(fail(&pause, at: 10) == 1)
        // Blocks still arriving during the pause fail quietly.
        #expect(fail(&pause, at: 10.5) == nil)
        #expect(pause.isPaused(now: 10.9))
        #expect(!pause.isPaused(now: 11))
        #expect(pause.isActive)
        // The disk is still full when requests resume: longer each time.
        #expect(fail(&pause, at: 11.2) == 2)
        #expect(fail(&pause, at: 13.3) == 4)
        #expect(fail(&pause, at: 17.4) == 8)
        #expect(fail(&pause, at: 25.5) == 16)
        #expect(fail(&pause, at: 41.6) == 16)
    }

    @Test func onlyAWriteBegunAfterTheFailureEndsIt() {
        var pause = StoragePause()
        let before = pause.epoch
        #expect(fail(&pause, at: 0) == 1)
        // A write started before the failure says nothing about the disk
        // now, whether it succeeds or fails late.
        let early = pause.writeSucceeded(epoch: before)
        #expect(!early)
        #expect(pause.writeFailed(epoch: before, transient: true, reason: "full", now: 5) == nil)
        #expect(pause.isActive)
        let recovered = pause.writeSucceeded(epoch: pause.epoch)
        #expect(recovered)
        #expect(!pause.isActive && !pause.isPaused(now: 5.5))
    }

    /// On a full disk, rewriting space a file already has succeeds while
    /// new space still fails: that success must not reset the back-off.
    @Test func aSuccessWhileStillFullDoesNotResetTheBackOff() {
        var pause = StoragePause()
        #expect(fail(&pause, at: 0) == 1)
        #expect(fail(&pause, at: 1.1) == 2)
        let recovered = pause.writeSucceeded(epoch: pause.epoch)
        #expect(recovered)
        #expect(fail(&pause, at: 3.5) == 4)
        // A minute without failures: a new problem starts short again.
        _ = pause.writeSucceeded(epoch: pause.epoch)
        #expect(fail(&pause, at: 70) == 1)
    }

    /// A failure waiting cannot cure stays, whatever other files do.
    @Test func aPermanentFailureIsKept() {
        var pause = StoragePause()
        #expect(pause.writeFailed(epoch: pause.epoch, transient: false, reason: "a link", now: 0) == 1)
        _ = pause.writeSucceeded(epoch: pause.epoch)
        #expect(!pause.isActive)
        #expect(pause.permanentFailure == "a link")
    }
}
