import Foundation
import TestSupport
import Testing

@Suite("Demo")
struct DemoTests {
    /// The original walkthrough, smaller: each leecher gets a large share
    /// from the other, the capped seeder sends about one copy, both copies
    /// are identical, and the temporary directory is gone.
    @Test func leechersCooperateAndEverythingIsCleanedUp() throws {
        let result = try ProcessRunner.microtorr(["demo", "--size", "12", "-u", "2000", "-v", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let shares = lines.compactMap { line -> Int? in
            guard line.hasPrefix("leecher "), let open = line.lastIndex(of: "("), let percent = line[open...].dropFirst().split(separator: "%").first
            else { return nil }
            return Int(percent)
        }
        #expect(shares.count == 2, "\(result.stdout)")
        #expect(shares.allSatisfy { $0 >= 25 }, "\(result.stdout)")
        let sent = try #require(lines.first { $0.hasPrefix("seeder sent:") })
        let times = Double(sent.split(separator: "=").last?.split(separator: "×").first?.trimmingCharacters(in: .whitespaces) ?? "")
        #expect(times != nil && times! <= 1.2, "\(sent)")
        #expect(lines.contains("both copies are identical to the original"))
        let working = try #require(lines.first { $0.hasPrefix("working in ") }).dropFirst("working in ".count)
        #expect(!working.isEmpty && !FileManager.default.fileExists(atPath: String(working)), "\(working) was left behind")
    }
}
