import Testing
@testable import Engine

@Suite("Storage pause on write failures")
struct StoragePauseTests {
    @Test func backsOffOneLogPerPauseAndCapsTheWait() {
        var pause = StoragePause()
        #expect(!pause.isPaused(now: 0))
        #expect(pause.writeFailed(now: 10) == 1)
        // Blocks still arriving during the pause fail quietly.
        #expect(pause.writeFailed(now: 10.5) == nil)
        #expect(pause.isPaused(now: 10.9))
        #expect(!pause.isPaused(now: 11))
        #expect(pause.isActive)
        // The disk is still full when requests resume: longer each time.
        #expect(pause.writeFailed(now: 11.2) == 2)
        #expect(pause.writeFailed(now: 13.3) == 4)
        #expect(pause.writeFailed(now: 17.4) == 8)
        #expect(pause.writeFailed(now: 25.5) == 16)
        #expect(pause.writeFailed(now: 41.6) == 16)
    }

    @Test func onlyAWriteBegunAfterTheFailureEndsIt() {
        var pause = StoragePause()
        let before = pause.epoch
        #expect(pause.writeFailed(now: 0) == 1)
        // A write started before the failure says nothing about the disk now.
        let early = pause.writeSucceeded(epoch: before)
        #expect(!early)
        #expect(pause.isActive)
        let recovered = pause.writeSucceeded(epoch: pause.epoch)
        #expect(recovered)
        #expect(!pause.isActive && !pause.isPaused(now: 0.5))
        // Recovered: the next failure starts again from a short pause.
        #expect(pause.writeFailed(now: 5) == 1)
    }
}
