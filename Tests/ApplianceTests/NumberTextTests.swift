import Foundation
import MicroTorrLogging
import Testing

/// The formatting that replaced `String(format:)` (so the executable does
/// not link Foundation) prints what the format strings did.
@Suite("Number text")
struct NumberTextTests {
    @Test func decimalsLikePrintf() {
        // 0.15 and 1.45 lie just below a half: scaled by hand they became
        // exact halves and rounded up (0.2, 1.5; printf: 0.1, 1.4).
        for value in [0.0, 1.0, 2.5e-3, 12.34, 99.95, 100.0, 1234.5678, 0.049, 7.0 / 3.0, 1e12 / 7, -3.14159,
                      0.15, 1.45, 0.125, 2.5, 1e300] {
            for decimals in 0...3 {
                #expect(NumberText.fixed(value, decimals: decimals) == String(format: "%.\(decimals)f", value), "\(value) \(decimals)")
            }
        }
        #expect(NumberText.fixed(.infinity, decimals: 1) == "inf" && NumberText.fixed(-.infinity, decimals: 0) == "-inf")
        // A NaN with its sign set (0/0 gives one on x86): glibc prints "-nan".
        #expect(NumberText.fixed(.nan, decimals: 1) == "nan" && NumberText.fixed(-Double.nan, decimals: 2) == "nan")
        #expect(NumberText.fixed(0.15, decimals: 1) == "0.1" && NumberText.fixed(1.45, decimals: 1) == "1.4")
        // Unlike printf: no negative zero.
        #expect(NumberText.fixed(-0.04, decimals: 1) == "0.0" && NumberText.fixed(-0.04, decimals: 2) == "-0.04")
    }

    @Test func paddingLikePrintf() {
        for value in [0, 7, 42, 123, 2026, 99_999, -5] {
            #expect(NumberText.zeroPadded(value, width: 3) == String(format: "%03d", value))
            #expect(NumberText.padded(String(value), width: 4, right: true) == String(format: "%4d", value))
        }
        for value: UInt32 in [0, 0x1F, 0xABC, 0x12345] {
            #expect(NumberText.hex(value, width: 4) == String(format: "%04x", value))
        }
        #expect(NumberText.padded("INFO", width: 8) == "INFO    ")
        #expect(NumberText.padded("TOOLONGNAME", width: 8) == "TOOLONGNAME")
    }
}
