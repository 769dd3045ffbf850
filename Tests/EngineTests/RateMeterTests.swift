import Testing
@testable import Engine

@Suite("Rate meter")
struct RateMeterTests {
    /// A new fast peer must look fast at once: its request pipeline is sized
    /// from this rate, and a 1 GiB loopback transfer lasts about 2 s.
    @Test func youngMeterDividesByItsAgeNotTheWholeWindow() {
        var meter = RateMeter()
        #expect(meter.rate(now: 100) == 0)
        for step in 0...50 { meter.add(1_000_000, now: 100 + Double(step) * 0.01) }  // 51 MB in 0.5 s
        let young = meter.rate(now: 100.5)
        #expect(young > 80_000_000 && young < 120_000_000, "rate \(young) after 0.5 s at ~100 MB/s")
    }

    @Test func firstInstantsAreNotInflatedBeyondAQuarterSecond() {
        var meter = RateMeter()
        meter.add(16_384, now: 50)
        #expect(meter.rate(now: 50.001) == 16_384 / 0.25)
    }

    @Test func oldMeterAveragesOverItsWindowAndForgetsSilence() {
        var meter = RateMeter()
        for second in 0..<20 { meter.add(1_000, now: 10 + Double(second)) }
        let steady = meter.rate(now: 29.5)
        #expect(abs(steady - 1_000) < 100, "steady rate \(steady)")
        #expect(meter.rate(now: 60) == 0)
        #expect(meter.total == 20_000)
    }
}
