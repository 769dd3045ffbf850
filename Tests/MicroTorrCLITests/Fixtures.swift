import Foundation
import TestSupport
import Testing

/// What the download tests share: a torrent of test data, content checks,
/// and reading our JSON log lines.
enum Fixtures {
    /// `microtorr create TARGET -o t.mtorrent` with 32 KiB pieces.
    static func makeTorrent(_ directory: TemporaryDirectory, target: String, tracker: String? = nil,
                            pieceLength: String = "32K") throws -> String {
        var arguments = ["create", target, "-o", "t.mtorrent", "--piece-length", pieceLength, "-v", "0"]
        if let tracker { arguments += ["-t", tracker] }
        let created = try ProcessRunner.microtorr(arguments, in: directory.path)
        try #require(created.status == 0, "\(created.stderr)")
        return "t.mtorrent"
    }

    static func same(_ a: String, _ b: String) throws -> Bool {
        try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b))
    }

    /// The `session.stopped` event's downloaded byte count.
    static func downloadedBytes(_ log: String) throws -> Int {
        try #require(events("session.stopped", in: log).last?["bytes"] as? Int)
    }

    /// The JSON log lines with `"event":"NAME"`.
    static func events(_ name: String, in log: String) -> [[String: Any]] {
        log.split(separator: "\n").filter { $0.contains("\"event\":\"\(name)\"") }.compactMap { try? jsonObject(String($0)) }
    }

    /// Average rate in bytes/s over a steady window of (seconds, bytes)
    /// samples: from 1 s after the first byte (past any start-up burst) to
    /// the last sample before the end. Nil if that window is under `minimum` s.
    static func steadyRate(_ samples: [(Double, Double)], total: Double, minimum: Double = 7) -> (rate: Double, window: Double)? {
        guard let first = samples.first(where: { $0.1 > 0 }) else { return nil }
        guard let start = samples.first(where: { $0.0 >= first.0 + 1 }),
              let end = samples.last(where: { $0.1 < total * 0.98 }), end.0 - start.0 >= minimum else { return nil }
        return ((end.1 - start.1) / (end.0 - start.0), end.0 - start.0)
    }
}
