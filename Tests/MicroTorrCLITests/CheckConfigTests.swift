import Foundation
import TestSupport
import Testing

@Suite("check-config")
struct CheckConfigTests {
    @Test func aGoodFileIsOKAndABadOneListsEveryErrorWithItsPosition() throws {
        let directory = TemporaryDirectory()
        let good = try directory.write(Array("""
            share_dir: \(directory.path)/share
            inbox_dir: \(directory.path)/inbox
            download_dir: \(directory.path)/downloads
            torrent_dir: \(directory.path)/torrents
            state_dir: \(directory.path)/state
            limits: {upload_kbps: 3000}
            """.utf8), to: "good.yaml")
        let ok = try ProcessRunner.microtorr(["check-config", "--config", good])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout == "\(good): ok\n")
        // The check never writes the admin's file or creates directories.
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/share"))

        let bad = try directory.write(Array("""
            share_dir: \(directory.path)/share
            limits:
              uplod_kbps: 10
              download_kbps: lots
            """.utf8), to: "bad.yaml")
        let before = try Data(contentsOf: URL(fileURLWithPath: bad))
        let failed = try ProcessRunner.microtorr(["check-config", "--config", bad])
        #expect(failed.status == 1)
        let lines = failed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(bad):3:3: unknown key 'uplod_kbps' in limits (did you mean 'upload_kbps'?)"), "\(lines)")
        #expect(lines.contains("\(bad):4:18: limits.download_kbps must be a whole number (got 'lots')"), "\(lines)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: bad)) == before)

        let broken = try directory.write(Array("limits: [\n".utf8), to: "broken.yaml")
        let syntax = try ProcessRunner.microtorr(["check-config", "--config", broken])
        #expect(syntax.status == 1)
        #expect(syntax.stdout.hasPrefix("\(broken):2:1: "), "\(syntax.stdout)")

        let missing = try ProcessRunner.microtorr(["check-config", "--config", "\(directory.path)/nope.yaml"])
        #expect(missing.status == 1 && missing.stdout.contains("cannot read"))
    }
}
