import Foundation

/// A fresh directory under /tmp, removed when the test is done with it.
public final class TemporaryDirectory {
    public let path: String

    public init() {
        var template = Array("/tmp/microtorr-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    @discardableResult
    public func write(_ bytes: [UInt8], to relative: String) throws -> String {
        let full = "\(path)/\(relative)"
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    @discardableResult
    public func randomFile(_ relative: String, size: Int) throws -> String {
        let random = FileHandle(forReadingAtPath: "/dev/urandom")!
        defer { try? random.close() }
        return try write(Array(random.readData(ofLength: size)), to: relative)
    }
}

/// Deterministic pseudo-random bytes (so failures reproduce); different
/// seeds give different bytes (the seed is spread before xorshift, which
/// needs a non-zero state).
public func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
